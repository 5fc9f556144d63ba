// What the page knows of the people it talks with privately (no DOM):
// online or not, away or not. A private conversation's member panel shows
// it. It comes from a `whois` when the conversation is shown (its refusal
// `no-such-nick`: offline), then from the events that change it: `away`,
// `join`, `quit`, `nick`, and the recipient's away message on our own copy
// of a `private` event.

import { fold } from './text.js';

export function createPeers() {
  return new Map(); // folded nick -> {nick, online: true | false | null (unknown), away: text | null}
}

/** What is known of nick (unknown: online null). */
export function peerOf(state, nick) {
  return state.peers.get(fold(nick)) || { nick, online: null, away: null };
}

/** Learn fields ({online, away}) of nick; true if what the panel shows changed. */
export function notePeer(state, nick, fields) {
  if (!nick) return false;
  const before = peerOf(state, nick);
  const after = { ...before, ...fields, nick };
  if (after.online === false) after.away = null; // gone: its away message went with it
  state.peers.set(fold(nick), after);
  return before.online !== after.online || before.away !== after.away || before.nick !== after.nick;
}

/** nick is now neu. */
export function renamePeer(state, nick, neu) {
  const peer = state.peers.get(fold(nick));
  if (!peer) return;
  state.peers.delete(fold(nick));
  state.peers.set(fold(neu), { ...peer, nick: neu, online: true });
}

/** {status, text} for the panel: status online | away | offline | unknown. */
export function peerStatus(peer) {
  if (peer.online === false) return { status: 'offline', text: 'offline' };
  if (peer.away) return { status: 'away', text: `away: ${peer.away}` };
  if (peer.online) return { status: 'online', text: 'online' };
  return { status: 'unknown', text: '' };
}
