// Drawing everything around the log: the sidebar's rooms, private
// conversations and directory, the header and topic, the members, the
// title, the connection status, and the top of each log.

import { byRank, markRead, mayModerate, roleOf } from './conversation.js';
import { h, syncList } from './dom.js';
import { iso, isoLinkified, isoText } from './lines.js';
import { atBottom, scrollToBottom } from './log.js';
import { BADGES } from './modtext.js';
import { closeSidebar, setComposerEnabled } from './panels.js';
import { askPeer, renderPeerPanel } from './peerui.js';
import { showLine } from './readui.js';
import { renderReplyBar } from './replyui.js';
import { currentConv, isMe, roomConvs, roomKey } from './state.js';
import { fold, nickClass } from './text.js';
import { composerDone, renderTyping } from './typingui.js';

/** The top of a log: the start of a room, or the button that pages back. */
export function renderTop(conv) {
  const top = conv.view.top;
  if (conv.kind === 'home') {
    top.replaceChildren(h('div', { class: 'empty' },
      h('p', { class: 'empty-title' }, 'You are not in any room.'),
      h('p', null, 'Join one from the list, or type ', h('code', null, '/join #room'), '.'),
      h('button', { type: 'button', class: 'btn btn-primary', dataset: { joinRoom: '#lobby' } }, 'Join #lobby')));
    return;
  }
  if (conv.kind === 'pm') {
    top.replaceChildren(h('p', { class: 'log-begin' },
      'Private conversation with ', iso(conv.name), '. Between two logged-in accounts the server keeps it and gives it back'
      + ' at the next login; otherwise it lives only in this page.'));
    return;
  }
  // One persistent button, updated in place (disabled while loading) and
  // never detached while it is wanted, so a click never misses it.
  const btn = conv.view.olderBtn;
  for (const c of [...top.children]) if (c !== btn) c.remove();
  const atStart = conv.hasOlder === false && !conv.loadingOlder;
  const wantBtn = !atStart && (conv.loadingOlder || conv.joined || conv.ids.size > 0);
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

function markCurrent(btn, current) {
  if (current) btn.setAttribute('aria-current', 'page');
  else btn.removeAttribute('aria-current');
}

function convItem(lead, closeTitle) {
  const btn = h('button', { type: 'button', class: 'conv-btn' }, lead, h('bdi', { class: 'name' }), h('span', { class: 'badge' }));
  const close = h('button', { type: 'button', class: 'conv-close', title: closeTitle }, '×');
  return h('li', { class: 'conv-item' }, btn, close);
}

function showUnread(btn, unread, text) {
  btn.dataset.unread = String(unread);
  const badge = btn.querySelector('.badge');
  badge.textContent = unread ? text : '';
  badge.hidden = !unread;
  btn.classList.toggle('unread', unread > 0);
}

function renderRoomList(app) {
  const { state } = app;
  const rooms = roomConvs(state).filter((c) => c.wanted || c.joined || c.outcast);
  syncList(app.el.rooms, rooms, (c) => c.key, () => convItem(h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'), 'Leave'), (li, c) => {
    const [btn, close] = li.children;
    btn.dataset.room = c.name;
    btn.querySelector('.name').textContent = c.name.replace(/^#/, '');
    showUnread(btn, c.unread, c.unread > 99 ? '99+' : String(c.unread));
    btn.classList.toggle('mention', c.mention);
    btn.classList.toggle('joining', !c.joined);
    btn.classList.toggle('outcast', c.outcast && !c.joined);
    markCurrent(btn, c.key === state.active);
    const how = c.joined ? '' : c.outcast ? ', put out' : ', joining';
    btn.setAttribute('aria-label', `${c.name}${c.unread ? `, ${c.unread} unread` : ''}${how}`);
    close.setAttribute('aria-label', `Leave ${c.name}`);
    close.dataset.part = c.name;
  });
}

function renderPmList(app) {
  const { state } = app;
  const pms = [...state.convs.values()].filter((c) => c.kind === 'pm');
  syncList(app.el.pms, pms, (c) => c.key, () => convItem(h('span', { class: 'avatar-mini', 'aria-hidden': 'true' }), 'Close'), (li, c) => {
    const [btn, close] = li.children;
    btn.dataset.pm = c.name;
    btn.querySelector('.avatar-mini').className = `avatar-mini ${nickClass(c.name)}`;
    btn.querySelector('.name').textContent = c.name;
    showUnread(btn, c.unread, String(c.unread));
    btn.classList.toggle('mention', c.unread > 0);
    markCurrent(btn, c.key === state.active);
    btn.setAttribute('aria-label', `Private conversation with ${c.name}${c.unread ? `, ${c.unread} unread` : ''}`);
    close.setAttribute('aria-label', `Close the conversation with ${c.name}`);
    close.dataset.closePm = c.name;
  });
  app.el.pmsEmpty.hidden = pms.length > 0;
}

export function renderSidebar(app) {
  renderRoomList(app);
  renderPmList(app);
  renderDirectory(app);
  const others = [...app.state.convs.values()].filter((c) => c.key !== app.state.active);
  app.el.menuBadge.hidden = !others.some((c) => c.unread > 0);
  updateTitle(app);
}

export function renderDirectory(app) {
  const { state, el } = app;
  const joined = new Set(roomConvs(state).filter((c) => c.wanted || c.joined || c.outcast).map((c) => c.key));
  const rows = state.directory.filter((r) => r && typeof r.name === 'string' && !joined.has(roomKey(r.name)));
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

function renderRoomTopic(el, conv) {
  el.topic.replaceChildren();
  if (conv.topic) {
    el.topic.append(isoLinkified(conv.topic));
    el.topic.classList.remove('muted');
    el.topic.title = conv.topicBy ? `${isoText(conv.topic)} (set by ${isoText(conv.topicBy)})` : isoText(conv.topic);
  } else {
    el.topic.textContent = conv.joined ? 'No topic set' : conv.outcast ? 'You were put out of this room' : 'Joining…';
    el.topic.classList.add('muted');
    el.topic.removeAttribute('title');
  }
}

export function renderHeader(app) {
  const { el } = app;
  const conv = currentConv(app.state);
  el.topicForm.hidden = true;
  if (conv.kind === 'home') {
    el.title.textContent = 'chatd';
    el.topic.replaceChildren('Welcome. Join a room to start.');
  } else {
    el.title.replaceChildren(iso(conv.name));
  }
  if (conv.kind === 'pm') el.topic.replaceChildren('Private conversation with ', iso(conv.name));
  if (conv.kind === 'room') renderRoomTopic(el, conv);
  else el.topic.classList.add('muted');
  el.topicEdit.hidden = conv.kind !== 'room' || !conv.joined;
  el.membersToggle.hidden = conv.kind === 'home';
  el.messageLabel.textContent = conv.kind === 'home' ? 'Message' : `Message ${conv.name}`;
  el.message.placeholder = conv.kind === 'home' ? 'Type /join #room' : `Message ${isoText(conv.name)}`;
  renderMembers(app);
}

const ROLE_TITLES = { founder: 'founder of the room', operator: 'operator', voice: 'has voice' };

/** The members of the room shown, founder and operators first, each with its badge and menu. */
export function renderMembers(app) {
  const { state, el } = app;
  const conv = currentConv(state);
  const nicks = conv.kind === 'room' ? byRank(conv, conv.members.values()) : [];
  el.memberCount.textContent = conv.kind === 'room' && conv.members.size ? String(conv.members.size) : '';
  el.membersPanel.classList.toggle('empty-panel', conv.kind === 'home');
  if (conv.kind === 'pm') {
    // A private conversation: the other person, online or not, away or not.
    renderPeerPanel(app, conv);
    return;
  }
  // Delete buttons on other people's lines show for operators (accounts.css).
  conv.view.el.classList.toggle('can-moderate', mayModerate(conv, state.me, state.serverOperator));
  syncList(el.members, nicks, (n) => fold(n), () => h('li', { class: 'member-row' },
    h('button', { type: 'button', class: 'member' },
      h('span', { class: 'avatar-mini', 'aria-hidden': 'true' }),
      h('span', { class: 'role-badge' }),
      h('bdi', { class: 'member-name' }),
      h('span', { class: 'you' })),
    h('button', { type: 'button', class: 'member-more', 'aria-haspopup': 'menu' }, '⋯')), (li, n) => {
    const role = roleOf(conv, n);
    li.dataset.nick = n;
    li.dataset.role = role || 'member';
    const [btn, more] = li.children;
    btn.dataset.member = n;
    btn.querySelector('.avatar-mini').className = `avatar-mini ${nickClass(n)}`;
    const badge = btn.querySelector('.role-badge');
    badge.textContent = BADGES[role] || '';
    badge.title = role ? ROLE_TITLES[role] : '';
    btn.querySelector('.member-name').textContent = n;
    const mine = isMe(state, n);
    btn.querySelector('.you').textContent = mine ? '(you)' : '';
    li.classList.toggle('is-me', mine);
    btn.title = `${mine ? 'You' : `Talk privately with ${isoText(n)}`}${role ? ` (${ROLE_TITLES[role]})` : ''}`;
    more.dataset.memberMenu = n;
    more.setAttribute('aria-label', `Actions for ${isoText(n)}`);
    more.title = `Actions for ${isoText(n)}`;
  });
}

export function updateTitle(app) {
  const conv = currentConv(app.state);
  const base = conv.kind === 'home' ? 'chatd' : `${isoText(conv.name)} · chatd`;
  document.title = app.state.titleUnread ? `(${app.state.titleUnread}) ${base}` : base;
}

/** Show the conversation with this key (home for null or an unknown key). */
export function activate(app, key) {
  const { state, el } = app;
  const prev = currentConv(state);
  if (prev) {
    prev.view.atBottom = prev.view.atBottom || atBottom(app);
    prev.view.scrollTop = el.log.scrollTop;
    if (prev.view.firstUnread) prev.view.firstUnread.classList.remove('first-unread');
    prev.view.firstUnread = null;
  }
  const conv = (key && state.convs.get(key)) || state.home;
  if (conv !== prev) composerDone(app); // typing there is over
  state.active = conv === state.home ? null : conv.key;
  app.persist.setActive(state.active);
  if (conv.unread && conv.view.firstUnread) conv.view.firstUnread.classList.add('first-unread');
  markRead(conv);
  // Swapping conversations is not news: keep the live region quiet.
  el.log.setAttribute('aria-busy', 'true');
  if (prev) app.ui.keepBottom.unobserve(prev.view.el);
  el.log.replaceChildren(conv.view.el);
  app.ui.keepBottom.observe(conv.view.el);
  requestAnimationFrame(() => el.log.removeAttribute('aria-busy'));
  if (conv.view.atBottom || conv.view.scrollTop < 0) scrollToBottom(app);
  else el.log.scrollTop = conv.view.scrollTop;
  el.jump.hidden = true;
  showLine(app, conv);
  renderHeader(app);
  renderSidebar(app);
  closeSidebar(app);
  setComposerEnabled(app);
  renderTyping(app);
  renderReplyBar(app);
  if (conv.kind === 'pm') askPeer(app, conv.name);
}
