// One server session after another: take the nick (or a variant while the
// old connection still holds it), rejoin the rooms resuming each after its
// cursor, then send what the outbox holds.

import { renderHeader, renderSidebar, renderTop } from './chrome.js';
import { resetJoin, startJoin } from './conversation.js';
import { rekey, removeConv, saveRooms } from './convs.js';
import { iso } from './lines.js';
import { notice } from './log.js';
import { showError } from './panels.js';
import { renderStatus, showApp, showLogin, showMe } from './screens.js';
import { pump } from './sending.js';
import { currentConv, nickCandidates, refFor, roomConvs } from './state.js';

const JOIN_HISTORY_MS = 8000;
const REGAIN_MS = 15000;
const REGAIN_TRIES = 12;

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

/** Nick, then rooms (resuming with since), then the queued sends. */
async function syncSession(app, gen) {
  const { state } = app;
  if (state.syncing === gen) return;
  state.syncing = gen;
  const done = () => {
    if (state.syncing === gen) state.syncing = false;
  };
  try {
    if (state.needNick && !(await claimNick(app, gen))) return;
    if (gen !== state.sessionGen) return;
    state.explicitLogin = false;
    showApp(app);
    const rooms = roomConvs(state).filter((c) => c.wanted && !c.joined);
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

/** We have nick n (the wanted one, or a variant): say so where it matters. */
function tookNick(app, n, want) {
  const { state } = app;
  state.needNick = false;
  const prev = state.me;
  showMe(app, n);
  app.persist.setNick(want);
  if (n !== want) {
    notice(app, currentConv(state), ['The nick ', iso(want), ' is still taken (probably by your previous connection); you are ', iso(n),
      ' for now. chatd will switch back to ', iso(want), ' when it is free.'], { cls: 'warn', icon: '!' });
    startRegain(app);
  } else if (prev && prev !== n && state.signedIn) {
    notice(app, currentConv(state), ['You are ', iso(n), '.'], { icon: '✓' });
  }
}

/** Take the wanted nick (or a variant); false if the user must choose again. */
async function claimNick(app, gen) {
  const { state } = app;
  const want = state.wantNick;
  const tries = state.explicitLogin ? [want] : nickCandidates(want, state.limits.nick || 32);
  for (const n of tries) {
    const r = await app.conn.request({ type: 'nick', nick: n });
    if (gen !== state.sessionGen) return false;
    if (!r) return false; // offline: the next session tries again
    if (r.type === 'ok') {
      tookNick(app, n, want);
      return true;
    }
    if (r.code === 'nick-in-use' && !state.explicitLogin) continue;
    showLogin(app, r.message || 'That nick cannot be used.');
    return false;
  }
  showLogin(app, `The nick ${want} and its variants are taken; choose another.`);
  return false;
}

/** Every so often, try to take the wanted nick back from a stale connection. */
function startRegain(app) {
  const { state } = app;
  stopRegain(app);
  let tries = 0;
  state.regainTimer = setInterval(async () => {
    if (!app.conn.connected || state.syncing) return;
    if (!state.me || state.me === state.wantNick || ++tries > REGAIN_TRIES) {
      stopRegain(app);
      return;
    }
    const want = state.wantNick;
    const r = await app.conn.request({ type: 'nick', nick: want });
    if (r && r.type === 'ok') {
      showMe(app, want);
      stopRegain(app);
      notice(app, currentConv(state), ['You are ', iso(want), ' again.'], { icon: '✓' });
    }
  }, REGAIN_MS);
}

export function stopRegain(app) {
  clearInterval(app.state.regainTimer);
  app.state.regainTimer = null;
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
  const { state, conn } = app;
  state.wantNick = nick;
  state.explicitLogin = explicit;
  const now = conn.state.state;
  if (now === 'connected') syncSession(app, state.sessionGen);
  else if (now === 'idle' || now === 'offline') conn.start();
  else conn.retryNow();
}

export function quit(app, reason) {
  const { state } = app;
  stopRegain(app);
  app.conn.stop();
  state.signedIn = false;
  state.needNick = true;
  resetJoins(state);
  showLogin(app, reason ? `You left chatd (${reason}).` : 'You left chatd. Join again whenever you like.', 'info');
}
