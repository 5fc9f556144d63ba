// One conversation (a room, a private conversation, or the home screen)
// as data: members, topic, the ids of the messages shown, the resume
// cursor, unread counts and the "missed messages" gaps. No DOM here: the
// functions change the conversation and say what the page should draw.
//
// The resume cursor (lastId) is how far the room's event stream (live
// `message`/`action` events and the join's `history`, which the server
// sends in id order) has reached this page. A rejoin asks for everything
// after it (docs/protocol.md, "Resume"), so only that stream moves it; the
// id in the `ok` for our own message does not: the reply can overtake
// other people's messages still on their way.

import { applyReaction, forgetReactions, isReaction, setReactions } from './reactions.js';
import { dropLine, noteLine } from './readmarks.js';
import { fold, mentions } from './text.js';

export function createConv(kind, key, name, lastId = null) {
  return {
    key, kind, name,
    wanted: kind === 'room', // the user wants to be in it (it is rejoined after a reconnect)
    joined: false, joining: false, synced: false, joinedOnce: false,
    pushed: false, // the join under way is the server's (another connection of the account joined)
    outcast: false, // an operator put us out (kick, ban): shown, not rejoined
    passkey: null, // the room's key (+k) the user typed with /join #room KEY
    members: new Map(), // folded nick -> nick as spelt
    roles: new Map(), // folded nick -> 'founder' | 'operator' | 'voice' (roles.js)
    muted: new Set(), // folded nicks an operator muted while we watched
    topic: '', topicBy: null,
    deleted: new Set(), // message ids an operator or their author deleted
    ids: new Map(), // message id shown -> true while only our own ok vouches for it
    lastId, // the resume cursor; null until the room's first history
    joinSince: undefined, // the since of the join under way
    freshView: true, // the join under way found nothing shown yet (a reload)
    unread: 0, mention: false,
    hasOlder: null, loadingOlder: false,
    gaps: [], // {before, after, loading}: ids after `after` and below `before` are missing
    historyWaiters: [],
    lastQuitTs: undefined,
    reactions: new Map(), // message id -> who reacted with what (reactions.js)
    typing: new Map(), // who is typing here (typing.js)
    readMarker: null, readSent: 0, lineAt: null, markerAsked: false, // the account's read marker (readmarks.js)
    senders: new Map(), // id of each line shown -> its folded sender (readmarks.js)
    replyTo: null, // {id, nick, text}: the message the next one sent answers
    view: null, // the page's own data for this conversation; never read here
  };
}

/** The stream reached id: move the cursor. True if it moved. */
function advance(conv, id) {
  if (conv.lastId !== null && id <= conv.lastId) return false;
  conv.lastId = id;
  return true;
}

/** Not joined any more (the connection or the session was lost). */
export function resetJoin(conv) {
  conv.joined = false;
  conv.synced = false;
  conv.joining = false;
}

/** Mark a join under way; the join command, resuming after the cursor if there is one. */
export function startJoin(conv) {
  conv.joining = true;
  conv.joinSince = conv.lastId === null ? undefined : conv.lastId;
  conv.freshView = conv.ids.size === 0;
  const cmd = { type: 'join', room: conv.name };
  if (conv.joinSince !== undefined) cmd.since = conv.joinSince;
  if (conv.passkey) cmd.key = conv.passkey;
  return cmd;
}

/** The smallest message id shown, or null. */
function oldestId(conv) {
  let min = null;
  for (const id of conv.ids.keys()) if (min === null || id < min) min = id;
  return min;
}

/** The `before` of a request for the page of history above what is shown. */
export function olderBefore(conv) {
  const first = oldestId(conv);
  if (first !== null) return first;
  return conv.lastId === null ? undefined : conv.lastId + 1;
}

/** Lines dropped from the page: their ids can come again. */
export function forget(conv, id) {
  conv.ids.delete(id);
  dropLine(conv, id);
  forgetReactions(conv, id);
}

// ---------------------------------------------------------------- unread

/**
 * Count a message that arrived live. counted: the conversation is not the
 * one shown (its unread count went up); title: the page is hidden (the
 * title's count went up). Null for our own messages.
 */
export function noteUnread(state, conv, from, text, hidden) {
  if (from && state.myNicks.has(fold(from))) return null;
  const counted = conv !== (state.convs.get(state.active) || state.home);
  if (counted) {
    conv.unread++;
    if ((state.me && mentions(text, state.me)) || conv.kind === 'pm') conv.mention = true;
  }
  if (hidden) state.titleUnread++;
  return { counted, title: hidden };
}

export function markRead(conv) {
  conv.unread = 0;
  conv.mention = false;
}

// ---------------------------------------------------------------- messages

/**
 * One stored message (live, history or resume), deduplicated by id.
 * status: 'new' (draw it), 'confirmed' (its event came after our own ok
 * drew it), 'duplicate', 'deleted' (its delete event came first); settled: our outbox entry it turned out to be;
 * unread: what noteUnread said, for a new live message.
 */
export function receive(state, conv, m, { live = false, hidden = false } = {}) {
  const settled = state.outbox.settleByEcho(conv.key, m);
  let status = 'new';
  if (typeof m.id === 'number') {
    if (conv.deleted.has(m.id)) status = 'deleted';
    else if (conv.ids.has(m.id)) status = conv.ids.get(m.id) ? 'confirmed' : 'duplicate';
    conv.ids.set(m.id, false);
    advance(conv, m.id);
    noteLine(conv, m.id, m.from);
  }
  const unread = status === 'new' && live ? noteUnread(state, conv, m.from, m.text, hidden) : null;
  return { status, settled, unread };
}

/**
 * The ok for our own say/action, carrying its id: true if the page should
 * draw it now (its event has not come yet). The cursor does not move.
 */
export function acknowledge(conv, id, from = null) {
  if (typeof id !== 'number' || conv.ids.has(id) || conv.deleted.has(id)) return false;
  conv.ids.set(id, true);
  noteLine(conv, id, from);
  return true;
}

/** Everything a history event holds: messages, and the reactions interleaved with them. */
function rowsOf(ev) {
  return Array.isArray(ev.messages) ? ev.messages.filter((m) => m && typeof m === 'object') : [];
}

const chatRows = (rows) => rows.filter((m) => !isReaction(m));

/**
 * A react or unreact event of conv's stream (live, or in a history): the
 * cursor moves past it. The id of the message whose reactions changed,
 * or null (already counted, or on a message not shown: its page brings
 * them).
 */
export function receiveReaction(conv, ev) {
  if (typeof ev.id === 'number') advance(conv, ev.id);
  if (!conv.ids.has(ev.message) || conv.deleted.has(ev.message)) return null;
  return applyReaction(conv, ev) ? ev.message : null;
}

/**
 * The reactions a history event brings: the folded ones of its messages
 * (true as of everything this page has had of the stream), then each
 * change in it, in order. The ids of the messages whose reactions changed.
 */
function historyReactions(conv, rows) {
  const asOf = Math.max(conv.lastId || 0, ...rows.map((m) => (typeof m.id === 'number' ? m.id : 0)));
  const changed = new Set();
  for (const m of rows) {
    if (isReaction(m)) {
      const id = receiveReaction(conv, m);
      if (id !== null) changed.add(id);
    } else if (Array.isArray(m.reactions) && typeof m.id === 'number' && conv.ids.has(m.id)) {
      setReactions(conv, m.id, m.reactions, asOf);
      changed.add(m.id);
    }
  }
  return changed;
}

/**
 * The history that answers our join: the scrollback, or the replay after
 * joinSince. Returns what to draw: the entries the replay settled, a gap
 * marker if the replay was cut short, each message with what receive()
 * said, the join's waiters to release, and whether to page back (a reload
 * shows some context above what was missed).
 */
export function joinHistory(state, conv, ev, hidden = false) {
  const rows = rowsOf(ev);
  const msgs = chatRows(rows);
  const since = conv.joinSince;
  const resumed = since !== undefined;
  const settled = resumed ? state.outbox.settleByReplay(conv.key, msgs) : [];
  let gap = null;
  const first = rows.length && typeof rows[0].id === 'number' ? rows[0].id : null;
  if (resumed && ev.truncated && first !== null) gap = openGap(conv, first, since);
  // The server's scrollback for a join it made: the page may hold messages from before a gap.
  const shownUpTo = conv.pushed && !conv.freshView ? conv.lastId : null;
  if (!resumed && ev.truncated && first !== null && shownUpTo !== null && first > shownUpTo + 1) gap = openGap(conv, first, shownUpTo);
  const live = resumed && !conv.freshView;
  const items = msgs.map((m) => ({ m, ...receive(state, conv, m, { live, hidden }) }));
  const reacted = historyReactions(conv, rows);
  if (!resumed) conv.hasOlder = !!ev.truncated;
  if (conv.lastId === null) conv.lastId = 0;
  const waiters = conv.historyWaiters;
  conv.historyWaiters = [];
  let loadOlder = false;
  if (resumed && conv.freshView) {
    conv.freshView = false;
    loadOlder = !ev.truncated;
  }
  return { resumed, settled, gap, items, waiters, loadOlder, reacted };
}

/**
 * A page of history we asked for (ctx.kind 'older', 'gap' or 'history',
 * ctx.before its `before`): each message with what receive() said, and the
 * gaps it closed or shrank.
 */
export function pageHistory(state, conv, ctx, ev) {
  const rows = rowsOf(ev);
  const items = chatRows(rows).map((m) => ({ m, ...receive(state, conv, m) }));
  const reacted = historyReactions(conv, rows);
  const cover = coverGaps(conv, ctx.kind === 'history' ? Infinity : ctx.before, rows, ev.truncated);
  if (ctx.kind === 'older') {
    conv.loadingOlder = false;
    conv.hasOlder = !!ev.truncated;
  }
  if (ctx.gap) ctx.gap.loading = false;
  return { items, cover, reacted, added: items.filter((i) => i.status === 'new').length };
}

// ---------------------------------------------------------------- gaps

/** Mark the messages after `after` and below `before` as missed. */
export function openGap(conv, before, after) {
  const gap = { before, after, loading: false };
  conv.gaps.push(gap);
  return gap;
}

/**
 * A history page asked with before=P covers every id from its first
 * message up to P (everything below P when not truncated). Close the gaps
 * it fills, shrink those it fills in part: {removed, moved}.
 */
export function coverGaps(conv, before, msgs, truncated) {
  if (before === undefined || before === null) before = Infinity;
  const ids = msgs.map((m) => m.id).filter((id) => typeof id === 'number');
  const lo = ids.length ? Math.min(...ids) : before;
  const removed = [];
  const moved = [];
  for (const gap of [...conv.gaps]) {
    if (before < gap.before) continue; // this page ends below the gap
    if (!truncated || lo <= gap.after + 1) {
      conv.gaps.splice(conv.gaps.indexOf(gap), 1);
      removed.push(gap);
    } else if (lo < gap.before) {
      gap.before = lo;
      moved.push(gap);
    }
  }
  return { removed, moved };
}

/**
 * A delete event for message id: it is never drawn again (a history page
 * in flight may still hold it). True if the page shows it.
 */
export function deleteMessage(conv, id) {
  if (typeof id !== 'number') return false;
  conv.deleted.add(id);
  return conv.ids.has(id);
}

// ---------------------------------------------------------------- members

export function addMember(conv, nick) {
  conv.members.set(fold(nick), nick);
}

/** nick left: its role and mute go with it (a role comes back with the next members event). */
export function removeMember(conv, nick) {
  const key = fold(nick);
  conv.roles.delete(key);
  conv.muted.delete(key);
  return conv.members.delete(key);
}

/** True if old was a member (and now is new); its role and mute follow it. */
export function renameMember(conv, old, neu) {
  const [from, to] = [fold(old), fold(neu)];
  if (!conv.members.delete(from)) return false;
  conv.members.set(to, neu);
  const role = conv.roles.get(from);
  conv.roles.delete(from);
  if (role) conv.roles.set(to, role);
  if (conv.muted.delete(from)) conv.muted.add(to);
  return true;
}

/** The members event: nicks, and the roles of those who have one ({nick: role}). */
export function setMembers(conv, nicks, roles = {}) {
  conv.members = new Map(nicks.map((n) => [fold(n), n]));
  conv.roles = new Map();
  for (const [nick, role] of Object.entries(roles || {})) setRole(conv, nick, role);
}

const RANK = { voice: 1, operator: 2, founder: 3 };

/** nick's role is now role; 'member' (or anything else) takes it away. */
export function setRole(conv, nick, role) {
  if (Object.hasOwn(RANK, role)) conv.roles.set(fold(nick), role);
  else conv.roles.delete(fold(nick));
}

/** nick's role in conv: 'founder', 'operator', 'voice', or null. */
export function roleOf(conv, nick) {
  return (nick && conv.roles.get(fold(nick))) || null;
}

/** How much a role may do: 0 for none, 3 for the founder. */
export const rankOf = (role) => RANK[role] || 0;

/** Founder, operators, voices, then everyone else; by name within each. */
export function byRank(conv, nicks) {
  return byName(nicks).sort((a, b) => rankOf(roleOf(conv, b)) - rankOf(roleOf(conv, a)));
}

/** Nicks in the order the page lists them. */
export function byName(nicks) {
  return [...nicks].sort((a, b) => fold(a).localeCompare(fold(b)));
}

/** May this page's user moderate conv: an operator or its founder there, or a server operator. */
export function mayModerate(conv, me, serverOperator = false) {
  return serverOperator || (conv.kind === 'room' && rankOf(roleOf(conv, me)) >= RANK.operator);
}

/** The server put us in conv (the account joined it on another connection): its history follows. */
export function startPushedJoin(conv) {
  conv.wanted = true;
  conv.outcast = false;
  conv.joining = true;
  conv.pushed = true;
  conv.joinSince = undefined; // the server sends the scrollback, not a resume
  conv.freshView = conv.ids.size === 0;
}

/** The history of a join the server made has come: we are in. */
export function endPushedJoin(conv) {
  conv.pushed = false;
  conv.joining = false;
  conv.joined = true;
  conv.synced = true;
  conv.joinedOnce = true;
}

/** An operator put us out of conv: we are not in it, and do not go back by ourselves. */
export function putOut(conv) {
  resetJoin(conv);
  conv.wanted = false;
  conv.outcast = true;
  conv.members = new Map();
  conv.roles = new Map();
  conv.muted = new Set();
}
