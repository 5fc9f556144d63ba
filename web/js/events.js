// Server events (docs/protocol.md, "Server events"), one handler each.
// Messages and history are in messages.js, private messages in
// privmsg.js, moderation in modevents.js.

import { renderDirectory, renderHeader, renderMembers, renderSidebar, renderTop } from './chrome.js';
import {
  addMember, byRank, removeMember, renameMember, roleOf, setMembers, startPushedJoin,
} from './conversation.js';
import { ensureRoom, rekey, removeConv, saveRooms } from './convs.js';
import { h } from './dom.js';
import { iso, isoLinkified } from './lines.js';
import { block, notice } from './log.js';
import { onHistory, onMessage } from './messages.js';
import { MODERATION_HANDLERS } from './modevents.js';
import { BADGES } from './modtext.js';
import { showError } from './panels.js';
import { learnPeer, onAway } from './peerui.js';
import { renamePeer } from './peers.js';
import { onPrivate, onPrivates } from './privmsg.js';
import { onReaction } from './reactui.js';
import { onRead } from './readui.js';
import { showMe } from './screens.js';
import {
  convForRoom, currentConv, freshNotice, isMe, isMine, pmKey, roomConvs, takeRef, updateDirectoryCount,
} from './state.js';
import { onTyping, typistSpoke } from './typingui.js';

const PRESENCE = { icon: '→', cls: 'presence' };

/** The conversation our own join event is for: ours under way, or one the server joined us to. */
function ownJoin(app, conv, name) {
  const { state } = app;
  if (!conv && !state.account) {
    // A guest has one connection, so this answers our join: the server's
    // name folds differently than ours; adopt it.
    const pending = roomConvs(state).filter((c) => c.joining);
    if (pending.length !== 1) return null;
    rekey(app, pending[0], name);
    return pending[0];
  }
  if (conv && (conv.joining || conv.joined)) return conv;
  // Another connection of the account joined it (or this one logged in to
  // an account that was in it): its members and history follow.
  conv = conv || ensureRoom(app, name);
  if (conv.name !== name) rekey(app, conv, name);
  startPushedJoin(conv);
  saveRooms(app);
  renderSidebar(app);
  return conv;
}

function onJoin(app, ev) {
  const { state } = app;
  let conv = convForRoom(state, ev.room);
  if (isMe(state, ev.nick)) {
    conv = ownJoin(app, conv, ev.room);
    if (!conv) return;
    addMember(conv, ev.nick);
    if (!conv.joinedOnce) notice(app, conv, ['You joined ', iso(conv.name)], { ts: ev.ts, ...PRESENCE });
    return;
  }
  learnPeer(app, ev.nick, { online: true });
  if (!conv) return;
  addMember(conv, ev.nick);
  notice(app, conv, [iso(ev.nick), ' joined ', iso(conv.name)], { ts: ev.ts, ...PRESENCE });
  if (conv === currentConv(state)) renderMembers(app);
  updateDirectoryCount(state, conv.name, 1);
}

/** We left a room on another connection of the account (this page's own part removed it already). */
function weLeft(app, conv, ev) {
  if (!conv || ev.type !== 'part') return;
  conv.joined = false;
  conv.synced = false;
  conv.wanted = false;
  saveRooms(app);
  removeConv(app, conv);
}

function onLeave(app, ev) {
  const { state } = app;
  const conv = convForRoom(state, ev.room);
  if (isMe(state, ev.nick)) {
    weLeft(app, conv, ev);
    return;
  }
  if (ev.type === 'quit') learnPeer(app, ev.nick, { online: false });
  if (!conv) return;
  removeMember(conv, ev.nick);
  typistSpoke(app, conv, ev.nick);
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
    if (state.account) {
      // The account's nick, changed here or on another of its connections: the one to keep.
      state.wantNick = ev.new;
      app.persist.setNick(ev.new);
    }
    for (const c of roomConvs(state).filter((r) => r.joined)) {
      if (!renameMember(c, ev.old, ev.new)) addMember(c, ev.new);
      notice(app, c, ['You are now known as ', iso(ev.new)], renamed);
    }
    renderMembers(app);
    return;
  }
  for (const c of roomConvs(state)) {
    if (renameMember(c, ev.old, ev.new)) notice(app, c, [iso(ev.old), ' is now known as ', iso(ev.new)], renamed);
  }
  renamePeer(state, ev.old, ev.new);
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
  const roles = ev.roles && typeof ev.roles === 'object' ? ev.roles : {};
  if (conv && (conv.joined || conv.joining)) {
    setMembers(conv, nicks, roles);
    if (typeof ev.topic === 'string' && !ctx) conv.topic = ev.topic;
    if (conv === currentConv(state)) renderHeader(app);
  }
  if (!ctx) return;
  // The answer to /who: ~ founder, @ operator, + voice.
  const listed = { roles: new Map() };
  setMembers(listed, nicks, roles);
  const badge = (n) => BADGES[roleOf(listed, n)] || '';
  const names = byRank(listed, nicks).flatMap((n, i) => [...(i ? [', '] : []), badge(n), iso(n)]);
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

function onNotice(app, ev) {
  if (!freshNotice(app.state, `${ev.from || 'server'}: ${ev.text || ''}`)) return;
  notice(app, currentConv(app.state), [iso(ev.from || 'server'), ': ', isoLinkified(ev.text || '')],
    { ts: ev.ts, icon: '★', cls: 'server-notice' });
}

function onShutdown(app, ev) {
  if (!app.state.signedIn) return;
  // A block of its own, apart from whoever spoke last (lines.js never groups it with a message).
  notice(app, currentConv(app.state), `The server is going away: ${(ev.reason || 'shutdown').replace(/[.\s]+$/, '')}. Reconnecting by itself…`,
    { cls: 'warn standalone shutdown', icon: '!' });
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
  privates: onPrivates,
  notice: onNotice,
  shutdown: onShutdown,
  error: onError,
  react: onReaction,
  unreact: onReaction,
  typing: onTyping,
  read: onRead,
  away: onAway,
  ...MODERATION_HANDLERS,
};

export function handleEvent(app, ev) {
  const handler = Object.hasOwn(HANDLERS, ev.type) ? HANDLERS[ev.type] : null;
  try {
    if (handler) handler(app, ev);
  } catch (e) {
    console.error('chatd: could not handle event', ev, e);
  }
}
