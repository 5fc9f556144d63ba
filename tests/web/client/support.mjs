// Shared by the client's state tests: stored messages as the server sends
// them (docs/protocol.md, "Server events"), a Storage in memory, a room.

import { addConv, createState, setMe } from '../../../web/js/state.js';

let clock = Date.parse('2026-11-30T08:00:00Z');

/** A stored message event: msg(42, {from: 'bob', text: 'hi', cid: 'c1', type: 'action'}). */
export function msg(id, { from = 'bob', text = `message ${id}`, cid, type = 'message', room = '#lobby' } = {}) {
  const m = { type, room, from, text, id, ts: new Date((clock += 1000)).toISOString() };
  if (cid) m.cid = cid;
  return m;
}

/** A history event as the server sends it. */
export const history = (messages, truncated = false, room = '#lobby') => ({ type: 'history', room, messages, truncated });

/** A store signed in as nick, with one room (#lobby unless named) and that room. */
export function signedIn(nick = 'alice', roomName = '#lobby', lastId = null) {
  const state = createState();
  setMe(state, nick);
  const room = addConv(state, 'room', roomName, lastId);
  return { state, room };
}

/** The Storage interface (getItem, setItem, removeItem) over a Map. */
export function memoryStorage() {
  const items = new Map();
  return {
    items,
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem: (k, v) => items.set(k, String(v)),
    removeItem: (k) => items.delete(k),
  };
}
