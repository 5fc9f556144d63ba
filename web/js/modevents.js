// Moderation events (docs/accounts.md, "Events"), each a readable line in
// the log of the room it happened in, with every name in its own isolate:
// roles, modes, bans, mutes, invitations, registrations, kicks, deleted
// messages. A kick of us puts us out of the room; a deleted message is
// greyed where it was.

import { renderHeader, renderMembers, renderSidebar } from './chrome.js';
import { deleteMessage, putOut, removeMember, setRole } from './conversation.js';
import { saveRooms } from './convs.js';
import { h } from './dom.js';
import { iso, lineById } from './lines.js';
import { notice } from './log.js';
import { lasting, modeWords, ROLE_NAMES } from './modtext.js';
import { convForRoom, currentConv, isMe, takeRef, updateDirectoryCount } from './state.js';
import { fold } from './text.js';

const MOD = { icon: '⚑', cls: 'moderation' };

/** The room's conversation if we are in it; otherwise the one shown (a server-wide event, an invitation). */
function where(app, room) {
  return (room && convForRoom(app.state, room)) || currentConv(app.state);
}

/** A nick, or "you" when it is ours. */
function who(app, nick) {
  return isMe(app.state, nick) ? 'you' : iso(nick);
}

/** A line in the room's log, at the event's time. */
function say(app, ev, parts, opts = {}) {
  notice(app, where(app, ev.room), parts, { ts: ev.ts, ...MOD, ...opts });
}

/** The members panel and delete buttons follow roles. */
function redrawMembers(app, conv) {
  if (conv === currentConv(app.state)) renderMembers(app);
}

function onRole(app, ev) {
  const conv = convForRoom(app.state, ev.room);
  if (conv) setRole(conv, ev.nick, ev.role);
  const name = ROLE_NAMES[ev.role];
  say(app, ev, name ? [iso(ev.by), ev.role === 'founder' ? ' made ' : ' gave ', who(app, ev.nick),
    ev.role === 'founder' ? ' the founder' : ` ${name}`]
    : [iso(ev.by), ' made ', who(app, ev.nick), ' a plain member']);
  if (conv) redrawMembers(app, conv);
}

function onMode(app, ev) {
  const words = modeWords(ev.modes, ev.arg);
  say(app, ev, [iso(ev.nick), ' set mode ', iso(`${ev.modes}${ev.arg ? ` ${ev.arg}` : ''}`),
    words ? ` (${words})` : '']);
}

function onBan(app, ev) {
  const from = ev.room ? [] : [' from the server'];
  const reason = ev.reason ? [' (', iso(ev.reason), ')'] : [];
  say(app, ev, [iso(ev.by), ' banned ', iso(ev.mask), ...from, ...reason, lasting(ev.ts, ev.until)]);
}

function onUnban(app, ev) {
  say(app, ev, [iso(ev.by), ev.room ? ' lifted the ban on ' : ' lifted the server ban on ', iso(ev.mask)]);
}

function onMute(app, ev) {
  const conv = convForRoom(app.state, ev.room);
  if (conv) conv.muted.add(fold(ev.nick));
  const mine = isMe(app.state, ev.nick);
  say(app, ev, [iso(ev.by), ' muted ', who(app, ev.nick), lasting(ev.ts, ev.until),
    mine ? ': you may read this room but not speak in it' : ''], mine ? { cls: 'moderation warn', icon: '!' } : {});
}

function onUnmute(app, ev) {
  const conv = convForRoom(app.state, ev.room);
  if (conv) conv.muted.delete(fold(ev.nick));
  say(app, ev, [iso(ev.by), ' unmuted ', who(app, ev.nick), isMe(app.state, ev.nick) ? ': you may speak again' : '']);
}

function onInvite(app, ev) {
  if (isMe(app.state, ev.to)) {
    const join = h('button', { type: 'button', class: 'link-btn', dataset: { joinRoom: ev.room } }, 'join it');
    notice(app, currentConv(app.state), [iso(ev.nick), ' invited you to ', iso(ev.room), ' (', join, ')'], { ts: ev.ts, ...MOD });
    return;
  }
  say(app, ev, [iso(ev.nick), ' invited ', iso(ev.to), ' to ', iso(ev.room)]);
}

function onRoom(app, ev) {
  const room = iso(ev.room);
  const founder = ev.founder ? iso(ev.founder) : 'nobody';
  if (ev.action === 'registered') say(app, ev, [iso(ev.by), ' registered ', room, '; its founder is ', founder]);
  else if (ev.action === 'transferred') say(app, ev, [iso(ev.by), ' gave ', room, ' to ', founder]);
  else say(app, ev, [iso(ev.by), ' unregistered ', room, ': nobody has a role there any more']);
  // The roles changed with it (the founder's, and a former founder's), and
  // the event names accounts, not nicks: read the members again.
  const conv = convForRoom(app.state, ev.room);
  if (conv && conv.joined) app.conn.request({ type: 'who', room: conv.name });
}

function onKick(app, ev) {
  const { state } = app;
  const conv = convForRoom(state, ev.room);
  if (!conv) return;
  const reason = () => (ev.reason ? [' (', iso(ev.reason), ')'] : []);
  if (isMe(state, ev.nick)) {
    putOut(conv);
    saveRooms(app);
    const back = h('button', { type: 'button', class: 'link-btn', dataset: { joinRoom: conv.name } }, 'join again');
    notice(app, conv, ['You were put out of ', iso(conv.name), ' by ', iso(ev.by), ...reason(), ' (', back, ')'],
      { ts: ev.ts, ...MOD, cls: 'moderation warn', icon: '!' });
    renderSidebar(app);
    if (conv === currentConv(state)) renderHeader(app);
    return;
  }
  removeMember(conv, ev.nick);
  notice(app, conv, [iso(ev.nick), ' was kicked by ', iso(ev.by), ...reason()], { ts: ev.ts, ...MOD });
  redrawMembers(app, conv);
  updateDirectoryCount(state, conv.name, -1);
}

/** Grey a deleted line where it was: its text goes, a note says who deleted it. */
function greyLine(li, by) {
  li.classList.add('deleted');
  li.dataset.deleted = 'true';
  li.querySelector('.line-del')?.remove();
  li.querySelector(':scope > .reactions')?.remove();
  li.querySelector('.body')?.replaceChildren(h('span', { class: 'deleted-note' }, 'Message deleted by ', iso(by)));
}

function onDelete(app, ev) {
  const conv = convForRoom(app.state, ev.room);
  if (!conv || typeof ev.id !== 'number') return;
  const shown = deleteMessage(conv, ev.id) ? lineById(conv.view.list, ev.id) : null;
  const author = shown ? shown.dataset.from : null;
  if (shown) greyLine(shown, ev.by);
  let what = [`message ${ev.id}`];
  if (author && fold(author) === fold(ev.by)) what = ['their own message'];
  else if (author) what = ['a message by ', who(app, author)];
  say(app, ev, [iso(ev.by), ' deleted ', ...what]);
}

/** A data event answering a command (whois, modes, bans): the command awaiting it draws it. */
function onAnswer(app, ev) {
  const ctx = takeRef(app.state, ev.ref);
  if (ctx && ctx.resolve) ctx.resolve(ev);
}

export const MODERATION_HANDLERS = {
  role: onRole,
  mode: onMode,
  ban: onBan,
  unban: onUnban,
  mute: onMute,
  unmute: onUnmute,
  invite: onInvite,
  room: onRoom,
  kick: onKick,
  delete: onDelete,
  modes: onAnswer,
  bans: onAnswer,
  whois: onAnswer,
};
