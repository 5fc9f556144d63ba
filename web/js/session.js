// One server session after another: log in to the account (or take the
// nick, or a variant while the old connection still holds it: auth.js),
// rejoin the rooms resuming each after its cursor, then send what the
// outbox holds.

import { authenticate, stopRegain } from './auth.js';
import { renderHeader, renderSidebar, renderTop } from './chrome.js';
import { resetJoin, startJoin } from './conversation.js';
import { rekey, removeConv, saveRooms } from './convs.js';
import { iso } from './lines.js';
import { notice } from './log.js';
import { showError } from './panels.js';
import { renderStatus, showApp, showLogin } from './screens.js';
import { pump } from './sending.js';
import { currentConv, refFor, roomConvs } from './state.js';

const JOIN_HISTORY_MS = 8000;

function resetJoins(state) {
  for (const c of roomConvs(state)) resetJoin(c);
}

/** The Connection's state changed. */
export function handleState(app, st) {
  const { state } = app;
  state.connState = st;
  renderStatus(app);
  if (st.state === 'connected' && st.resumed) pump(app);
  if (st.state !== 'connected' && !st.sameSession) {
    resetJoins(state);
    if (state.signedIn) {
      renderSidebar(app);
      renderHeader(app);
    }
  }
}

/** A new server session (its welcome): nothing of the last one holds. */
export async function handleSession(app, welcome) {
  const { state } = app;
  const gen = ++state.sessionGen;
  if (welcome && welcome.limits) state.limits = { ...state.limits, ...welcome.limits };
  state.needNick = true;
  resetJoins(state);
  await syncSession(app, gen);
}

/** Who we are, then rooms (resuming with since), then the queued sends. */
async function syncSession(app, gen) {
  const { state } = app;
  if (state.syncing === gen) return;
  state.syncing = gen;
  const done = () => {
    if (state.syncing === gen) state.syncing = false;
  };
  try {
    if ((state.needNick || state.auth) && !(await authenticate(app, gen))) return;
    if (gen !== state.sessionGen) return;
    state.explicitLogin = false;
    showApp(app);
    // Rooms the server put us in (the account's, on its other connections) are joining already.
    const rooms = roomConvs(state).filter((c) => c.wanted && !c.joined && !c.joining);
    done();
    pump(app);
    await Promise.all(rooms.map((c) => joinRoom(app, c, gen)));
    if (gen !== state.sessionGen) return;
    refreshDirectory(app);
  } finally {
    done();
  }
  pump(app);
}

/** Resolves when the history that answers conv's join has been drawn, or after ms. */
function waitHistory(conv, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    conv.historyWaiters.push(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** The server refused our join: say why, and stop wanting the room. */
function joinRefused(app, conv, r) {
  conv.joining = false;
  conv.historyWaiters = [];
  showError(app, r.message);
  notice(app, conv, ['Could not join ', iso(conv.name), `: ${r.message}`], { cls: 'error', icon: '!' });
  conv.wanted = false;
  saveRooms(app);
  if (!conv.view.list.querySelector('.msg')) removeConv(app, conv);
  else renderSidebar(app);
}

export async function joinRoom(app, conv, gen = app.state.sessionGen) {
  const { state } = app;
  if (conv.joining || conv.joined) return;
  const cmd = startJoin(conv);
  renderSidebar(app);
  const hist = waitHistory(conv, JOIN_HISTORY_MS);
  const r = await app.conn.request(cmd);
  if (gen !== state.sessionGen || !state.convs.has(conv.key)) return;
  if (!r) {
    conv.joining = false;
    return;
  }
  if (r.type === 'error') {
    joinRefused(app, conv, r);
    return;
  }
  if (r.room && r.room !== conv.name) rekey(app, conv, r.room);
  conv.joined = true;
  conv.outcast = false;
  saveRooms(app);
  if (conv.key === state.active) renderHeader(app);
  await hist;
  if (gen !== state.sessionGen) return;
  conv.joining = false;
  conv.synced = true;
  conv.joinedOnce = true;
  renderTop(conv);
  renderSidebar(app);
  pump(app);
}

/** Ask for the room list (show: as a block in the log, for /rooms). */
export function refreshDirectory(app, show = false) {
  if (!app.conn.connected) return;
  const cmd = { type: 'rooms' };
  if (show) cmd.ref = refFor(app.state, { kind: 'rooms', conv: currentConv(app.state) });
  app.conn.request(cmd).then((r) => {
    if (r && r.type === 'error' && show) showError(app, r.message);
  });
}

/** Sign in as nick (explicit: typed in the form, so no variants). */
export function startWithNick(app, nick, explicit) {
  const { state } = app;
  if (state.me !== nick) state.needNick = true; // the session holds another nick (a refused registration's)
  state.wantNick = nick;
  state.explicitLogin = explicit;
  startSession(app);
}

/** Connect, or settle who the connected session is (state.auth, the stored login, the nick). */
export function startSession(app) {
  const { state, conn } = app;
  const now = conn.state.state;
  if (now === 'connected') syncSession(app, state.sessionGen);
  else if (now === 'idle' || now === 'offline') conn.start();
  else conn.retryNow();
}

/** Leave chatd: the connection ends, the sign-in form shows (saying message, if given). */
export function quit(app, reason, message = null) {
  const { state } = app;
  stopRegain(app);
  app.conn.stop();
  state.signedIn = false;
  state.needNick = true;
  resetJoins(state);
  showLogin(app, message || (reason ? `You left chatd (${reason}).` : 'You left chatd. Join again whenever you like.'), 'info');
}

/** A new server session in place of this one (it logs in first, then rejoins the rooms). */
export function restartSession(app) {
  app.conn.stop();
  app.conn.start();
}
