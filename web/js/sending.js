// The outbox on the page: a line for each message as it is typed, pending
// until the server acknowledges it, marked failed (with Retry) if refused.
// The outbox itself (outbox.js) decides what is sent when.

import { acknowledge } from './conversation.js';
import { h } from './dom.js';
import { appendLine, insertSorted, kindOf, lineEl, now, regroup } from './lines.js';
import { mutate, scrollToBottom } from './log.js';
import { showError } from './panels.js';
import { sleep } from './pending.js';

/** The quote a line drawn from entry shows, if it answers a message. */
const quoteOf = (entry) => (entry.reply ? { replyTo: entry.reply.id, reply: entry.reply } : {});

/**
 * Queue a say/action (idempotent by cid; reply: the {id, nick, text} it
 * answers) or a private message ('msg'), and draw it pending.
 */
export function queueSend(app, conv, type, text, reply = null) {
  const { state } = app;
  const entry = state.outbox.add(conv.key, type, text, { reply });
  const li = lineEl(state, {
    kind: type === 'msg' ? 'private' : kindOf(type),
    from: state.me || state.wantNick, text, ts: now(), pending: true,
    room: conv.kind === 'room' ? conv.name : undefined,
    pm: conv.kind === 'pm' ? conv.name : undefined,
    ...quoteOf(entry),
  });
  li.classList.add('own');
  li.dataset.own = 'true';
  if (entry.cid) li.dataset.cid = entry.cid;
  conv.view.pending.set(entry.id, li);
  mutate(app, conv, () => {
    conv.view.list.appendChild(li);
    regroup(li);
  });
  scrollToBottom(app);
  if (!app.conn.connected) {
    showError(app, 'Offline: your message will be sent when the connection is back.', 'info');
  }
  pump(app);
}

function canSend(app, entry) {
  const { state } = app;
  const conv = state.convs.get(entry.convKey);
  if (!conv || !app.conn.connected || state.syncing || state.needNick) return false;
  return entry.type === 'msg' ? true : conv.synced;
}

/** Send what is queued and may go now. */
export function pump(app) {
  const { state, conn } = app;
  return state.outbox.pump({
    hasConv: (key) => state.convs.has(key),
    ready: (entry) => canSend(app, entry),
    connected: () => conn.connected,
    send: (cmd) => conn.send(cmd),
    target: (entry) => state.convs.get(entry.convKey).name,
    me: () => state.me,
    acked: (entry, reply) => showAcked(app, entry, reply),
    failed: (entry, message) => showFailed(app, entry, message),
    held: (entry, reply) => showError(app, reply.message, 'info'),
    sleep,
  });
}

/** Take the pending lines of settled entries away: their message is (or will be) drawn from its event. */
export function removeSettled(app, conv, entries) {
  for (const entry of entries) {
    if (!entry) continue;
    const li = conv.view.pending.get(entry.id);
    conv.view.pending.delete(entry.id);
    if (li) li.remove();
  }
}

function showAcked(app, entry, reply) {
  const conv = app.state.convs.get(entry.convKey);
  if (!conv || entry.delivered) return;
  const li = conv.view.pending.get(entry.id);
  if (entry.type === 'msg') {
    // The echo has not arrived yet (long-poll): show it as sent now, and
    // pair the echo with it when it comes.
    li.classList.remove('pending', 'outbox');
    delete li.dataset.pending;
    li.removeAttribute('title');
    li.dataset.provisional = 'true';
    mutate(app, conv, () => {
      li.remove();
      appendLine(conv.view.list, li);
    });
    app.state.outbox.awaitPrivateEcho(entry);
    return;
  }
  conv.view.pending.delete(entry.id);
  // Not the resume cursor: the reply can overtake other people's messages
  // (over long-poll it comes back on its own request), and a resume from
  // this id would skip them. The message's own event moves it when it comes.
  if (!acknowledge(conv, reply.id, entry.sentAs || app.state.me)) {
    mutate(app, conv, () => li.remove());
    return;
  }
  const line = lineEl(app.state, {
    kind: kindOf(entry.type), from: entry.sentAs || app.state.me, text: entry.text,
    ts: now(), id: reply.id, room: conv.name, ...quoteOf(entry),
  });
  line.dataset.provisional = 'true';
  line.dataset.cid = entry.cid;
  mutate(app, conv, () => {
    li.remove();
    insertSorted(conv.view.list, line, reply.id);
  });
}

function showFailed(app, entry, message) {
  const conv = app.state.convs.get(entry.convKey);
  const li = conv && conv.view.pending.get(entry.id);
  if (li) {
    li.classList.remove('pending');
    li.classList.add('failed');
    li.dataset.pending = 'failed';
    li.removeAttribute('title');
    li.append(h('span', { class: 'fail-note' },
      h('span', { class: 'fail-text' }, `Not sent: ${message}`), ' ',
      h('button', { type: 'button', class: 'link-btn', dataset: { retry: entry.id } }, 'Retry'), ' ',
      h('button', { type: 'button', class: 'link-btn', dataset: { dismiss: entry.id } }, 'Dismiss')));
  }
  showError(app, message);
}

/** The Retry button (data-retry=id) of the failed line li: send it again, same cid. */
export function retryLine(app, li, id) {
  if (!app.state.outbox.retry(id)) return;
  li.querySelector('.fail-note')?.remove();
  li.classList.remove('failed');
  li.classList.add('pending');
  li.dataset.pending = 'true';
  pump(app);
}

/** The Dismiss button (data-dismiss=id) of the failed line li. */
export function dismissLine(app, li, id) {
  const entry = app.state.outbox.failed.get(id);
  const conv = entry && app.state.convs.get(entry.convKey);
  if (conv) conv.view.pending.delete(id);
  app.state.outbox.dismiss(id);
  li.remove();
}
