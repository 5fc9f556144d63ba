// Read markers on the page (readmarks.js decides): asking the account's
// marker after each join, telling the server what the reader has seen
// while the page is shown and focused, the "New messages" line, and the
// unread counts, which follow the marker on every tab. Guests have no
// marker: none of this applies to them.

import { renderSidebar } from './chrome.js';
import { h } from './dom.js';
import { insertSorted, regroup } from './lines.js';
import { atBottom, mutate } from './log.js';
import {
  arrivedUnseen, knowsMarker, learnMarker, placeLine, readToSend, resetMarkers, sentRead, unreadCount, usesMarkers,
} from './readmarks.js';
import { convForRoom, currentConv, isMine, pmKey } from './state.js';

/** At most one `read` this often, however fast the room: it shares the pace with what the user sends. */
const READ_DELAY_MS = 1500;

const mineOf = (state) => (nick) => isMine(state, nick);

/** Is the reader looking at the page (shown, and its window focused)? */
export function looking() {
  return document.visibilityState === 'visible' && document.hasFocus();
}

function targetOf(conv) {
  return conv.kind === 'room' ? { room: conv.name } : { to: conv.name };
}

/** Ask the account's marker for conv (after a join or a resume); the answer is a `read` event. */
export function askMarker(app, conv) {
  if (!app.state.account || !app.conn.connected || (conv.kind !== 'room' && conv.kind !== 'pm')) return;
  conv.markerAsked = true;
  app.conn.request({ type: 'read', ...targetOf(conv) });
}

/** Draw conv's "New messages" line where readmarks put it (or take it away). */
export function drawLine(app, conv) {
  const { view } = conv;
  if (view.firstUnread) {
    // The page's own mark (a guest's) gives way to the marker's line.
    view.firstUnread.classList.remove('first-unread');
    view.firstUnread = null;
  }
  const old = view.unreadLine;
  view.unreadLine = null;
  const want = usesMarkers(app.state, conv) && conv.lineAt !== null;
  mutate(app, conv, () => {
    if (old) {
      const next = old.nextElementSibling;
      old.remove();
      if (next) regroup(next);
    }
    if (!want) return;
    const li = h('li', { class: 'unread-line', role: 'separator', dataset: { testid: 'unread-line', at: conv.lineAt } },
      h('span', { class: 'unread-line-text' }, 'New messages'));
    li.dataset.sort = String(conv.lineAt - 0.5);
    view.unreadLine = li;
    insertSorted(view.list, li, conv.lineAt - 0.5);
  });
}

/** conv's unread count from the marker (none for the conversation shown). True if it changed. */
function recount(app, conv) {
  const { state } = app;
  if (!usesMarkers(state, conv)) return false;
  const n = conv === currentConv(state) ? 0 : unreadCount(conv, mineOf(state));
  const changed = n !== conv.unread || (!n && conv.mention);
  conv.unread = n;
  if (!n) conv.mention = false;
  return changed;
}

/** Lines were drawn in conv: its count follows the marker, and the reader may have read them. */
export function afterLines(app, conv) {
  if (recount(app, conv)) renderSidebar(app);
  scheduleRead(app);
}

/** A live line from someone else: where the unread part starts, if the reader is not looking. */
export function lineArrived(app, conv, id, from) {
  const { state } = app;
  if (!usesMarkers(state, conv)) return;
  const seen = conv === currentConv(state) && looking() && (conv.view.atBottom || atBottom(app));
  if (!seen && arrivedUnseen(conv, id, from, mineOf(state))) drawLine(app, conv);
}

/** conv is shown again: the line stands above what came since the marker. */
export function showLine(app, conv) {
  if (!usesMarkers(app.state, conv)) return;
  placeLine(conv, mineOf(app.state));
  drawLine(app, conv);
  scheduleRead(app);
}

/** The `read` event: the answer to our query, our own read's echo, or another tab's or device's read. */
export function onRead(app, ev) {
  const { state } = app;
  if (!state.account) return;
  const conv = ev.room ? convForRoom(state, ev.room) : ev.to ? state.convs.get(pmKey(ev.to)) : null;
  if (!conv) return;
  const id = typeof ev.id === 'number' ? ev.id : ev.message;
  const { first, moved } = learnMarker(conv, id);
  if (first || moved) {
    placeLine(conv, mineOf(state));
    drawLine(app, conv);
  }
  recount(app, conv);
  renderSidebar(app);
  if (first) scheduleRead(app);
}

/** Soon: tell the server the reader has seen the newest line of the conversation shown. */
export function scheduleRead(app) {
  if (app.ui.readTimer !== null) return; // one is coming, and will read the newest then
  app.ui.readTimer = setTimeout(() => {
    app.ui.readTimer = null;
    readNow(app);
  }, READ_DELAY_MS);
}

function readNow(app) {
  const { state } = app;
  const conv = currentConv(state);
  if (!knowsMarker(state, conv) || !app.conn.connected || state.needNick || !looking()) return;
  if (!(conv.view.atBottom || atBottom(app))) return;
  const id = readToSend(conv);
  if (id === null) return;
  sentRead(conv, id);
  app.conn.request({ type: 'read', ...targetOf(conv), id });
}

/** Logged out, or in to another account: forget the markers (and their lines). */
export function forgetMarkers(app) {
  const convs = [...app.state.convs.values()];
  resetMarkers(convs);
  for (const conv of convs) drawLine(app, conv);
}
