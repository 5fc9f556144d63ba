// Private messages between accounts, as data: the server stores them and
// numbers each in the account's own stream (the `id` of a `private` event
// and of each message in a `privates` replay, docs/accounts.md). A page
// keeps the highest id it has received and logs in again with
// `since` = that id, so a reconnect replays only what it missed; a fresh
// page has received nothing and gets the last ones. Each id is shown once,
// however often it comes (live on two connections, then in a replay).

import { fold } from './text.js';

/** Ids remembered for deduplication; the oldest are forgotten past this. */
const KEEP_IDS = 5000;

export function createPrivates() {
  return { lastId: null, ids: new Set() };
}

/** The `since` of the next login: undefined until this page has received a numbered message. */
export function privateSince(state) {
  return state.privates.lastId === null ? undefined : state.privates.lastId;
}

/** Another account (or none): nothing received so far counts. */
export function resetPrivates(state) {
  state.privates = createPrivates();
}

/** One private message, live or replayed: true if it is new and should be drawn. */
export function takePrivate(state, m) {
  const p = state.privates;
  if (typeof m.id !== 'number') return true; // not between accounts: never repeated
  if (p.ids.has(m.id)) return false;
  p.ids.add(m.id);
  if (p.lastId === null || m.id > p.lastId) p.lastId = m.id;
  if (p.ids.size > KEEP_IDS) {
    const oldest = [...p.ids].sort((a, b) => a - b).slice(0, p.ids.size - KEEP_IDS);
    for (const id of oldest) p.ids.delete(id);
  }
  return true;
}

/** The messages of a `privates` replay that are new, oldest first. */
export function takeReplay(state, ev) {
  const msgs = Array.isArray(ev.messages)
    ? ev.messages.filter((m) => m && typeof m === 'object' && typeof m.text === 'string') : [];
  const ordered = [...msgs].sort((a, b) => (typeof a.id === 'number' && typeof b.id === 'number' ? a.id - b.id : 0));
  return ordered.filter((m) => takePrivate(state, m));
}

/**
 * Who a private message is with, and whether we sent it: ours when it is
 * from our nick, or from a nick this page has used (or the account's name:
 * a replay names the nick of the day) to someone else.
 */
export function privatePeer(state, m) {
  const mine = (nick) => !!nick && (state.myNicks.has(fold(nick))
    || (!!state.account && fold(nick) === fold(state.account)));
  const now = (nick) => !!nick && !!state.me && fold(nick) === fold(state.me);
  const fromMe = now(m.from) || (mine(m.from) && !now(m.to));
  return { fromMe, peer: fromMe ? m.to : m.from };
}
