// chatd browser client: the controller. Protocol: docs/protocol.md.
//
// Rendering rule: user data reaches the DOM only through textContent,
// text nodes and checked attributes (see js/dom.js, js/text.js).

import { Connection } from './js/connection.js';
import { h, syncList } from './js/dom.js';
import { HELP, parseInput, firstWord } from './js/commands.js';
import {
  appendLinkified, asRoom, charLength, closeIsolates, flattenLines, fold, fullTime, hhmm, mentions, newCid,
  nickClass, nickProblem, parseTs, roomProblem, textProblem,
} from './js/text.js';

// ---------------------------------------------------------------- storage

const store = {
  get(area, key, fallback) {
    try {
      const raw = area.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(area, key, value) {
    try {
      if (value === undefined || value === null) area.removeItem(key);
      else area.setItem(key, JSON.stringify(value));
    } catch {
      /* storage full or disabled: the client still works */
    }
  },
};
const local = (() => { try { return window.localStorage; } catch { return null; } })();
const session = (() => { try { return window.sessionStorage; } catch { return null; } })();
const K_NICK = 'chatd.nick';
const K_ROOMS = 'chatd.rooms';
const K_LAST = 'chatd.lastIds';
const K_ACTIVE = 'chatd.active';
const load = (area, key, fb) => (area ? store.get(area, key, fb) : fb);
const save = (area, key, v) => area && store.set(area, key, v);

// ---------------------------------------------------------------- state

const params = new URLSearchParams(window.location.search);
const forced = (params.get('transport') || '').toLowerCase();
const MODE = forced === 'longpoll' || forced === 'websocket' ? forced : 'auto';

const S = {
  me: null, // nick the server accepted for this session
  wantNick: null, // nick the user asked for
  myNicks: new Set(), // folded nicks this page has used (own-message styling)
  limits: { message: 4000, topic: 390, nick: 32, history: 200 },
  convs: new Map(), // key -> conversation; rooms keyed by fold(name), PMs by 'pm:' + fold(nick)
  active: null,
  home: null,
  directory: [],
  signedIn: false, // the app view is showing
  explicitLogin: false, // the nick came from the form: report nick-in-use, do not add "_"
  needNick: true, // this server session has no nick yet
  syncing: false,
  sessionGen: 0,
  outbox: new Map(), // cid (or local id) -> entry, in send order
  pmSent: [], // recent private messages we sent, to pair with their echo
  refs: new Map(), // ref -> context of a command whose data event we want
  titleUnread: 0,
  regainTimer: null,
  lastNotice: new Map(),
  statusTimer: null,
  connState: { state: 'idle' },
  inputHistory: [],
  historyPos: -1,
  lastLoginError: '',
};

const $ = (id) => document.getElementById(id);
const el = {
  login: $('login'), loginForm: $('login-form'), nick: $('nick'), loginError: $('login-error'),
  loginStatus: $('login-status'), loginButton: $('login-button'),
  app: $('app'), sidebar: $('sidebar'), backdrop: $('backdrop'), rooms: $('rooms'), pms: $('pms'),
  pmsEmpty: $('pms-empty'), directory: $('directory'), directoryEmpty: $('directory-empty'),
  joinForm: $('join-form'), joinRoom: $('join-room'), me: $('me'), quit: $('quit'),
  title: $('conv-title'), topic: $('topic'), topicEdit: $('topic-edit'), topicForm: $('topic-form'),
  topicInput: $('topic-input'), topicCancel: $('topic-cancel'),
  status: $('status'), statusText: $('status-text'), retry: $('retry'),
  membersToggle: $('members-toggle'), memberCount: $('member-count'), membersPanel: $('members-panel'),
  members: $('members'), membersClose: $('members-close'),
  log: $('log'), jump: $('jump'),
  composer: $('composer'), message: $('message'), send: $('send'), composerError: $('composer-error'),
  charCount: $('char-count'), messageLabel: $('message-label'),
  sidebarOpen: $('sidebar-open'), sidebarClose: $('sidebar-close'), menuBadge: $('menu-badge'),
  directoryRefresh: $('directory-refresh'),
};

const conn = new Connection(
  { mode: MODE },
  { onEvent: handleEvent, onState: handleState, onSession: handleSession },
);

// ---------------------------------------------------------------- helpers

const isMe = (nick) => !!nick && !!S.me && fold(nick) === fold(S.me);
const isMine = (nick) => !!nick && S.myNicks.has(fold(nick));
const roomKey = (name) => fold(name);
const pmKey = (nick) => 'pm:' + fold(nick);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => new Date().toISOString();

// Bidi: whatever one user writes (a nick, a room name, a topic, a message,
// a reason) goes in its own isolate, so that right-to-left letters or an
// isolate it leaves open cannot reorder the text around it.
/** User text as an element: <bdi> (direction from its own first letter). */
const iso = (text) => h('bdi', null, closeIsolates(text));
/** User text inside a string (placeholders, tooltips): FSI ... PDI. */
const isoText = (text) => `\u2068${closeIsolates(text)}\u2069`;
/** User text that may hold links, isolated. */
function isoLinkified(text, cls = 'text') {
  return appendLinkified(h('bdi', { class: cls }), closeIsolates(text));
}

let refSeq = 0;
/** A ref for a command whose data event needs context. */
function refFor(ctx) {
  const ref = `u${++refSeq}`;
  ctx.at = Date.now();
  S.refs.set(ref, ctx);
  if (S.refs.size > 200) {
    for (const [k, v] of S.refs) if (Date.now() - v.at > 120000) S.refs.delete(k);
  }
  return ref;
}

/** Send a command; resolves with the ok/error reply, or null when offline. */
async function send(cmd) {
  try {
    return await conn.send(cmd);
  } catch (e) {
    if (e && e.offline) return null;
    throw e;
  }
}

function offlineError() {
  showError('Not connected right now; try again once the connection is back.');
}

// ---------------------------------------------------------------- conversations

function makeConv(kind, name) {
  const key = kind === 'room' ? roomKey(name) : kind === 'pm' ? pmKey(name) : '*home';
  const list = h('ol', { class: 'lines' });
  const top = h('div', { class: 'log-top' });
  const conv = {
    key, kind, name,
    wanted: kind === 'room',
    joined: false, joining: false, synced: false, joinedOnce: false,
    members: new Map(), topic: '', topicBy: null,
    ids: new Map(), lastId: null,
    unread: 0, mention: false, firstUnread: null,
    hasOlder: null, loadingOlder: false,
    joinSince: undefined, freshView: true, historyWaiters: [],
    atBottom: true, scrollTop: 0,
    el: h('div', { class: 'conv', dataset: { conv: key } }, top, list),
    top, list,
  };
  if (kind === 'room') {
    const last = load(session, K_LAST, {})[key];
    if (typeof last === 'number') conv.lastId = last;
  }
  if (kind !== 'home') S.convs.set(key, conv);
  renderTop(conv);
  return conv;
}

function ensureRoom(name) {
  return S.convs.get(roomKey(name)) || makeConv('room', name);
}

function ensurePm(nick) {
  let conv = S.convs.get(pmKey(nick));
  if (!conv) {
    conv = makeConv('pm', nick);
    renderSidebar();
  }
  return conv;
}

function currentConv() {
  return (S.active && S.convs.get(S.active)) || S.home;
}

function roomConvs() {
  return [...S.convs.values()].filter((c) => c.kind === 'room');
}

function rekey(conv, name) {
  const key = conv.kind === 'room' ? roomKey(name) : pmKey(name);
  conv.name = name;
  if (key !== conv.key && !S.convs.has(key)) {
    S.convs.delete(conv.key);
    if (S.active === conv.key) S.active = key;
    for (const e of S.outbox.values()) if (e.convKey === conv.key) e.convKey = key;
    conv.key = key;
    conv.el.dataset.conv = key;
    S.convs.set(key, conv);
  }
  if (conv.key === S.active) renderHeader();
  renderSidebar();
}

function saveRooms() {
  save(local, K_ROOMS, roomConvs().filter((c) => c.wanted).map((c) => c.name));
}

function saveLastId(conv) {
  if (conv.kind !== 'room' || conv.lastId === null) return;
  const all = load(session, K_LAST, {});
  all[conv.key] = conv.lastId;
  save(session, K_LAST, all);
}

function removeConv(conv) {
  if (!S.convs.has(conv.key)) return;
  S.convs.delete(conv.key);
  for (const e of [...S.outbox.values()]) if (e.convKey === conv.key) S.outbox.delete(e.id);
  if (conv.kind === 'room') {
    const all = load(session, K_LAST, {});
    delete all[conv.key];
    save(session, K_LAST, all);
  }
  saveRooms();
  if (S.active === conv.key) {
    const next = roomConvs()[0] || [...S.convs.values()][0];
    activate(next ? next.key : null);
  } else {
    renderSidebar();
  }
}

// ---------------------------------------------------------------- rendering: lines

function timeEl(ts) {
  const d = parseTs(ts);
  return h('time', { class: 'ts', datetime: d.toISOString(), title: fullTime(d) }, hhmm(d));
}

function avatarEl(nick) {
  const letter = ([...String(nick || '?')].find((c) => /[\p{L}\p{N}]/u.test(c)) || '?').toUpperCase();
  return h('span', { class: `avatar ${nickClass(nick)}`, 'aria-hidden': 'true' }, letter);
}

/** One chat line: message, action or private message. */
function lineEl(m) {
  const kind = m.kind; // message | action | private
  const own = isMine(m.from);
  const body = h('span', { class: 'body' });
  const who = h('bdi', { class: `who ${nickClass(m.from)}` }, m.from);
  let li;
  if (kind === 'action') {
    body.append(h('bdi', { class: 'who-inline ' + nickClass(m.from) }, m.from), ' ', isoLinkified(m.text));
    li = h('li', { class: 'msg action' }, h('span', { class: 'gutter' }, timeEl(m.ts)),
      h('span', { class: 'sr-only' }, '* '), body);
  } else {
    body.append(isoLinkified(m.text));
    li = h('li', { class: 'msg' }, avatarEl(m.from),
      h('span', { class: 'meta' }, who, h('span', { class: 'sr-only' }, ': '), timeEl(m.ts)), body);
  }
  li.dataset.testid = 'message';
  li.dataset.kind = kind;
  li.dataset.from = m.from;
  li.dataset.ts = String(parseTs(m.ts).getTime());
  if (m.room) li.dataset.inRoom = m.room;
  if (m.pm) li.dataset.with = m.pm;
  if (m.id !== undefined && m.id !== null) {
    li.dataset.id = String(m.id);
    li.dataset.sort = String(m.id);
  }
  if (own) {
    li.classList.add('own');
    li.dataset.own = 'true';
  } else if (S.me && mentions(m.text, S.me)) {
    li.classList.add('mention');
  }
  if (m.pending) {
    li.classList.add('outbox', 'pending');
    li.dataset.pending = 'true';
    li.title = 'Sending…';
  }
  return li;
}

/** A presence or notice line; text is a string or a list of strings and nodes (iso() for user text). */
function eventEl(text, { ts, cls = '', icon = '' } = {}) {
  const li = h('li', { class: `event ${cls}`.trim() },
    h('span', { class: 'gutter' }, timeEl(ts || now())),
    h('span', { class: 'event-text' }, icon ? h('span', { class: 'event-icon', 'aria-hidden': 'true' }, icon) : null, text));
  li.dataset.testid = 'event';
  return li;
}

const GROUP_MS = 5 * 60 * 1000;

function groupable(prev, li) {
  return !!prev && !!li
    && prev.classList.contains('msg') && li.classList.contains('msg')
    && !prev.classList.contains('action') && !li.classList.contains('action')
    && !prev.classList.contains('failed')
    && fold(prev.dataset.from || '') === fold(li.dataset.from || '')
    && Math.abs(Number(li.dataset.ts) - Number(prev.dataset.ts)) < GROUP_MS;
}

function regroup(li) {
  if (!li) return;
  li.classList.toggle('cont', groupable(li.previousElementSibling, li));
  const next = li.nextElementSibling;
  if (next && next.classList.contains('msg')) next.classList.toggle('cont', groupable(li, next));
}

/** Insert by sort key (message id); unsorted lines stay where they are, pending ones last. */
function insertSorted(conv, li, sort) {
  let before = null;
  for (let c = conv.list.lastElementChild; c; c = c.previousElementSibling) {
    if (c.classList.contains('outbox')) {
      before = c;
      continue;
    }
    if (c.dataset.sort === undefined) continue;
    if (Number(c.dataset.sort) > sort) before = c;
    else break;
  }
  conv.list.insertBefore(li, before);
  regroup(li);
}

/** Append a live line (before any pending ones). */
function appendLine(conv, li) {
  const firstPending = conv.list.querySelector(':scope > .outbox');
  conv.list.insertBefore(li, firstPending);
  regroup(li);
  if (firstPending) regroup(firstPending);
}

function atBottom() {
  const l = el.log;
  return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
}

// The scrollTop scrollToBottom last set: a scroll event that lands there is
// ours, not the reader's, even if the layout has grown since.
let autoScrollTop = -1;

function scrollToBottom() {
  el.log.scrollTop = el.log.scrollHeight;
  autoScrollTop = el.log.scrollTop;
  el.jump.hidden = true;
  currentConv().atBottom = true;
}

/**
 * A reader at the bottom stays there whatever changes the layout after
 * the lines went in: the "load older" button appearing above them, a font
 * arriving, the composer growing, the header wrapping. Scrolling away
 * (the scroll listener) is what unsticks the view, not a layout change.
 */
const keepBottom = new ResizeObserver(() => {
  if (currentConv().atBottom) scrollToBottom();
});

/**
 * Change conv's lines, keeping the view sensible: stick to the bottom if
 * the reader was there, keep older insertions from pushing the view.
 */
function mutate(conv, fn, { older = false, live = false } = {}) {
  if (conv !== currentConv()) {
    const r = fn();
    if (older && !conv.atBottom) conv.scrollTop = -1; // position unknown now; restore at bottom
    return r;
  }
  const bottom = conv.atBottom || atBottom();
  const fromBottom = el.log.scrollHeight - el.log.scrollTop;
  el.log.setAttribute('aria-busy', 'true');
  const r = fn();
  el.log.removeAttribute('aria-busy');
  if (bottom) scrollToBottom();
  else if (older) el.log.scrollTop = el.log.scrollHeight - fromBottom;
  else if (live) el.jump.hidden = false;
  return r;
}

function notice(conv, text, opts = {}) {
  conv = conv || currentConv();
  mutate(conv, () => appendLine(conv, eventEl(text, opts)), { live: true });
}

/** A multi-row local notice (help, rooms, who). */
function block(conv, title, rows) {
  conv = conv || currentConv();
  const li = h('li', { class: 'event block' },
    h('span', { class: 'gutter' }, timeEl(now())),
    h('div', { class: 'block-body' }, h('div', { class: 'block-title' }, title),
      h('ul', { class: 'block-rows' }, rows.map((r) => h('li', null, r)))));
  li.dataset.testid = 'event';
  mutate(conv, () => appendLine(conv, li), { live: true });
}

function renderTop(conv) {
  const top = conv.top;
  if (conv.kind === 'home') {
    top.replaceChildren(h('div', { class: 'empty' },
      h('p', { class: 'empty-title' }, 'You are not in any room.'),
      h('p', null, 'Join one from the list, or type ', h('code', null, '/join #room'), '.'),
      h('button', { type: 'button', class: 'btn btn-primary', dataset: { joinRoom: '#lobby' } }, 'Join #lobby')));
    return;
  }
  if (conv.kind === 'pm') {
    top.replaceChildren(h('p', { class: 'log-begin' },
      'Private conversation with ', iso(conv.name), '. Private messages are not stored; they live only in this page.'));
    return;
  }
  // One persistent button, updated in place (disabled while loading) and
  // never detached while it is wanted, so a click never misses it.
  if (!conv.olderBtn) {
    conv.olderBtn = h('button', { type: 'button', class: 'btn btn-small load-older', dataset: { testid: 'load-older' } });
  }
  const btn = conv.olderBtn;
  for (const c of [...top.children]) if (c !== btn) c.remove();
  const atStart = conv.hasOlder === false && !conv.loadingOlder;
  const wantBtn = !atStart && (conv.loadingOlder || conv.joined || !!conv.list.querySelector('.msg[data-id]'));
  if (atStart) top.append(h('p', { class: 'log-begin' }, 'This is the beginning of ', iso(conv.name), '.'));
  if (wantBtn) {
    btn.disabled = conv.loadingOlder;
    btn.classList.toggle('loading', conv.loadingOlder);
    btn.textContent = conv.loadingOlder ? 'Loading older messages…' : 'Load older messages';
    if (btn.parentNode !== top) top.append(btn);
  } else {
    btn.remove();
  }
}

// ---------------------------------------------------------------- rendering: chrome

function renderSidebar() {
  const rooms = roomConvs().filter((c) => c.wanted || c.joined);
  syncList(el.rooms, rooms, (c) => c.key, (c) => {
    const btn = h('button', { type: 'button', class: 'conv-btn' },
      h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'),
      h('bdi', { class: 'name' }),
      h('span', { class: 'badge' }));
    const close = h('button', { type: 'button', class: 'conv-close', title: 'Leave' }, '×');
    return h('li', { class: 'conv-item' }, btn, close);
  }, (li, c) => {
    const [btn, close] = li.children;
    btn.dataset.room = c.name;
    btn.dataset.unread = String(c.unread);
    btn.querySelector('.name').textContent = c.name.replace(/^#/, '');
    const badge = btn.querySelector('.badge');
    badge.textContent = c.unread ? (c.unread > 99 ? '99+' : String(c.unread)) : '';
    badge.hidden = !c.unread;
    btn.classList.toggle('unread', c.unread > 0);
    btn.classList.toggle('mention', c.mention);
    btn.classList.toggle('joining', !c.joined);
    if (c.key === S.active) btn.setAttribute('aria-current', 'page');
    else btn.removeAttribute('aria-current');
    btn.setAttribute('aria-label', `${c.name}${c.unread ? `, ${c.unread} unread` : ''}${c.joined ? '' : ', joining'}`);
    close.setAttribute('aria-label', `Leave ${c.name}`);
    close.dataset.part = c.name;
  });

  const pms = [...S.convs.values()].filter((c) => c.kind === 'pm');
  syncList(el.pms, pms, (c) => c.key, () => {
    const btn = h('button', { type: 'button', class: 'conv-btn' },
      h('span', { class: 'avatar-mini', 'aria-hidden': 'true' }),
      h('bdi', { class: 'name' }),
      h('span', { class: 'badge' }));
    const close = h('button', { type: 'button', class: 'conv-close', title: 'Close' }, '×');
    return h('li', { class: 'conv-item' }, btn, close);
  }, (li, c) => {
    const [btn, close] = li.children;
    btn.dataset.pm = c.name;
    btn.dataset.unread = String(c.unread);
    const mini = btn.querySelector('.avatar-mini');
    mini.className = `avatar-mini ${nickClass(c.name)}`;
    btn.querySelector('.name').textContent = c.name;
    const badge = btn.querySelector('.badge');
    badge.textContent = c.unread ? String(c.unread) : '';
    badge.hidden = !c.unread;
    btn.classList.toggle('unread', c.unread > 0);
    btn.classList.toggle('mention', c.unread > 0);
    if (c.key === S.active) btn.setAttribute('aria-current', 'page');
    else btn.removeAttribute('aria-current');
    btn.setAttribute('aria-label', `Private conversation with ${c.name}${c.unread ? `, ${c.unread} unread` : ''}`);
    close.setAttribute('aria-label', `Close the conversation with ${c.name}`);
    close.dataset.closePm = c.name;
  });
  el.pmsEmpty.hidden = pms.length > 0;

  renderDirectory();

  const others = [...S.convs.values()].filter((c) => c.key !== S.active);
  const anyUnread = others.some((c) => c.unread > 0);
  el.menuBadge.hidden = !anyUnread;
  updateTitle();
}

function renderDirectory() {
  const joined = new Set(roomConvs().filter((c) => c.wanted || c.joined).map((c) => c.key));
  const rows = S.directory.filter((r) => r && typeof r.name === 'string' && !joined.has(roomKey(r.name)));
  syncList(el.directory, rows, (r) => roomKey(r.name), () => h('li', { class: 'conv-item' },
    h('button', { type: 'button', class: 'conv-btn dir-btn' },
      h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'),
      h('bdi', { class: 'name' }),
      h('span', { class: 'count' }))), (li, r) => {
    const btn = li.firstElementChild;
    btn.dataset.joinRoom = r.name;
    btn.querySelector('.name').textContent = r.name.replace(/^#/, '');
    btn.querySelector('.count').textContent = String(r.members ?? '');
    btn.title = r.topic ? `${isoText(r.name)}: ${isoText(r.topic)}` : `Join ${isoText(r.name)}`;
    btn.setAttribute('aria-label', `Join ${r.name}, ${r.members} ${r.members === 1 ? 'member' : 'members'}`);
  });
  el.directoryEmpty.hidden = rows.length > 0;
}

function renderHeader() {
  const conv = currentConv();
  el.topicForm.hidden = true;
  if (conv.kind === 'home') {
    el.title.textContent = 'chatd';
    el.topic.replaceChildren('Welcome. Join a room to start.');
    el.topic.classList.add('muted');
    el.topicEdit.hidden = true;
  } else if (conv.kind === 'pm') {
    el.title.replaceChildren(iso(conv.name));
    el.topic.replaceChildren('Private conversation with ', iso(conv.name));
    el.topic.classList.add('muted');
    el.topicEdit.hidden = true;
  } else {
    el.title.replaceChildren(iso(conv.name));
    el.topic.replaceChildren();
    if (conv.topic) {
      el.topic.append(isoLinkified(conv.topic));
      el.topic.classList.remove('muted');
      el.topic.title = conv.topicBy ? `${isoText(conv.topic)} (set by ${isoText(conv.topicBy)})` : isoText(conv.topic);
    } else {
      el.topic.textContent = conv.joined ? 'No topic set' : 'Joining…';
      el.topic.classList.add('muted');
      el.topic.removeAttribute('title');
    }
    el.topicEdit.hidden = !conv.joined;
  }
  el.membersToggle.hidden = conv.kind !== 'room';
  el.messageLabel.textContent = conv.kind === 'home' ? 'Message' : `Message ${conv.name}`;
  el.message.placeholder = conv.kind === 'home' ? 'Type /join #room' : `Message ${isoText(conv.name)}`;
  renderMembers();
}

function renderMembers() {
  const conv = currentConv();
  const nicks = conv.kind === 'room' ? [...conv.members.values()] : [];
  nicks.sort((a, b) => fold(a).localeCompare(fold(b)));
  el.memberCount.textContent = conv.kind === 'room' && conv.members.size ? String(conv.members.size) : '';
  el.membersPanel.classList.toggle('empty-panel', conv.kind !== 'room');
  syncList(el.members, nicks, (n) => fold(n), () => h('li', null,
    h('button', { type: 'button', class: 'member' },
      h('span', { class: 'avatar-mini', 'aria-hidden': 'true' }),
      h('bdi', { class: 'member-name' }),
      h('span', { class: 'you' }))), (li, n) => {
    li.dataset.nick = n;
    const btn = li.firstElementChild;
    btn.dataset.member = n;
    btn.querySelector('.avatar-mini').className = `avatar-mini ${nickClass(n)}`;
    btn.querySelector('.member-name').textContent = n;
    const mine = isMe(n);
    btn.querySelector('.you').textContent = mine ? '(you)' : '';
    li.classList.toggle('is-me', mine);
    btn.title = mine ? 'You' : `Talk privately with ${n}`;
  });
}

function updateTitle() {
  const conv = currentConv();
  const base = conv.kind === 'home' ? 'chatd' : `${isoText(conv.name)} · chatd`;
  document.title = S.titleUnread ? `(${S.titleUnread}) ${base}` : base;
}

function activate(key) {
  const prev = currentConv();
  if (prev) {
    prev.atBottom = prev.atBottom || atBottom();
    prev.scrollTop = el.log.scrollTop;
    if (prev.firstUnread) prev.firstUnread.classList.remove('first-unread');
    prev.firstUnread = null;
  }
  const conv = (key && S.convs.get(key)) || S.home;
  S.active = conv === S.home ? null : conv.key;
  save(session, K_ACTIVE, S.active);
  if (conv.unread && conv.firstUnread) conv.firstUnread.classList.add('first-unread');
  conv.unread = 0;
  conv.mention = false;
  // Swapping conversations is not news: keep the live region quiet.
  el.log.setAttribute('aria-busy', 'true');
  if (prev) keepBottom.unobserve(prev.el);
  el.log.replaceChildren(conv.el);
  keepBottom.observe(conv.el);
  requestAnimationFrame(() => el.log.removeAttribute('aria-busy'));
  if (conv.atBottom || conv.scrollTop < 0) scrollToBottom();
  else el.log.scrollTop = conv.scrollTop;
  el.jump.hidden = true;
  renderHeader();
  renderSidebar();
  closeSidebar();
  setComposerEnabled();
}

// ---------------------------------------------------------------- status

function handleState(st) {
  S.connState = st;
  renderStatus();
  if (st.state === 'connected' && st.resumed) pump();
  if (st.state !== 'connected' && !st.sameSession) {
    for (const c of roomConvs()) {
      c.synced = false;
      c.joined = false;
      c.joining = false;
    }
    if (S.signedIn) {
      renderSidebar();
      renderHeader();
    }
  }
}

function renderStatus() {
  const st = S.connState;
  clearTimeout(S.statusTimer);
  el.status.dataset.state = st.state;
  el.status.dataset.transport = st.transport || '';
  let text;
  const lp = st.transport === 'longpoll';
  switch (st.state) {
    case 'connecting':
      text = st.fallback ? 'Connecting (long-poll mode)…' : lp ? 'Connecting (long-poll mode)…' : 'Connecting…';
      break;
    case 'connected':
      text = lp ? 'Connected · long-poll mode' : 'Connected';
      break;
    case 'reconnecting': {
      const secs = Math.max(0, Math.ceil(((st.retryAt || Date.now()) - Date.now()) / 1000));
      text = secs > 0 ? `Reconnecting in ${secs}s` : 'Reconnecting…';
      if (lp) text += ' · long-poll mode';
      if (secs > 0) S.statusTimer = setTimeout(renderStatus, 250);
      break;
    }
    case 'offline':
      text = 'Offline';
      break;
    default:
      text = 'Not connected';
  }
  el.statusText.textContent = text;
  el.status.title = text;
  el.retry.hidden = st.state !== 'reconnecting' || !!st.sameSession;
  el.loginStatus.textContent = !S.signedIn && st.state !== 'idle' && st.state !== 'offline' ? text : '';
}

// ---------------------------------------------------------------- session sync

function nickCandidates(want) {
  const max = S.limits.nick || 32;
  const out = [want];
  for (const suffix of ['_', '__', '___']) {
    const base = [...want].slice(0, Math.max(1, max - suffix.length)).join('');
    out.push(base + suffix);
  }
  const digits = String(Math.floor(1000 + Math.random() * 9000));
  out.push([...want].slice(0, Math.max(1, max - 5)).join('') + '_' + digits);
  return out;
}

function setMe(nick) {
  S.me = nick;
  S.myNicks.add(fold(nick));
  el.me.replaceChildren(iso(nick));
  el.me.title = `You are ${isoText(nick)}. Click to change your nick.`;
  renderMembers();
}

/** Take the wanted nick (or a variant); false if the user must choose again. */
async function claimNick(gen) {
  const want = S.wantNick;
  const tries = S.explicitLogin ? [want] : nickCandidates(want);
  for (const n of tries) {
    const r = await send({ type: 'nick', nick: n });
    if (gen !== S.sessionGen) return false;
    if (!r) return false; // offline: the next session tries again
    if (r.type === 'ok') {
      S.needNick = false;
      const prev = S.me;
      setMe(n);
      save(local, K_NICK, want);
      if (n !== want) {
        const conv = currentConv();
        notice(conv, ['The nick ', iso(want), ' is still taken (probably by your previous connection); you are ', iso(n),
          ' for now. chatd will switch back to ', iso(want), ' when it is free.'], { cls: 'warn', icon: '!' });
        startRegain();
      } else if (prev && prev !== n && S.signedIn) {
        notice(currentConv(), ['You are ', iso(n), '.'], { icon: '✓' });
      }
      return true;
    }
    if (r.code === 'nick-in-use' && !S.explicitLogin) continue;
    showLogin(r.message || 'That nick cannot be used.');
    return false;
  }
  showLogin(`The nick ${want} and its variants are taken; choose another.`);
  return false;
}

function startRegain() {
  stopRegain();
  let tries = 0;
  S.regainTimer = setInterval(async () => {
    if (!conn.connected || S.syncing) return;
    if (!S.me || S.me === S.wantNick || ++tries > 12) {
      stopRegain();
      return;
    }
    const want = S.wantNick;
    const r = await send({ type: 'nick', nick: want });
    if (r && r.type === 'ok') {
      setMe(want);
      stopRegain();
      notice(currentConv(), ['You are ', iso(want), ' again.'], { icon: '✓' });
    }
  }, 15000);
}

function stopRegain() {
  clearInterval(S.regainTimer);
  S.regainTimer = null;
}

async function handleSession(welcome) {
  const gen = ++S.sessionGen;
  if (welcome && welcome.limits) S.limits = { ...S.limits, ...welcome.limits };
  S.needNick = true;
  for (const c of roomConvs()) {
    c.joined = false;
    c.synced = false;
    c.joining = false;
  }
  await syncSession(gen);
}

/** Nick, then rooms (resuming with since), then the queued sends. */
async function syncSession(gen) {
  if (S.syncing === gen) return;
  S.syncing = gen;
  const done = () => {
    if (S.syncing === gen) S.syncing = false;
  };
  try {
    if (S.needNick && !(await claimNick(gen))) return;
    if (gen !== S.sessionGen) return;
    S.explicitLogin = false;
    showApp();
    const rooms = roomConvs().filter((c) => c.wanted && !c.joined);
    done();
    pump();
    await Promise.all(rooms.map((c) => joinRoom(c, gen)));
    if (gen !== S.sessionGen) return;
    refreshDirectory();
  } finally {
    done();
  }
  pump();
}

function waitHistory(conv, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    conv.historyWaiters.push(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function joinRoom(conv, gen = S.sessionGen) {
  if (conv.joining || conv.joined) return;
  conv.joining = true;
  conv.joinSince = conv.lastId === null ? undefined : conv.lastId;
  conv.freshView = !conv.list.querySelector('.msg[data-id]');
  renderSidebar();
  const hist = waitHistory(conv, 8000);
  const cmd = { type: 'join', room: conv.name };
  if (conv.joinSince !== undefined) cmd.since = conv.joinSince;
  const r = await send(cmd);
  if (gen !== S.sessionGen || !S.convs.has(conv.key)) return;
  if (!r) {
    conv.joining = false;
    return;
  }
  if (r.type === 'error') {
    conv.joining = false;
    conv.historyWaiters = [];
    showError(r.message);
    notice(conv, ['Could not join ', iso(conv.name), `: ${r.message}`], { cls: 'error', icon: '!' });
    conv.wanted = false;
    saveRooms();
    if (!conv.list.querySelector('.msg')) removeConv(conv);
    else renderSidebar();
    return;
  }
  if (r.room && r.room !== conv.name) rekey(conv, r.room);
  conv.joined = true;
  saveRooms();
  if (conv.key === S.active) renderHeader();
  await hist;
  if (gen !== S.sessionGen) return;
  conv.joining = false;
  conv.synced = true;
  if (!conv.joinedOnce) conv.joinedOnce = true;
  renderTop(conv);
  renderSidebar();
  pump();
}

function refreshDirectory(show = false) {
  if (!conn.connected) return;
  const cmd = { type: 'rooms' };
  if (show) cmd.ref = refFor({ kind: 'rooms', conv: currentConv() });
  send(cmd).then((r) => {
    if (r && r.type === 'error' && show) showError(r.message);
  });
}

// ---------------------------------------------------------------- outbox

/** Queue a say/action (idempotent by cid) or a private message. */
function queueSend(conv, type, text) {
  const entry = {
    id: newCid(), type, text,
    convKey: conv.key,
    state: 'queued', tries: 0, sentAs: null, el: null,
  };
  entry.cid = type === 'msg' ? null : entry.id;
  const li = lineEl({
    kind: type === 'action' ? 'action' : type === 'msg' ? 'private' : 'message',
    from: S.me || S.wantNick, text, ts: now(), pending: true,
    room: conv.kind === 'room' ? conv.name : undefined,
    pm: conv.kind === 'pm' ? conv.name : undefined,
  });
  li.classList.add('own');
  li.dataset.own = 'true';
  if (entry.cid) li.dataset.cid = entry.cid;
  entry.el = li;
  S.outbox.set(entry.id, entry);
  mutate(conv, () => {
    conv.list.appendChild(li);
    regroup(li);
  });
  scrollToBottom();
  if (!conn.connected) {
    showError('Offline: your message will be sent when the connection is back.', 'info');
  }
  pump();
}

function canSend(entry) {
  const conv = S.convs.get(entry.convKey);
  if (!conv || !conn.connected || S.syncing || S.needNick) return false;
  return entry.type === 'msg' ? true : conv.synced;
}

let pumping = false;
let pumpAgain = false;

async function pump() {
  if (pumping) {
    pumpAgain = true;
    return;
  }
  pumping = true;
  try {
    do {
      pumpAgain = false;
      for (const entry of [...S.outbox.values()]) {
        if (entry.state !== 'queued') continue;
        if (!S.convs.has(entry.convKey)) {
          S.outbox.delete(entry.id);
          continue;
        }
        if (!canSend(entry)) continue;
        const again = await transmit(entry);
        if (again === 'stop') break;
        if (!conn.connected) break;
      }
    } while (pumpAgain);
  } finally {
    pumping = false;
  }
}

async function transmit(entry) {
  const conv = S.convs.get(entry.convKey);
  entry.state = 'sending';
  entry.tries++;
  if (!entry.sentAs) entry.sentAs = S.me;
  let cmd;
  if (entry.type === 'msg') cmd = { type: 'msg', to: conv.name, text: entry.text };
  else cmd = { type: entry.type, room: conv.name, text: entry.text, cid: entry.cid };
  let r;
  try {
    r = await conn.send(cmd);
  } catch (e) {
    if (!e || !e.offline) throw e;
    // Lost before the reply. A say/action is retried with the same cid; a
    // private message has no cid, so retrying could deliver it twice:
    // unless it never left, the user decides.
    if (entry.type === 'msg' && !e.notSent) {
      failEntry(entry, 'The connection was lost; this message may not have been delivered.');
    } else if (entry.state === 'sending') {
      entry.state = 'queued';
    }
    return 'stop';
  }
  if (r.type === 'ok') {
    ackEntry(entry, r);
    return 'ok';
  }
  if (r.code === 'rate-limited' && entry.tries < 6) {
    entry.state = 'queued';
    showError(r.message, 'info');
    await sleep(1000 * entry.tries);
    pumpAgain = true;
    return 'stop';
  }
  failEntry(entry, r.message || r.code);
  return 'failed';
}

function ackEntry(entry, r) {
  S.outbox.delete(entry.id);
  const conv = S.convs.get(entry.convKey);
  if (!conv) return;
  if (entry.type === 'msg') {
    if (entry.delivered) return;
    // The echo has not arrived yet (long-poll): show it as sent now, and
    // pair the echo with it when it comes.
    entry.el.classList.remove('pending', 'outbox');
    delete entry.el.dataset.pending;
    entry.el.removeAttribute('title');
    entry.el.dataset.provisional = 'true';
    mutate(conv, () => {
      entry.el.remove();
      appendLine(conv, entry.el);
    });
    S.pmSent.push({ key: conv.key, text: entry.text, el: entry.el, at: Date.now() });
    return;
  }
  if (entry.delivered) return;
  entry.state = 'done';
  const id = r.id;
  if (typeof id !== 'number' || conv.ids.has(id)) {
    mutate(conv, () => entry.el.remove());
    return;
  }
  const li = lineEl({
    kind: entry.type === 'action' ? 'action' : 'message', from: entry.sentAs || S.me, text: entry.text,
    ts: now(), id, room: conv.name,
  });
  li.dataset.provisional = 'true';
  li.dataset.cid = entry.cid;
  mutate(conv, () => {
    entry.el.remove();
    insertSorted(conv, li, id);
  });
  conv.ids.set(id, li);
  // Not bumpLastId: the reply can overtake other people's messages (over
  // long-poll it comes back on its own request), and a resume from this id
  // would skip them. The message's own event moves lastId when it comes.
}

function failEntry(entry, message) {
  entry.state = 'failed';
  S.outbox.delete(entry.id);
  const li = entry.el;
  li.classList.remove('pending');
  li.classList.add('failed');
  li.dataset.pending = 'failed';
  li.removeAttribute('title');
  const note = h('span', { class: 'fail-note' },
    h('span', { class: 'fail-text' }, `Not sent: ${message}`), ' ',
    h('button', { type: 'button', class: 'link-btn', dataset: { retry: entry.id } }, 'Retry'), ' ',
    h('button', { type: 'button', class: 'link-btn', dataset: { dismiss: entry.id } }, 'Dismiss'));
  li.append(note);
  li._entry = entry;
  showError(message);
}

function retryEntry(li) {
  const entry = li._entry;
  if (!entry) return;
  li.querySelector('.fail-note')?.remove();
  li.classList.remove('failed');
  li.classList.add('pending');
  li.dataset.pending = 'true';
  entry.state = 'queued';
  entry.tries = 0;
  delete entry.delivered;
  S.outbox.set(entry.id, entry);
  pump();
}

/** An echo of our own say/action (live or from history) settles its entry. */
function settleByEcho(conv, m) {
  if (!m.cid) return;
  const entry = S.outbox.get(m.cid);
  if (!entry || entry.convKey !== conv.key) return;
  entry.delivered = true;
  entry.state = 'done';
  S.outbox.delete(entry.id);
  entry.el.remove();
}

/** After a resume, a message we sent under another nick may be in the replay without its cid. */
function settleByReplay(conv, messages) {
  for (const entry of [...S.outbox.values()]) {
    if (entry.convKey !== conv.key || entry.tries === 0 || entry.state !== 'queued' || !entry.sentAs) continue;
    const hit = messages.find((m) => m.from && fold(m.from) === fold(entry.sentAs) && m.text === entry.text
      && m.type === (entry.type === 'action' ? 'action' : 'message') && (!m.cid || m.cid === entry.cid));
    if (hit) {
      entry.delivered = true;
      entry.state = 'done';
      S.outbox.delete(entry.id);
      entry.el.remove();
    }
  }
}

// ---------------------------------------------------------------- messages

/**
 * lastId is how far the room's event stream (live events and the join's
 * history, which the server sends in id order) has reached this page: a
 * resume asks for everything after it, so only that stream may move it.
 */
function bumpLastId(conv, id) {
  if (conv.lastId === null || id > conv.lastId) {
    conv.lastId = id;
    saveLastId(conv);
  }
}

function countUnread(conv, li, text, from) {
  if (isMine(from)) return;
  const mention = S.me && mentions(text, S.me);
  const visible = conv === currentConv() && !document.hidden;
  if (conv !== currentConv()) {
    conv.unread++;
    if (!conv.firstUnread) conv.firstUnread = li;
    if (mention || conv.kind === 'pm') conv.mention = true;
    renderSidebar();
  }
  if (!visible && document.hidden) {
    S.titleUnread++;
    updateTitle();
  }
}

/** Show one stored message (live, history or resume); dedupes by id. */
function addMessage(conv, m, { live }) {
  if (typeof m.id === 'number' && conv.ids.has(m.id)) {
    const existing = conv.ids.get(m.id);
    if (existing.dataset.provisional) {
      delete existing.dataset.provisional;
      const t = existing.querySelector('time');
      if (t) t.replaceWith(timeEl(m.ts));
      existing.dataset.ts = String(parseTs(m.ts).getTime());
    }
    bumpLastId(conv, m.id);
    settleByEcho(conv, m);
    return false;
  }
  settleByEcho(conv, m);
  const li = lineEl({ kind: m.type === 'action' ? 'action' : 'message', from: m.from, text: m.text, ts: m.ts, id: m.id, room: conv.name });
  if (typeof m.id === 'number') {
    insertSorted(conv, li, m.id);
    conv.ids.set(m.id, li);
    bumpLastId(conv, m.id);
  } else {
    appendLine(conv, li);
  }
  if (live) countUnread(conv, li, m.text, m.from);
  return true;
}

function convForRoom(name) {
  return name ? S.convs.get(roomKey(name)) : null;
}

function onMessage(ev) {
  const conv = convForRoom(ev.room);
  if (!conv) return;
  mutate(conv, () => addMessage(conv, ev, { live: true }), { live: true });
  trim(conv);
}

const MAX_LINES = 1500;

/** Keep a busy room's DOM bounded: drop the oldest lines while the reader is at the bottom. */
function trim(conv) {
  const lines = conv.list.children;
  if (lines.length <= MAX_LINES) return;
  const reading = conv === currentConv() ? atBottom() : conv.atBottom;
  if (!reading) return;
  let drop = lines.length - MAX_LINES + 200;
  mutate(conv, () => {
    for (let c = conv.list.firstElementChild; c && drop > 0;) {
      const next = c.nextElementSibling;
      if (c.classList.contains('gap') || c.classList.contains('outbox')) break;
      if (c.dataset.id) conv.ids.delete(Number(c.dataset.id));
      if (conv.firstUnread === c) conv.firstUnread = null;
      c.remove();
      drop--;
      c = next;
    }
    regroup(conv.list.firstElementChild);
  });
  conv.hasOlder = true;
  renderTop(conv);
}

function insertGap(conv, firstId, since) {
  const li = h('li', { class: 'gap', role: 'note' },
    h('span', { class: 'gap-text' }, 'Some messages were missed — '),
    h('button', { type: 'button', class: 'link-btn', dataset: { gap: '1' } }, 'load older'));
  li.dataset.testid = 'gap';
  li.dataset.before = String(firstId);
  li.dataset.after = String(since);
  li.dataset.sort = String(firstId - 0.5);
  insertSorted(conv, li, firstId - 0.5);
}

function onHistory(ev) {
  const ctx = ev.ref !== undefined ? S.refs.get(ev.ref) : null;
  if (ctx) S.refs.delete(ev.ref);
  const msgs = Array.isArray(ev.messages) ? ev.messages.filter((m) => m && typeof m === 'object') : [];
  const conv = convForRoom(ev.room) || (ctx && S.convs.get(ctx.key));
  if (!conv) return;

  if (ctx && ctx.kind === 'older') {
    conv.loadingOlder = false;
    mutate(conv, () => {
      for (const m of msgs) addMessage(conv, m, { live: false });
      applyCoverage(conv, ctx.before, msgs, ev.truncated);
    }, { older: true });
    conv.hasOlder = !!ev.truncated;
    renderTop(conv);
    return;
  }
  if (ctx && ctx.kind === 'gap') {
    ctx.el.classList.remove('loading');
    mutate(conv, () => {
      for (const m of msgs) addMessage(conv, m, { live: false });
      applyCoverage(conv, ctx.before, msgs, ev.truncated);
    }, { older: true });
    return;
  }
  if (ctx && ctx.kind === 'history') {
    let added = 0;
    mutate(conv, () => {
      for (const m of msgs) if (addMessage(conv, m, { live: false })) added++;
      applyCoverage(conv, Infinity, msgs, ev.truncated);
    }, { older: true });
    notice(conv, added
      ? [`Loaded ${added} earlier ${added === 1 ? 'message' : 'messages'} of `, iso(conv.name), '.']
      : `The last ${msgs.length} ${msgs.length === 1 ? 'message is' : 'messages are'} already shown.`, { icon: 'ℹ' });
    return;
  }

  // The history that follows our join: scrollback, or the replay after `since`.
  const since = conv.joinSince;
  const resumed = since !== undefined;
  if (resumed) settleByReplay(conv, msgs);
  mutate(conv, () => {
    if (resumed && ev.truncated && msgs.length && typeof msgs[0].id === 'number') insertGap(conv, msgs[0].id, since);
    for (const m of msgs) addMessage(conv, m, { live: resumed && !conv.freshView });
  }, { older: !resumed, live: resumed });
  if (!resumed) conv.hasOlder = !!ev.truncated;
  if (conv.lastId === null) {
    conv.lastId = 0;
    saveLastId(conv);
  }
  const waiters = conv.historyWaiters;
  conv.historyWaiters = [];
  for (const w of waiters) w();
  renderTop(conv);
  if (resumed && conv.freshView) {
    conv.freshView = false;
    // A reload: show some context above what was missed (unless the
    // replay was cut short: then the gap marker offers to page back).
    if (!ev.truncated) loadOlder(conv);
  }
}

/**
 * A history page asked with before=P covers every id from its first
 * message up to P (everything below P when not truncated). Shrink or close
 * the "missed messages" markers it fills.
 */
function applyCoverage(conv, before, msgs, truncated) {
  if (before === undefined || before === null) before = Infinity;
  const ids = msgs.map((m) => m.id).filter((id) => typeof id === 'number');
  const lo = ids.length ? Math.min(...ids) : before;
  for (const gap of [...conv.list.querySelectorAll(':scope > .gap')]) {
    const gBefore = Number(gap.dataset.before);
    const gAfter = Number(gap.dataset.after);
    if (before < gBefore) continue; // this page ends below the gap
    if (!truncated || lo <= gAfter + 1) {
      gap.remove();
    } else if (lo < gBefore) {
      gap.dataset.before = String(lo);
      gap.dataset.sort = String(lo - 0.5);
      gap.remove();
      insertSorted(conv, gap, lo - 0.5);
    }
  }
}

async function loadOlder(conv) {
  if (!conv || conv.kind !== 'room' || conv.loadingOlder) return;
  const first = conv.list.querySelector('.msg[data-id]');
  let before;
  if (first) before = Number(first.dataset.id);
  else if (conv.lastId !== null) before = conv.lastId + 1;
  const cmd = { type: 'history', room: conv.name, limit: 50 };
  if (before !== undefined) cmd.before = before;
  cmd.ref = refFor({ kind: 'older', key: conv.key, before });
  conv.loadingOlder = true;
  renderTop(conv);
  const r = await send(cmd);
  if (!r || r.type === 'error') {
    S.refs.delete(cmd.ref);
    conv.loadingOlder = false;
    renderTop(conv);
    if (r) showError(r.message);
    else offlineError();
  }
}

async function loadGap(conv, gap) {
  if (gap.classList.contains('loading')) return;
  gap.classList.add('loading');
  const before = Number(gap.dataset.before);
  const ref = refFor({ kind: 'gap', key: conv.key, el: gap, before });
  const r = await send({ type: 'history', room: conv.name, limit: S.limits.history || 200, before, ref });
  if (!r || r.type === 'error') {
    S.refs.delete(ref);
    gap.classList.remove('loading');
    if (r) showError(r.message);
    else offlineError();
  }
}

// ---------------------------------------------------------------- events

function handleEvent(ev) {
  try {
    dispatch(ev);
  } catch (e) {
    console.error('chatd: could not handle event', ev, e);
  }
}

function dispatch(ev) {
  switch (ev.type) {
    case 'message':
    case 'action':
      onMessage(ev);
      break;
    case 'history':
      onHistory(ev);
      break;
    case 'join':
      onJoin(ev);
      break;
    case 'part':
    case 'quit':
      onLeave(ev);
      break;
    case 'nick':
      onNick(ev);
      break;
    case 'topic':
      onTopic(ev);
      break;
    case 'members':
      onMembers(ev);
      break;
    case 'rooms':
      onRooms(ev);
      break;
    case 'private':
      onPrivate(ev);
      break;
    case 'notice':
      onNotice(ev);
      break;
    case 'shutdown':
      for (const c of S.signedIn ? [currentConv()] : []) {
        notice(c, `The server is going away: ${(ev.reason || 'shutdown').replace(/[.\s]+$/, '')}. Reconnecting by itself…`, { cls: 'warn', icon: '!' });
      }
      break;
    case 'error':
      if (ev.code === 'overflow') {
        notice(currentConv(), 'The connection fell behind; resynchronising…', { cls: 'warn', icon: '!' });
      } else {
        showError(ev.message || ev.code);
      }
      break;
    default:
      break;
  }
}

function onJoin(ev) {
  let conv = convForRoom(ev.room);
  if (isMe(ev.nick)) {
    if (!conv) {
      // The server's name folds differently than ours: adopt it.
      const pending = roomConvs().filter((c) => c.joining);
      if (pending.length === 1) {
        conv = pending[0];
        rekey(conv, ev.room);
      } else return;
    }
    conv.members.set(fold(ev.nick), ev.nick);
    if (!conv.joinedOnce) notice(conv, ['You joined ', iso(conv.name)], { ts: ev.ts, icon: '→', cls: 'presence' });
    return;
  }
  if (!conv) return;
  conv.members.set(fold(ev.nick), ev.nick);
  notice(conv, [iso(ev.nick), ' joined ', iso(conv.name)], { ts: ev.ts, icon: '→', cls: 'presence' });
  if (conv === currentConv()) renderMembers();
  if (conv.kind === 'room') updateDirectoryCount(conv.name, 1);
}

function onLeave(ev) {
  const conv = convForRoom(ev.room);
  if (isMe(ev.nick)) {
    if (conv && ev.type === 'part') {
      conv.joined = false;
      conv.synced = false;
      if (!conv.wanted) removeConv(conv);
      else renderSidebar();
    }
    return;
  }
  if (!conv) return;
  conv.members.delete(fold(ev.nick));
  const reason = () => (ev.reason ? [' (', iso(ev.reason), ')'] : []);
  const text = ev.type === 'part' ? [iso(ev.nick), ' left ', iso(conv.name), ...reason()] : [iso(ev.nick), ' quit', ...reason()];
  notice(conv, text, { ts: ev.ts, icon: '←', cls: 'presence' });
  if (conv === currentConv()) renderMembers();
  updateDirectoryCount(conv.name, -1);
  if (ev.type === 'quit') {
    const pm = S.convs.get(pmKey(ev.nick));
    if (pm && pm.lastQuitTs !== ev.ts) {
      pm.lastQuitTs = ev.ts;
      notice(pm, [iso(ev.nick), ' quit', ...reason()], { ts: ev.ts, icon: '←', cls: 'presence' });
    }
  }
}

function updateDirectoryCount(name, delta) {
  const row = S.directory.find((r) => r && r.name && roomKey(r.name) === roomKey(name));
  if (row && typeof row.members === 'number') row.members = Math.max(0, row.members + delta);
}

function onNick(ev) {
  const oldKey = fold(ev.old || '');
  const mine = isMine(ev.old) && (isMe(ev.old) || isMe(ev.new));
  if (mine) {
    if (!isMe(ev.new)) setMe(ev.new);
    for (const c of roomConvs()) {
      if (!c.joined) continue;
      c.members.delete(oldKey);
      c.members.set(fold(ev.new), ev.new);
      notice(c, ['You are now known as ', iso(ev.new)], { ts: ev.ts, icon: '✎', cls: 'presence' });
    }
    renderMembers();
    return;
  }
  for (const c of roomConvs()) {
    if (!c.members.has(oldKey)) continue;
    c.members.delete(oldKey);
    c.members.set(fold(ev.new), ev.new);
    notice(c, [iso(ev.old), ' is now known as ', iso(ev.new)], { ts: ev.ts, icon: '✎', cls: 'presence' });
  }
  const pm = S.convs.get(pmKey(ev.old));
  if (pm) {
    notice(pm, [iso(ev.old), ' is now known as ', iso(ev.new)], { ts: ev.ts, icon: '✎', cls: 'presence' });
    rekey(pm, ev.new);
    renderTop(pm);
  }
  renderMembers();
}

function onTopic(ev) {
  const ctx = ev.ref !== undefined ? S.refs.get(ev.ref) : null;
  if (ctx) {
    S.refs.delete(ev.ref);
    const target = (ctx.key && S.convs.get(ctx.key)) || currentConv();
    notice(target, ev.topic
      ? ['Topic of ', iso(ev.room), ': ', isoLinkified(ev.topic), ...(ev.nick ? [' (set by ', iso(ev.nick), ')'] : [])]
      : ['No topic is set for ', iso(ev.room), '.'], { icon: 'ℹ' });
    return;
  }
  const conv = convForRoom(ev.room);
  if (!conv) return;
  conv.topic = ev.topic || '';
  conv.topicBy = ev.nick || null;
  const who = ev.nick ? iso(ev.nick) : 'Someone';
  notice(conv, conv.topic ? [who, ' set the topic to: ', isoLinkified(conv.topic)] : [who, ' cleared the topic'],
    { ts: ev.ts, icon: '✎', cls: 'presence topic-change' });
  if (conv === currentConv()) renderHeader();
}

function onMembers(ev) {
  const ctx = ev.ref !== undefined ? S.refs.get(ev.ref) : null;
  if (ctx) S.refs.delete(ev.ref);
  const nicks = Array.isArray(ev.nicks) ? ev.nicks.filter((n) => typeof n === 'string') : [];
  const conv = convForRoom(ev.room);
  if (conv && (conv.joined || conv.joining)) {
    conv.members = new Map(nicks.map((n) => [fold(n), n]));
    if (typeof ev.topic === 'string' && !ctx) conv.topic = ev.topic;
    if (conv === currentConv()) renderHeader();
  }
  if (ctx) {
    const sorted = [...nicks].sort((a, b) => fold(a).localeCompare(fold(b)));
    const names = sorted.flatMap((n, i) => (i ? [', ', iso(n)] : [iso(n)]));
    block((ctx.key && S.convs.get(ctx.key)) || currentConv(), ['Members of ', iso(ev.room), ` (${nicks.length})`],
      [names.length ? h('span', null, names) : 'nobody']);
  }
}

function onRooms(ev) {
  const ctx = ev.ref !== undefined ? S.refs.get(ev.ref) : null;
  if (ctx) S.refs.delete(ev.ref);
  S.directory = Array.isArray(ev.rooms) ? ev.rooms : [];
  renderDirectory();
  if (ctx && ctx.kind === 'rooms') {
    const rows = S.directory.map((r) => {
      const row = h('span', null,
        h('button', { type: 'button', class: 'link-btn', dataset: { joinRoom: r.name } }, iso(r.name)),
        ` (${r.members}) `);
      if (r.topic) row.append(isoLinkified(r.topic, 'muted'));
      return row;
    });
    block(ctx.conv && S.convs.has(ctx.conv.key) ? ctx.conv : currentConv(),
      S.directory.length ? `Rooms (${S.directory.length})` : 'No rooms right now.', rows);
  }
}

function onPrivate(ev) {
  // From us: our nick, or one we had a moment ago (an echo in transit).
  const fromMe = isMe(ev.from) || (isMine(ev.from) && !isMe(ev.to));
  const peer = fromMe ? ev.to : ev.from;
  if (!peer) return;
  const conv = ensurePm(peer);
  if (conv.name !== peer) rekey(conv, peer);
  if (fromMe) {
    // Pair with the line we already show for it.
    const entry = [...S.outbox.values()].find((e) => e.type === 'msg' && e.convKey === conv.key
      && e.text === ev.text && (e.state === 'sending' || e.state === 'queued'));
    if (entry) {
      entry.delivered = true;
      S.outbox.delete(entry.id);
      mutate(conv, () => entry.el.remove());
    } else {
      S.pmSent = S.pmSent.filter((p) => Date.now() - p.at < 60000);
      const i = S.pmSent.findIndex((p) => p.key === conv.key && p.text === ev.text);
      if (i >= 0) {
        const p = S.pmSent.splice(i, 1)[0];
        delete p.el.dataset.provisional;
        p.el.querySelector('time')?.replaceWith(timeEl(ev.ts));
        return;
      }
    }
  }
  const li = lineEl({ kind: 'private', from: ev.from, text: ev.text, ts: ev.ts, pm: conv.name });
  mutate(conv, () => appendLine(conv, li), { live: true });
  countUnread(conv, li, ev.text, ev.from);
}

function onNotice(ev) {
  const key = `${ev.from || 'server'}: ${ev.text || ''}`;
  const last = S.lastNotice.get(key);
  if (last && Date.now() - last < 10 * 60 * 1000) return; // the MOTD again after a reconnect
  S.lastNotice.set(key, Date.now());
  notice(currentConv(), [iso(ev.from || 'server'), ': ', isoLinkified(ev.text || '')],
    { ts: ev.ts, icon: '★', cls: 'server-notice' });
}

// ---------------------------------------------------------------- composer

let errorTimer = null;

function showError(message, kind = 'error') {
  el.composerError.textContent = message;
  el.composerError.hidden = false;
  el.composerError.dataset.kind = kind;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(hideError, kind === 'info' ? 5000 : 12000);
}

function hideError() {
  el.composerError.hidden = true;
  el.composerError.textContent = '';
}

function setComposerEnabled() {
  const on = S.signedIn;
  el.message.disabled = !on;
  el.send.disabled = !on;
}

function autoGrow() {
  const t = el.message;
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 200)}px`;
}

function updateCharCount() {
  const n = charLength(el.message.value);
  const max = S.limits.message || 4000;
  el.charCount.textContent = n > max * 0.8 ? ` · ${n}/${max}` : '';
  el.charCount.classList.toggle('over', n > max);
}

function submitComposer() {
  const raw = el.message.value;
  if (!raw.trim()) return;
  hideError();
  const ok = runInput(raw);
  if (ok) {
    if (S.inputHistory[S.inputHistory.length - 1] !== raw) S.inputHistory.push(raw);
    if (S.inputHistory.length > 100) S.inputHistory.shift();
    S.historyPos = -1;
    el.message.value = '';
    autoGrow();
    updateCharCount();
  }
}

/** Run a line from the composer; false keeps the text (it was refused). */
function runInput(raw) {
  const p = parseInput(raw);
  if (p.kind === 'unknown') {
    showError(`Unknown command /${p.name}. Type /help for the list, or //text to send text starting with /.`);
    return false;
  }
  if (p.kind === 'text') return say(p.text, 'say');
  return runCommand(p.name, p.args);
}

function say(text, type, conv = currentConv()) {
  if (!text.trim()) {
    showError('There is nothing to send.');
    return false;
  }
  const problem = textProblem(text, S.limits.message);
  if (problem) {
    showError(problem);
    return false;
  }
  if (conv.kind === 'home') {
    showError('You are not in a room. Join one first: /join #room');
    return false;
  }
  if (conv.kind === 'pm') {
    if (type === 'action') {
      showError('/me works in rooms; in a private conversation just type.');
      return false;
    }
    queueSend(conv, 'msg', text);
    return true;
  }
  if (!conv.wanted) {
    showError(`You left ${conv.name}; /join ${conv.name} to talk there again.`);
    return false;
  }
  queueSend(conv, type, text);
  return true;
}

function needConnection() {
  if (conn.connected && !S.needNick) return true;
  offlineError();
  return false;
}

function runCommand(name, args) {
  const conv = currentConv();
  switch (name) {
    case 'help':
      block(conv, 'Commands', HELP.map(([c, d]) => h('span', null, h('code', null, c), ` — ${d}`)));
      return true;
    case 'join': {
      const [room] = firstWord(args);
      if (!room) {
        showError('Usage: /join #room');
        return false;
      }
      return userJoin(room);
    }
    case 'part': {
      const [first, rest] = firstWord(args);
      const reasonProblem = textProblem(first.startsWith('#') ? rest : args.trim(), 0, 'reason');
      if (reasonProblem) {
        showError(reasonProblem);
        return false;
      }
      if (first.startsWith('#')) {
        const target = convForRoom(first);
        if (!target) {
          showError(`You are not in ${first}.`);
          return false;
        }
        userPart(target, rest);
        return true;
      }
      if (conv.kind === 'home') {
        showError('You are not in a room.');
        return false;
      }
      userPart(conv, args.trim());
      return true;
    }
    case 'me':
      if (!args.trim()) {
        showError('Usage: /me does something');
        return false;
      }
      return say(args, 'action');
    case 'msg': {
      const [nick, text] = firstWord(args);
      if (!nick) {
        showError('Usage: /msg nick text');
        return false;
      }
      const problem = nickProblem(nick, S.limits.nick);
      if (problem) {
        showError(problem);
        return false;
      }
      if (text) {
        const tp = textProblem(text, S.limits.message);
        if (tp) {
          showError(tp);
          return false;
        }
      }
      const pm = ensurePm(nick);
      activate(pm.key);
      if (text) return say(text, 'say', pm);
      return true;
    }
    case 'nick': {
      const [nick, extra] = firstWord(args);
      if (!nick || extra) {
        showError(nick ? 'A nick cannot contain spaces.' : 'Usage: /nick newname');
        return false;
      }
      const problem = nickProblem(nick, S.limits.nick);
      if (problem) {
        showError(problem);
        return false;
      }
      if (!needConnection()) return false;
      changeNick(nick);
      return true;
    }
    case 'topic': {
      const [first, rest] = firstWord(args);
      let room;
      let text;
      if (first.startsWith('#')) {
        room = first;
        text = rest;
      } else {
        if (conv.kind !== 'room') {
          showError('Usage here: /topic #room [text]');
          return false;
        }
        room = conv.name;
        text = args.trim();
      }
      if (!needConnection()) return false;
      if (text) setTopic(room, text);
      else {
        send({ type: 'topic', room, ref: refFor({ kind: 'topic', key: conv.key }) }).then((r) => {
          if (r && r.type === 'error') showError(r.message);
        });
      }
      return true;
    }
    case 'who': {
      const [first] = firstWord(args);
      const room = first ? asRoom(first) : conv.kind === 'room' ? conv.name : null;
      if (!room) {
        showError('Usage here: /who #room');
        return false;
      }
      if (!needConnection()) return false;
      send({ type: 'who', room, ref: refFor({ kind: 'who', key: conv.key }) }).then((r) => {
        if (r && r.type === 'error') showError(r.message);
      });
      return true;
    }
    case 'rooms':
      if (!needConnection()) return false;
      refreshDirectory(true);
      return true;
    case 'history': {
      if (conv.kind !== 'room') {
        showError('/history works in rooms.');
        return false;
      }
      const n = args.trim() ? parseInt(args.trim(), 10) : 50;
      if (!Number.isFinite(n) || n < 1) {
        showError('Usage: /history [N], N a number of messages');
        return false;
      }
      if (!needConnection()) return false;
      const limit = Math.min(n, S.limits.history || 200);
      send({ type: 'history', room: conv.name, limit, ref: refFor({ kind: 'history', key: conv.key }) }).then((r) => {
        if (r && r.type === 'error') showError(r.message);
      });
      return true;
    }
    case 'quit':
      quit(args.trim());
      return true;
    default:
      showError(`Unknown command /${name}.`);
      return false;
  }
}

function userJoin(input) {
  const name = asRoom(input);
  const problem = roomProblem(name);
  if (problem) {
    showError(problem);
    return false;
  }
  let conv = convForRoom(name);
  if (conv && conv.wanted) {
    activate(conv.key);
    return true;
  }
  conv = ensureRoom(name);
  conv.wanted = true;
  saveRooms();
  activate(conv.key);
  if (conn.connected && !S.needNick && !S.syncing) joinRoom(conv);
  else if (!conn.connected) showError(`Offline: you will join ${name} when the connection is back.`, 'info');
  return true;
}

async function userPart(conv, reason) {
  if (conv.kind === 'pm') {
    removeConv(conv);
    return;
  }
  conv.wanted = false;
  saveRooms();
  const wasJoined = conv.joined || conv.joining;
  removeConv(conv);
  if (!wasJoined) return;
  const cmd = { type: 'part', room: conv.name };
  if (reason) cmd.reason = reason;
  const r = await send(cmd);
  if (r && r.type === 'error' && r.code !== 'not-in-room') showError(r.message);
  refreshDirectory();
}

async function changeNick(nick) {
  const r = await send({ type: 'nick', nick });
  if (!r) {
    offlineError();
    return;
  }
  if (r.type === 'error') {
    showError(r.message);
    return;
  }
  S.wantNick = nick;
  stopRegain();
  save(local, K_NICK, nick);
  if (!isMe(nick)) setMe(nick);
  else setMe(nick); // same folded nick, new spelling
}

async function setTopic(room, text) {
  const problem = textProblem(text, S.limits.topic, 'topic');
  if (problem) {
    showError(problem);
    return false;
  }
  const r = await send({ type: 'topic', room, topic: text });
  if (!r) {
    offlineError();
    return false;
  }
  if (r.type === 'error') {
    showError(r.message);
    return false;
  }
  return true;
}

function quit(reason) {
  stopRegain();
  conn.stop();
  S.signedIn = false;
  S.needNick = true;
  for (const c of roomConvs()) {
    c.joined = false;
    c.synced = false;
  }
  showLogin(reason ? `You left chatd (${reason}).` : 'You left chatd. Join again whenever you like.', 'info');
}

// ---------------------------------------------------------------- tab completion, input history

let completion = null;

function completeNick() {
  const t = el.message;
  const conv = currentConv();
  if (conv.kind === 'home') return false;
  const pos = t.selectionStart;
  if (pos !== t.selectionEnd) return false;
  if (completion && completion.pos === pos && completion.value === t.value) {
    completion.index = (completion.index + 1) % completion.options.length;
  } else {
    const before = t.value.slice(0, pos);
    const m = /(\S+)$/u.exec(before);
    if (!m) return false;
    const word = m[1];
    const pool = conv.kind === 'room' ? [...conv.members.values()] : [conv.name, S.me].filter(Boolean);
    const options = pool.filter((n) => fold(n).startsWith(fold(word)) && !isMe(n))
      .sort((a, b) => fold(a).localeCompare(fold(b)));
    if (!options.length) return false;
    completion = { start: pos - word.length, options, index: 0, atStart: pos - word.length === 0, end: pos };
  }
  const nick = completion.options[completion.index];
  const insert = nick + (completion.atStart ? ': ' : ' ');
  const tail = t.value.slice(completion.end);
  t.value = t.value.slice(0, completion.start) + insert + tail;
  const caret = completion.start + insert.length;
  t.setSelectionRange(caret, caret);
  completion.end = caret;
  completion.pos = caret;
  completion.value = t.value;
  return true;
}

function recall(dir) {
  const hist = S.inputHistory;
  if (!hist.length) return false;
  if (S.historyPos === -1) {
    if (dir > 0) return false;
    S.historyPos = hist.length;
    S.draft = el.message.value;
  }
  const next = S.historyPos + dir;
  if (next < 0) return true;
  if (next >= hist.length) {
    S.historyPos = -1;
    el.message.value = S.draft || '';
  } else {
    S.historyPos = next;
    el.message.value = hist[next];
  }
  const end = el.message.value.length;
  el.message.setSelectionRange(end, end);
  autoGrow();
  return true;
}

// ---------------------------------------------------------------- screens

function showLogin(message = '', kind = 'error') {
  S.signedIn = false;
  el.app.hidden = true;
  el.login.hidden = false;
  el.loginError.textContent = message;
  el.loginError.dataset.kind = kind;
  el.loginButton.disabled = false;
  if (S.wantNick) el.nick.value = S.wantNick;
  setComposerEnabled();
  renderStatus();
  setTimeout(() => {
    el.nick.focus();
    el.nick.select();
  }, 0);
}

function showApp() {
  const first = !S.signedIn;
  S.signedIn = true;
  el.login.hidden = true;
  el.app.hidden = false;
  el.loginButton.disabled = false;
  setComposerEnabled();
  renderStatus();
  if (first) {
    renderHeader();
    renderSidebar();
    if (!window.matchMedia('(pointer: coarse)').matches) el.message.focus();
  }
}

function startWithNick(nick, explicit) {
  S.wantNick = nick;
  S.explicitLogin = explicit;
  const state = conn.state.state;
  if (state === 'connected') {
    syncSession(S.sessionGen);
  } else if (state === 'idle' || state === 'offline') {
    conn.start();
  } else {
    conn.retryNow();
  }
}

function restoreConversations() {
  let rooms = load(local, K_ROOMS, null);
  if (!Array.isArray(rooms)) rooms = ['#lobby']; // first visit
  for (const name of rooms) {
    if (typeof name === 'string' && !roomProblem(name)) ensureRoom(name).wanted = true;
  }
  const active = load(session, K_ACTIVE, null);
  activate(active && S.convs.has(active) ? active : (roomConvs()[0] || {}).key);
}

// ---------------------------------------------------------------- sidebar, panels

function openSidebar() {
  el.app.classList.add('sidebar-open');
  el.backdrop.hidden = false;
  el.sidebarOpen.setAttribute('aria-expanded', 'true');
  const current = el.sidebar.querySelector('[aria-current="page"]') || el.sidebar.querySelector('button');
  if (current) current.focus();
}

function closeSidebar() {
  if (!el.app.classList.contains('sidebar-open')) return;
  el.app.classList.remove('sidebar-open');
  el.backdrop.hidden = true;
  el.sidebarOpen.setAttribute('aria-expanded', 'false');
}

const wide = window.matchMedia('(min-width: 1100px)');

function toggleMembers(force) {
  if (wide.matches) {
    const collapsed = force === undefined ? !el.app.classList.contains('members-collapsed') : !force;
    el.app.classList.toggle('members-collapsed', collapsed);
    el.membersToggle.setAttribute('aria-expanded', String(!collapsed));
  } else {
    const open = force === undefined ? !el.app.classList.contains('members-open') : force;
    el.app.classList.toggle('members-open', open);
    el.backdrop.hidden = !open && !el.app.classList.contains('sidebar-open');
    el.membersToggle.setAttribute('aria-expanded', String(open));
  }
}

function syncMembersToggle() {
  el.app.classList.remove('members-open');
  el.membersToggle.setAttribute('aria-expanded', String(wide.matches && !el.app.classList.contains('members-collapsed')));
}

// ---------------------------------------------------------------- wiring

function wire() {
  el.loginForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const nick = el.nick.value.trim();
    const problem = nickProblem(nick, S.limits.nick);
    if (problem) {
      el.loginError.textContent = problem;
      el.loginError.dataset.kind = 'error';
      el.nick.focus();
      return;
    }
    el.loginError.textContent = '';
    el.loginButton.disabled = true;
    setTimeout(() => { el.loginButton.disabled = false; }, 1500);
    startWithNick(nick, true);
  });

  el.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    submitComposer();
  });

  el.message.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      if (e.shiftKey || e.altKey) {
        showError('Messages are one line; line breaks cannot be sent.', 'info');
        return;
      }
      submitComposer();
      return;
    }
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      if (completeNick()) e.preventDefault();
      return;
    }
    completion = null;
    if (e.key === 'ArrowUp' && !e.shiftKey && !el.message.value.slice(0, el.message.selectionStart).includes('\n')
        && (el.message.value === '' || S.historyPos !== -1)) {
      if (recall(-1)) e.preventDefault();
    } else if (e.key === 'ArrowDown' && S.historyPos !== -1) {
      if (recall(1)) e.preventDefault();
    } else if (e.key === 'Escape') {
      hideError();
    }
  });

  el.message.addEventListener('input', () => {
    const v = el.message.value;
    if (/[\r\n\u2028\u2029]/.test(v)) {
      const pos = el.message.selectionStart;
      el.message.value = flattenLines(v);
      el.message.setSelectionRange(Math.min(pos, el.message.value.length), Math.min(pos, el.message.value.length));
      showError('Line breaks were replaced by spaces: a message is one line.', 'info');
    }
    autoGrow();
    updateCharCount();
  });

  // Clicks anywhere in the app, by data attribute.
  el.app.addEventListener('click', (e) => {
    const t = e.target.closest('button, a');
    if (!t || !el.app.contains(t)) return;
    const d = t.dataset;
    if (d.room) activate(roomKey(d.room));
    else if (d.pm) activate(pmKey(d.pm));
    else if (d.joinRoom) {
      userJoin(d.joinRoom);
    } else if (d.part) {
      const c = convForRoom(d.part);
      if (c) userPart(c, '');
    } else if (d.closePm) {
      const c = S.convs.get(pmKey(d.closePm));
      if (c) removeConv(c);
    } else if (d.member) {
      if (isMe(d.member)) {
        startNickChange();
        return;
      }
      const pm = ensurePm(d.member);
      if (!wide.matches) toggleMembers(false);
      activate(pm.key);
      el.message.focus();
    } else if (d.testid === 'load-older') {
      loadOlder(currentConv());
    } else if (d.gap) {
      loadGap(currentConv(), t.closest('.gap'));
    } else if (d.retry) {
      retryEntry(t.closest('li'));
    } else if (d.dismiss) {
      const li = t.closest('li');
      if (li) li.remove();
    }
  });

  el.joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = el.joinRoom.value.trim();
    if (!v) return;
    if (userJoin(v)) el.joinRoom.value = '';
  });

  el.me.addEventListener('click', startNickChange);
  el.quit.addEventListener('click', () => quit(''));
  el.retry.addEventListener('click', () => conn.retryNow());
  el.directoryRefresh.addEventListener('click', () => refreshDirectory());

  el.topicEdit.addEventListener('click', () => {
    const conv = currentConv();
    el.topicInput.value = conv.topic || '';
    el.topicInput.maxLength = S.limits.topic || 390;
    el.topicForm.hidden = false;
    el.topicInput.focus();
    el.topicInput.select();
  });
  el.topicCancel.addEventListener('click', () => {
    el.topicForm.hidden = true;
    el.topicEdit.focus();
  });
  el.topicInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      el.topicForm.hidden = true;
      el.topicEdit.focus();
    }
  });
  el.topicForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const conv = currentConv();
    if (conv.kind !== 'room') return;
    if (!needConnection()) return;
    const text = flattenLines(el.topicInput.value).trim();
    const ok = await setTopic(conv.name, text);
    if (ok) {
      el.topicForm.hidden = true;
      el.message.focus();
    }
  });

  el.sidebarOpen.addEventListener('click', openSidebar);
  el.sidebarClose.addEventListener('click', closeSidebar);
  el.backdrop.addEventListener('click', () => {
    closeSidebar();
    toggleMembers(false);
  });
  el.membersToggle.addEventListener('click', () => toggleMembers());
  el.membersClose.addEventListener('click', () => toggleMembers(false));
  wide.addEventListener('change', syncMembersToggle);

  el.jump.addEventListener('click', () => {
    scrollToBottom();
    el.message.focus();
  });
  // Page back by itself when the reader scrolls to the top (by wheel,
  // touch or keys; programmatic scrolling does not count).
  let userScrollAt = 0;
  const userScrolled = () => { userScrollAt = Date.now(); };
  el.log.addEventListener('wheel', userScrolled, { passive: true });
  el.log.addEventListener('touchmove', userScrolled, { passive: true });
  el.log.addEventListener('keydown', (e) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) userScrolled();
  });
  el.log.addEventListener('scroll', () => {
    const conv = currentConv();
    if (el.log.scrollTop !== autoScrollTop) conv.atBottom = atBottom();
    if (conv.atBottom) el.jump.hidden = true;
    if (Date.now() - userScrollAt < 1000 && el.log.scrollTop < 60 && conv.kind === 'room'
        && conv.hasOlder && !conv.loadingOlder && conn.connected) {
      loadOlder(conv);
    }
  }, { passive: true });

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      closeSidebar();
      if (!wide.matches) toggleMembers(false);
    }
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && S.signedIn) {
      e.preventDefault();
      const keys = [...el.sidebar.querySelectorAll('[data-room], [data-pm]')]
        .map((b) => (b.dataset.room ? roomKey(b.dataset.room) : pmKey(b.dataset.pm)));
      if (!keys.length) return;
      const i = keys.indexOf(S.active);
      const next = keys[(i + (e.key === 'ArrowUp' ? -1 : 1) + keys.length) % keys.length];
      activate(next);
      el.message.focus();
    }
  });

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) {
      S.titleUnread = 0;
      updateTitle();
      if (conn.state.state === 'reconnecting') conn.retryNow();
    }
  });
  window.addEventListener('online', () => conn.retryNow());
  window.addEventListener('pagehide', () => {
    // Leave cleanly: a long-poll session is DELETEd (fetch keepalive), a
    // WebSocket closed, so the nick is free for the next page at once.
    if (conn.running) {
      S.resumeOnShow = true;
      conn.stop();
    }
  });
  window.addEventListener('pageshow', (e) => {
    if (e.persisted && S.resumeOnShow && S.signedIn) {
      S.resumeOnShow = false;
      conn.start();
    }
  });
}

function startNickChange() {
  el.message.value = '/nick ';
  el.message.focus();
  const end = el.message.value.length;
  el.message.setSelectionRange(end, end);
}

// ---------------------------------------------------------------- start

function main() {
  S.home = makeConv('home', 'chatd');
  keepBottom.observe(el.log);
  wire();
  // Keep the room list fresh (the WebSocket heartbeat also refreshes it).
  setInterval(() => {
    if (!document.hidden && S.signedIn) refreshDirectory();
  }, 60000);
  syncMembersToggle();
  renderStatus();
  const nick = load(local, K_NICK, null);
  restoreConversations();
  if (typeof nick === 'string' && !nickProblem(nick)) {
    // A returning visitor: straight back in, resuming where the tab was.
    S.wantNick = nick;
    el.nick.value = nick;
    setMe(nick);
    S.myNicks.add(fold(nick));
    showApp();
    startWithNick(nick, false);
  } else {
    showLogin('');
  }
}

main();

// For debugging from the console; not an API.
window.chatd = { state: S, connection: conn };
