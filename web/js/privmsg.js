// Private messages on the page: live `private` events and the `privates`
// replay that follows a login (privates.js decides which are new), each in
// the conversation with its peer, in the order of the account's stream.

import { noteUnread } from './conversation.js';
import { ensurePm, rekey } from './convs.js';
import { appendLine, confirmLine, insertSorted, lineEl } from './lines.js';
import { mutate, notice } from './log.js';
import { drawUnread } from './messages.js';
import { alertLine } from './notify.js';
import { learnPeer } from './peerui.js';
import { privatePeer, takePrivate, takeReplay } from './privates.js';
import { noteLine } from './readmarks.js';
import { afterLines, askMarker, lineArrived } from './readui.js';
import { removeSettled } from './sending.js';
import { typistSpoke } from './typingui.js';

/** Our own private message came back: the line already shown for it, or null. */
function ownPrivateEcho(app, conv, ev) {
  const { outbox } = app.state;
  const entry = outbox.settlePrivateEcho(conv.key, ev.text);
  if (entry) {
    mutate(app, conv, () => removeSettled(app, conv, [entry]));
    return null;
  }
  const sent = outbox.pairPrivateEcho(conv.key, ev.text);
  if (!sent) return null;
  const li = conv.view.pending.get(sent.id);
  conv.view.pending.delete(sent.id);
  if (li) confirmLine(li, ev.ts);
  return li || null;
}

/** A line with a stream id goes in id order; one without (a guest's) at the end. */
function place(list, li, id) {
  if (typeof id === 'number') {
    li.dataset.id = String(id);
    li.dataset.sort = String(id);
    insertSorted(list, li, id);
  } else {
    appendLine(list, li);
  }
}

/** Draw a private message in the conversation with its peer; that conversation (null: no peer). */
function drawPrivate(app, m, live) {
  const { state } = app;
  const { fromMe, peer } = privatePeer(state, m);
  if (!peer) return null;
  const conv = ensurePm(app, peer);
  if (conv.name !== peer) rekey(app, conv, peer);
  noteLine(conv, m.id, m.from);
  if (live && fromMe && typeof m.away === 'string') learnPeer(app, peer, { online: true, away: m.away });
  if (live && !fromMe) typistSpoke(app, conv, m.from);
  const echoed = live && fromMe ? ownPrivateEcho(app, conv, m) : null;
  if (echoed) {
    if (typeof m.id === 'number') mutate(app, conv, () => place(conv.view.list, echoed, m.id));
    return conv;
  }
  const li = lineEl(state, { kind: 'private', from: m.from, text: m.text, ts: m.ts, pm: conv.name });
  mutate(app, conv, () => place(conv.view.list, li, m.id), live ? { live: true } : { older: true });
  if (!live) return conv;
  const unread = noteUnread(state, conv, m.from, m.text, document.hidden);
  if (unread) {
    drawUnread(app, conv, li, unread);
    lineArrived(app, conv, m.id, m.from);
  }
  if (!fromMe) alertLine(app, conv, m);
  return conv;
}

/** The private conversations of a replay whose markers are asked at most (each is a command). */
const PM_MARKERS = 20;

/** Held until the login's ok names our nick: which messages are ours depends on it. */
const holding = (state, ev) => state.authenticating && !!state.heldPrivates.push(ev);

export function onPrivate(app, ev) {
  if (holding(app.state, ev) || !takePrivate(app.state, ev)) return;
  const conv = drawPrivate(app, ev, true);
  if (!conv) return;
  if (conv.readMarker === null && !conv.markerAsked) askMarker(app, conv);
  afterLines(app, conv);
}

/** The stored private messages a login replays (after `since`), each drawn once. */
export function onPrivates(app, ev) {
  if (holding(app.state, ev)) return;
  const convs = new Set(takeReplay(app.state, ev).map((m) => drawPrivate(app, m, false)).filter(Boolean));
  // Where the account left off in each (on any device): its marker.
  for (const conv of [...convs].slice(0, PM_MARKERS)) {
    if (conv.readMarker === null && !conv.markerAsked) askMarker(app, conv);
    afterLines(app, conv);
  }
  if (ev.truncated) {
    notice(app, null, ['Some older private messages were not replayed; only the most recent ones are shown.'],
      { icon: 'ℹ' });
  }
}

/** The login was answered: draw what came before its ok. */
export function releaseHeld(app) {
  const held = app.state.heldPrivates;
  app.state.heldPrivates = [];
  for (const ev of held) (ev.type === 'privates' ? onPrivates : onPrivate)(app, ev);
}
