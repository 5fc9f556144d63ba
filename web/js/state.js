// The page's one store: who we are, the conversations, the outbox, the
// commands waiting for a data event. Created once by main.js and passed to
// whoever needs it; nothing here touches the DOM, the network or storage.

import { createConv } from './conversation.js';
import { Outbox } from './outbox.js';
import { createPeers } from './peers.js';
import { createPrivates } from './privates.js';
import { fold } from './text.js';

export function createState() {
  return {
    me: null, // nick the server accepted for this session
    wantNick: null, // nick the user asked for
    account: null, // the account this session is logged in to, or null (a guest)
    serverOperator: false, // the account is one of tap.cfg's [server] operators
    auth: null, // {kind: 'login'|'register', ...} the sign-in form asked for, until answered
    privates: createPrivates(), // the account's private messages received (privates.js)
    peers: createPeers(), // who we talk with privately: online, away (peers.js)
    heldPrivates: [], // private events that came before the login's ok named our nick
    alerts: false, // desktop notifications: the user opted in and the browser allows them
    myNicks: new Set(), // folded nicks this page has used (own-message styling)
    limits: { message: 4000, topic: 390, nick: 32, history: 200 },
    convs: new Map(), // key -> conversation; rooms keyed by fold(name), PMs by 'pm:' + fold(nick)
    active: null, // key of the conversation shown; null for home
    home: createConv('home', '*home', 'chatd'),
    directory: [], // the server's room list
    signedIn: false, // the app view is showing
    explicitLogin: false, // the nick came from the form: report nick-in-use, do not add "_"
    needNick: true, // this server session has no nick yet
    syncing: false, // the session generation being synchronised, or false
    sessionGen: 0,
    outbox: new Outbox(),
    refs: new Map(), // ref -> context of a command whose data event we want
    refSeq: 0,
    titleUnread: 0,
    regainTimer: null,
    lastNotice: new Map(), // notice text -> when it was last shown
    connState: { state: 'idle' },
    inputHistory: [],
    historyPos: -1,
    draft: '',
    resumeOnShow: false,
  };
}

export const roomKey = (name) => fold(name);
export const pmKey = (nick) => 'pm:' + fold(nick);

/** Is nick the one this session has now? */
export const isMe = (state, nick) => !!nick && !!state.me && fold(nick) === fold(state.me);

/** Is nick one this page has used (its messages are ours)? */
export const isMine = (state, nick) => !!nick && state.myNicks.has(fold(nick));

export function setMe(state, nick) {
  state.me = nick;
  state.myNicks.add(fold(nick));
}

export function currentConv(state) {
  return (state.active && state.convs.get(state.active)) || state.home;
}

export function roomConvs(state) {
  return [...state.convs.values()].filter((c) => c.kind === 'room');
}

export function convForRoom(state, name) {
  return name ? state.convs.get(roomKey(name)) : null;
}

/** A new conversation, registered under its key. */
export function addConv(state, kind, name, lastId = null) {
  const key = kind === 'room' ? roomKey(name) : pmKey(name);
  const conv = createConv(kind, key, name, lastId);
  state.convs.set(key, conv);
  return conv;
}

/** conv is now called name (the server's spelling, or a new nick); its key follows if free. */
export function rekeyConv(state, conv, name) {
  const key = conv.kind === 'room' ? roomKey(name) : pmKey(name);
  conv.name = name;
  if (key === conv.key || state.convs.has(key)) return;
  state.convs.delete(conv.key);
  if (state.active === conv.key) state.active = key;
  state.outbox.rekey(conv.key, key);
  conv.key = key;
  state.convs.set(key, conv);
}

/** Forget conv and what it had queued; false if it was already gone. */
export function dropConv(state, conv) {
  if (!state.convs.has(conv.key)) return false;
  state.convs.delete(conv.key);
  state.outbox.dropConv(conv.key);
  return true;
}

/** The conversation to show after the current one went away. */
export function nextConv(state) {
  return roomConvs(state)[0] || [...state.convs.values()][0] || null;
}

// ---------------------------------------------------------------- refs

const REF_MAX = 200;
const REF_TTL_MS = 120000;

/** A ref for a command whose data event (history, members, topic, rooms) needs context. */
export function refFor(state, ctx, now = Date.now()) {
  const ref = `u${++state.refSeq}`;
  ctx.at = now;
  state.refs.set(ref, ctx);
  if (state.refs.size > REF_MAX) {
    for (const [k, v] of state.refs) if (now - v.at > REF_TTL_MS) state.refs.delete(k);
  }
  return ref;
}

/** The context of the command that ref answers (once), or null. */
export function takeRef(state, ref) {
  if (ref === undefined) return null;
  const ctx = state.refs.get(ref);
  if (!ctx) return null;
  state.refs.delete(ref);
  return ctx;
}

// ---------------------------------------------------------------- nicks, rooms, notices

/** The wanted nick, then variants to try while the old connection still holds it. */
export function nickCandidates(want, max = 32, random = Math.random) {
  const out = [want];
  for (const suffix of ['_', '__', '___']) {
    const base = [...want].slice(0, Math.max(1, max - suffix.length)).join('');
    out.push(base + suffix);
  }
  const digits = String(Math.floor(1000 + random() * 9000));
  out.push([...want].slice(0, Math.max(1, max - 5)).join('') + '_' + digits);
  return out;
}

/** Keep the directory's member counts roughly right between refreshes. */
export function updateDirectoryCount(state, name, delta) {
  const row = state.directory.find((r) => r && r.name && roomKey(r.name) === roomKey(name));
  if (row && typeof row.members === 'number') row.members = Math.max(0, row.members + delta);
}

const NOTICE_REPEAT_MS = 10 * 60 * 1000;

/** False for a notice shown in the last ten minutes (the MOTD again after a reconnect). */
export function freshNotice(state, key, now = Date.now()) {
  const last = state.lastNotice.get(key);
  if (last && now - last < NOTICE_REPEAT_MS) return false;
  state.lastNotice.set(key, now);
  return true;
}
