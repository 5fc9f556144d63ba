// Server events (docs/protocol.md, "Server events"), one handler each.
// Messages and history are in messages.js.

import { renderDirectory, renderHeader, renderMembers, renderSidebar, renderTop } from './chrome.js';
import { addMember, byName, noteUnread, removeMember, renameMember, setMembers } from './conversation.js';
import { ensurePm, rekey, removeConv } from './convs.js';
import { h } from './dom.js';
import { appendLine, confirmLine, iso, isoLinkified, lineEl } from './lines.js';
import { block, mutate, notice } from './log.js';
import { drawUnread, onHistory, onMessage } from './messages.js';
import { showError } from './panels.js';
import { showMe } from './screens.js';
import { removeSettled } from './sending.js';
import {
  convForRoom, currentConv, freshNotice, isMe, isMine, pmKey, roomConvs, takeRef, updateDirectoryCount,
} from './state.js';

const PRESENCE = { icon: '→', cls: 'presence' };

function onJoin(app, ev) {
  const { state } = app;
  let conv = convForRoom(state, ev.room);
  if (isMe(state, ev.nick)) {
    if (!conv) {
      // The server's name folds differently than ours: adopt it.
      const pending = roomConvs(state).filter((c) => c.joining);
      if (pending.length !== 1) return;
      conv = pending[0];
      rekey(app, conv, ev.room);
    }
    addMember(conv, ev.nick);
    if (!conv.joinedOnce) notice(app, conv, ['You joined ', iso(conv.name)], { ts: ev.ts, ...PRESENCE });
    return;
  }
  if (!conv) return;
  addMember(conv, ev.nick);
  notice(app, conv, [iso(ev.nick), ' joined ', iso(conv.name)], { ts: ev.ts, ...PRESENCE });
  if (conv === currentConv(state)) renderMembers(app);
  updateDirectoryCount(state, conv.name, 1);
}

/** We left a room (here or in another tab of this session). */
function weLeft(app, conv, ev) {
  if (!conv || ev.type !== 'part') return;
  conv.joined = false;
  conv.synced = false;
  if (!conv.wanted) removeConv(app, conv);
  else renderSidebar(app);
}

function onLeave(app, ev) {
  const { state } = app;
  const conv = convForRoom(state, ev.room);
  if (isMe(state, ev.nick)) {
    weLeft(app, conv, ev);
    return;
  }
  if (!conv) return;
  removeMember(conv, ev.nick);
  // Fresh nodes for each notice: a node appended twice would move.
  const reason = () => (ev.reason ? [' (', iso(ev.reason), ')'] : []);
  const leave = { ts: ev.ts, icon: '←', cls: 'presence' };
  notice(app, conv, ev.type === 'part' ? [iso(ev.nick), ' left ', iso(conv.name), ...reason()]
    : [iso(ev.nick), ' quit', ...reason()], leave);
  if (conv === currentConv(state)) renderMembers(app);
  updateDirectoryCount(state, conv.name, -1);
  if (ev.type !== 'quit') return;
  const pm = state.convs.get(pmKey(ev.nick));
  if (pm && pm.lastQuitTs !== ev.ts) {
    pm.lastQuitTs = ev.ts;
    notice(app, pm, [iso(ev.nick), ' quit', ...reason()], leave);
  }
}

function onNick(app, ev) {
  const { state } = app;
  const renamed = { ts: ev.ts, icon: '✎', cls: 'presence' };
  if (isMine(state, ev.old) && (isMe(state, ev.old) || isMe(state, ev.new))) {
    if (!isMe(state, ev.new)) showMe(app, ev.new);
    for (const c of roomConvs(state).filter((r) => r.joined)) {
      removeMember(c, ev.old);
      addMember(c, ev.new);
      notice(app, c, ['You are now known as ', iso(ev.new)], renamed);
    }
    renderMembers(app);
    return;
  }
  for (const c of roomConvs(state)) {
    if (renameMember(c, ev.old, ev.new)) notice(app, c, [iso(ev.old), ' is now known as ', iso(ev.new)], renamed);
  }
  const pm = state.convs.get(pmKey(ev.old));
  if (pm) {
    notice(app, pm, [iso(ev.old), ' is now known as ', iso(ev.new)], renamed);
    rekey(app, pm, ev.new);
    renderTop(pm);
  }
  renderMembers(app);
}

function onTopic(app, ev) {
  const { state } = app;
  const ctx = takeRef(state, ev.ref);
  if (ctx) {
    // The answer to /topic: show it where it was asked.
    const target = (ctx.key && state.convs.get(ctx.key)) || currentConv(state);
    notice(app, target, ev.topic
      ? ['Topic of ', iso(ev.room), ': ', isoLinkified(ev.topic), ...(ev.nick ? [' (set by ', iso(ev.nick), ')'] : [])]
      : ['No topic is set for ', iso(ev.room), '.'], { icon: 'ℹ' });
    return;
  }
  const conv = convForRoom(state, ev.room);
  if (!conv) return;
  conv.topic = ev.topic || '';
  conv.topicBy = ev.nick || null;
  const who = ev.nick ? iso(ev.nick) : 'Someone';
  notice(app, conv, conv.topic ? [who, ' set the topic to: ', isoLinkified(conv.topic)] : [who, ' cleared the topic'],
    { ts: ev.ts, icon: '✎', cls: 'presence topic-change' });
  if (conv === currentConv(state)) renderHeader(app);
}

function onMembers(app, ev) {
  const { state } = app;
  const ctx = takeRef(state, ev.ref);
  const nicks = Array.isArray(ev.nicks) ? ev.nicks.filter((n) => typeof n === 'string') : [];
  const conv = convForRoom(state, ev.room);
  if (conv && (conv.joined || conv.joining)) {
    setMembers(conv, nicks);
    if (typeof ev.topic === 'string' && !ctx) conv.topic = ev.topic;
    if (conv === currentConv(state)) renderHeader(app);
  }
  if (!ctx) return;
  // The answer to /who.
  const names = byName(nicks).flatMap((n, i) => (i ? [', ', iso(n)] : [iso(n)]));
  block(app, (ctx.key && state.convs.get(ctx.key)) || currentConv(state), ['Members of ', iso(ev.room), ` (${nicks.length})`],
    [names.length ? h('span', null, names) : 'nobody']);
}

function onRooms(app, ev) {
  const { state } = app;
  const ctx = takeRef(state, ev.ref);
  state.directory = Array.isArray(ev.rooms) ? ev.rooms : [];
  renderDirectory(app);
  if (!ctx || ctx.kind !== 'rooms') return;
  // The answer to /rooms.
  const rows = state.directory.map((r) => {
    const row = h('span', null,
      h('button', { type: 'button', class: 'link-btn', dataset: { joinRoom: r.name } }, iso(r.name)),
      ` (${r.members}) `);
    if (r.topic) row.append(isoLinkified(r.topic, 'muted'));
    return row;
  });
  block(app, ctx.conv && state.convs.has(ctx.conv.key) ? ctx.conv : currentConv(state),
    state.directory.length ? `Rooms (${state.directory.length})` : 'No rooms right now.', rows);
}

/** Our own private message came back: true if it only confirms a line already shown. */
function ownPrivateEcho(app, conv, ev) {
  const { outbox } = app.state;
  const entry = outbox.settlePrivateEcho(conv.key, ev.text);
  if (entry) {
    mutate(app, conv, () => removeSettled(app, conv, [entry]));
    return false;
  }
  const sent = outbox.pairPrivateEcho(conv.key, ev.text);
  if (!sent) return false;
  const li = conv.view.pending.get(sent.id);
  conv.view.pending.delete(sent.id);
  if (li) confirmLine(li, ev.ts);
  return true;
}

function onPrivate(app, ev) {
  const { state } = app;
  // From us: our nick, or one we had a moment ago (an echo in transit).
  const fromMe = isMe(state, ev.from) || (isMine(state, ev.from) && !isMe(state, ev.to));
  const peer = fromMe ? ev.to : ev.from;
  if (!peer) return;
  const conv = ensurePm(app, peer);
  if (conv.name !== peer) rekey(app, conv, peer);
  if (fromMe && ownPrivateEcho(app, conv, ev)) return;
  const li = lineEl(state, { kind: 'private', from: ev.from, text: ev.text, ts: ev.ts, pm: conv.name });
  mutate(app, conv, () => appendLine(conv.view.list, li), { live: true });
  const unread = noteUnread(state, conv, ev.from, ev.text, document.hidden);
  if (unread) drawUnread(app, conv, li, unread);
}

function onNotice(app, ev) {
  if (!freshNotice(app.state, `${ev.from || 'server'}: ${ev.text || ''}`)) return;
  notice(app, currentConv(app.state), [iso(ev.from || 'server'), ': ', isoLinkified(ev.text || '')],
    { ts: ev.ts, icon: '★', cls: 'server-notice' });
}

function onShutdown(app, ev) {
  if (!app.state.signedIn) return;
  notice(app, currentConv(app.state), `The server is going away: ${(ev.reason || 'shutdown').replace(/[.\s]+$/, '')}. Reconnecting by itself…`,
    { cls: 'warn', icon: '!' });
}

function onError(app, ev) {
  if (ev.code === 'overflow') {
    notice(app, currentConv(app.state), 'The connection fell behind; resynchronising…', { cls: 'warn', icon: '!' });
  } else {
    showError(app, ev.message || ev.code);
  }
}

const HANDLERS = {
  message: onMessage,
  action: onMessage,
  history: onHistory,
  join: onJoin,
  part: onLeave,
  quit: onLeave,
  nick: onNick,
  topic: onTopic,
  members: onMembers,
  rooms: onRooms,
  private: onPrivate,
  notice: onNotice,
  shutdown: onShutdown,
  error: onError,
};

export function handleEvent(app, ev) {
  const handler = Object.hasOwn(HANDLERS, ev.type) ? HANDLERS[ev.type] : null;
  try {
    if (handler) handler(app, ev);
  } catch (e) {
    console.error('chatd: could not handle event', ev, e);
  }
}
