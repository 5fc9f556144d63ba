// chatd browser client: the entry point (index.html loads this module).
// Protocol: docs/protocol.md.
//
// Everything the page knows is in one store (state.js), passed to every
// function with the elements, the connection and storage as one `app`.
// The state logic (conversation.js, outbox.js, state.js) has no DOM and is
// unit-tested under Node (tests/web/client/).
//
// Rendering rule: user data reaches the DOM only through textContent,
// text nodes and checked attributes (see dom.js, text.js).

import { activate } from './chrome.js';
import { Connection } from './connection.js';
import { attachView, ensureRoom } from './convs.js';
import { handleEvent } from './events.js';
import { keepAtBottom } from './log.js';
import { syncMembersToggle } from './panels.js';
import { Persist, browserStorage } from './persist.js';
import { restoreAlerts } from './notify.js';
import { renderAccount, renderStatus, showApp, showLogin, showMe } from './screens.js';
import { handleSession, handleState, refreshDirectory, startWithNick } from './session.js';
import { createState, roomConvs } from './state.js';
import { nickProblem, roomProblem } from './text.js';
import { TypingSender } from './typing.js';
import { wire } from './wire.js';

const DIRECTORY_REFRESH_MS = 60000;

/** The page's elements, by what they are. */
function findElements() {
  const $ = (id) => document.getElementById(id);
  return {
    login: $('login'), loginForm: $('login-form'), nick: $('nick'), loginError: $('login-error'),
    loginStatus: $('login-status'), loginButton: $('login-button'), loginBack: $('login-back'),
    accountForm: $('account-form'), account: $('account'), password: $('password'), email: $('email'),
    accountError: $('account-error'), accountLogin: $('account-login'), accountRegister: $('account-register'),
    accountState: $('account-state'), accountOpen: $('account-open'), logout: $('logout'), notify: $('notify'),
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
    replyBar: $('reply-bar'), typing: $('typing'),
    charCount: $('char-count'), messageLabel: $('message-label'),
    sidebarOpen: $('sidebar-open'), sidebarClose: $('sidebar-close'), menuBadge: $('menu-badge'),
    directoryRefresh: $('directory-refresh'),
  };
}

/** ?transport=longpoll or =websocket forces one; otherwise WebSocket with long-poll as fallback. */
function transportMode() {
  const forced = (new URLSearchParams(window.location.search).get('transport') || '').toLowerCase();
  return forced === 'longpoll' || forced === 'websocket' ? forced : 'auto';
}

function createApp() {
  const app = {
    state: createState(),
    el: findElements(),
    persist: new Persist(browserStorage('localStorage'), browserStorage('sessionStorage')),
    ui: {
      autoScrollTop: -1, errorTimer: null, statusTimer: null, completion: null, memberMenu: null, backToChat: false,
      wide: window.matchMedia('(min-width: 1100px)'),
      keepBottom: null,
      picker: null, // the reaction picker open on a line (reactui.js)
      typing: new TypingSender(), typingIdle: null, typingTimer: null, typingRetry: null, // typingui.js
      readTimer: null, // readui.js
    },
    conn: null,
  };
  app.ui.keepBottom = keepAtBottom(app);
  app.conn = new Connection({ mode: transportMode() }, {
    onEvent: (ev) => handleEvent(app, ev),
    onState: (st) => handleState(app, st),
    onSession: (welcome) => handleSession(app, welcome),
  });
  return app;
}

/** The rooms of the last visit (#lobby on the first), and the conversation the tab showed. */
function restoreConversations(app) {
  let rooms = app.persist.rooms();
  if (!Array.isArray(rooms)) rooms = ['#lobby']; // first visit
  for (const name of rooms) {
    if (typeof name === 'string' && !roomProblem(name)) ensureRoom(app, name).wanted = true;
  }
  const active = app.persist.active();
  activate(app, active && app.state.convs.has(active) ? active : (roomConvs(app.state)[0] || {}).key);
}

function main() {
  const app = createApp();
  const { state, el } = app;
  attachView(state.home);
  app.ui.keepBottom.observe(el.log);
  wire(app);
  // Keep the room list fresh (the WebSocket heartbeat also refreshes it).
  setInterval(() => {
    if (!document.hidden && state.signedIn) refreshDirectory(app);
  }, DIRECTORY_REFRESH_MS);
  syncMembersToggle(app);
  renderStatus(app);
  renderAccount(app);
  restoreAlerts(app);
  const login = app.persist.login();
  const stored = app.persist.nick();
  const nick = typeof stored === 'string' && !nickProblem(stored) ? stored : login && login.account;
  restoreConversations(app);
  if (nick) {
    // A returning visitor: straight back in (logged in again with the
    // token, if there is one), resuming where the tab was.
    state.wantNick = nick;
    el.nick.value = nick;
    showMe(app, nick);
    showApp(app);
    startWithNick(app, nick, false);
  } else {
    showLogin(app, '');
  }
  // For debugging from the console; not an API.
  window.chatd = { state, connection: app.conn };
}

main();
