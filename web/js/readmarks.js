// Read markers as data (no DOM): for a logged-in user the server keeps,
// per room and private conversation, the id of the last message read
// (docs/protocol.md, `read`), and tells every connection of the account
// when it moves. From it come the conversation's unread count and the
// "New messages" line, on every tab and device alike. Guests have no
// marker; their counts stay the page's own (conversation.js).
//
// A marker of 0 says the account never read the conversation (it just
// joined, or read it before markers existed): what the page shows then is
// not news, so the page counts as a guest's does until its first read.
//
// Each conversation keeps: readMarker (null until the server said),
// readSent (the highest id this page said it read: a `read` event up to
// there is its own echo, one beyond it is another tab's or device's),
// lineAt (the id the "New messages" line stands above, or null) and
// senders (id -> folded nick of each line shown, to count what is unread).

import { fold } from './text.js';

/** Has the server said where the account's marker of conv is (so this page may move it)? */
export function knowsMarker(state, conv) {
  return !!state.account && !!conv && (conv.kind === 'room' || conv.kind === 'pm') && conv.readMarker !== null;
}

/** Does conv count by the account's marker? */
export function usesMarkers(state, conv) {
  return !!state.account && !!conv && (conv.kind === 'room' || conv.kind === 'pm') && conv.readMarker > 0;
}

/** A line with id, written by from, is shown in conv. */
export function noteLine(conv, id, from) {
  if (typeof id === 'number' && from) conv.senders.set(id, fold(from));
}

/** The line with id went from the page. */
export function dropLine(conv, id) {
  conv.senders.delete(id);
}

/** The ids of the lines above the marker that someone else wrote, oldest first. */
function unreadIds(conv, mine) {
  const marker = conv.readMarker || 0;
  return [...conv.senders].filter(([id, from]) => id > marker && !mine(from)).map(([id]) => id).sort((a, b) => a - b);
}

/** How many lines shown are above the marker (not ours). */
export function unreadCount(conv, mine) {
  return conv.readMarker > 0 ? unreadIds(conv, mine).length : 0;
}

/** Put the "New messages" line above the first unread line (or nowhere); true if it moved. */
export function placeLine(conv, mine) {
  const ids = conv.readMarker > 0 ? unreadIds(conv, mine) : [];
  const at = ids.length ? ids[0] : null;
  if (at === conv.lineAt) return false;
  conv.lineAt = at;
  return true;
}

/**
 * A line arrived that the reader is not looking at (the tab is in the
 * background, or the conversation is not shown): with no line yet, it is
 * where the unread part starts. True if the line moved.
 */
export function arrivedUnseen(conv, id, from, mine) {
  if (!(conv.readMarker > 0) || conv.lineAt !== null || typeof id !== 'number') return false;
  if (id <= conv.readMarker || mine(fold(from || ''))) return false;
  conv.lineAt = id;
  return true;
}

/**
 * A `read` event (the answer to our query, our own read's echo, or
 * another tab's or device's read) said the marker is id. first: the
 * marker was unknown until now; moved: it went further than this page
 * read (the line and counts follow it).
 */
export function learnMarker(conv, id) {
  if (typeof id !== 'number' || id < 0) return { first: false, moved: false };
  const first = conv.readMarker === null;
  const moved = !first && id > conv.readMarker && id > conv.readSent;
  conv.readMarker = first ? id : Math.max(conv.readMarker, id);
  return { first, moved };
}

/** The newest line id shown in conv, or null. */
export function newestId(conv) {
  let max = null;
  for (const id of conv.senders.keys()) if (max === null || id > max) max = id;
  return max;
}

/** The id a `read` from this page should carry now (the newest shown, if unread), or null. */
export function readToSend(conv) {
  if (conv.readMarker === null) return null;
  const newest = newestId(conv);
  return newest !== null && newest > conv.readMarker && newest > conv.readSent ? newest : null;
}

/** This page told the server it read up to id. */
export function sentRead(conv, id) {
  conv.readSent = Math.max(conv.readSent, id);
  conv.readMarker = Math.max(conv.readMarker || 0, id);
}

/** Another account (or none): the markers are not ours any more. */
export function resetMarkers(convs) {
  for (const conv of convs) {
    conv.readMarker = null;
    conv.readSent = 0;
    conv.lineAt = null;
    conv.markerAsked = false;
  }
}
