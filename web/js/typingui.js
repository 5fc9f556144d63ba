// Typing indicators on the page (typing.js decides): "alice is typing…"
// under the conversation shown, from the `typing` events; and `typing`
// commands while this page's user types (active at most every 3 s, paused
// after 5 s still, done once sent or emptied). Never in the log: typing
// is not stored and not part of the history.

import { parseInput } from './commands.js';
import { currentConv, convForRoom, isMine, pmKey } from './state.js';
import { IDLE_MS, noteTyping, stopTyping, typersNow, typingText } from './typing.js';

/** Show who is typing in the conversation shown; again when the next of them expires. */
export function renderTyping(app) {
  const { el } = app;
  clearTimeout(app.ui.typingTimer);
  const now = typersNow(currentConv(app.state).typing);
  const text = typingText(now);
  el.typing.textContent = text;
  el.typing.classList.toggle('on', !!text);
  if (now.next !== null) app.ui.typingTimer = setTimeout(() => renderTyping(app), now.next + 20);
}

/** The conversation a typing event is about: the room, or the private one with the typist. */
function convOf(state, ev) {
  if (ev.room) return convForRoom(state, ev.room);
  return ev.to ? state.convs.get(pmKey(ev.nick)) : null;
}

export function onTyping(app, ev) {
  const { state } = app;
  if (typeof ev.nick !== 'string' || isMine(state, ev.nick)) return; // our own, from this or another tab
  const conv = convOf(state, ev);
  if (!conv) return;
  noteTyping(conv.typing, ev.nick, ev.state);
  if (conv === currentConv(state)) renderTyping(app);
}

/** nick's message came: it is no longer typing it. */
export function typistSpoke(app, conv, nick) {
  if (stopTyping(conv.typing, nick) && conv === currentConv(app.state)) renderTyping(app);
}

/** A moment to wait before trying again an `active` the pace had no room for. */
const RETRY_MS = 800;

function send(app, changes) {
  const { state, conn } = app;
  for (const { key, state: typing } of changes) {
    const conv = key && state.convs.get(key);
    if (!conv || !conn.connected || state.needNick) continue;
    if (conv.kind === 'room' && !conv.joined) continue;
    const target = conv.kind === 'room' ? { room: conv.name } : { to: conv.name };
    // Best effort: never ahead of a message. A `paused` or `done` the pace
    // has no room for is dropped (receivers expire the notice by themselves);
    // an `active` is tried again while the user is still typing.
    conn.spare({ type: 'typing', ...target, state: typing }).then((r) => {
      if (r || typing !== 'active' || !app.ui.typing.unsent(key)) return;
      clearTimeout(app.ui.typingRetry);
      app.ui.typingRetry = setTimeout(() => composerTyped(app), RETRY_MS);
    });
  }
}

/** Text for the conversation (not a command) is in the message box. */
function hasMessageText(value) {
  if (!value.trim()) return false;
  return parseInput(value).kind === 'text';
}

/** The message box changed. */
export function composerTyped(app) {
  const conv = currentConv(app.state);
  if (conv.kind !== 'room' && conv.kind !== 'pm') return;
  const sender = app.ui.typing;
  send(app, sender.typed(conv.key, hasMessageText(app.el.message.value)));
  clearTimeout(app.ui.typingIdle);
  app.ui.typingIdle = setTimeout(() => send(app, sender.idle()), IDLE_MS + 50);
}

/** The text was sent (or the conversation left): done. */
export function composerDone(app) {
  clearTimeout(app.ui.typingIdle);
  clearTimeout(app.ui.typingRetry);
  send(app, app.ui.typing.finished());
}
