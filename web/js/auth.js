// Who a new server session is, settled before it joins any room: the
// account this browser logged in to (with the stored token, resuming the
// private messages after the last one received), the account the sign-in
// form names (its password), a nick to register, or a guest nick (the
// wanted one, or a variant while an old connection still holds it).
// docs/accounts.md; the server answers a login with the account's nick, and
// gives a second connection of the user the rooms the first is in.

import { iso } from './lines.js';
import { notice } from './log.js';
import { releaseHeld } from './privmsg.js';
import { privateSince, resetPrivates } from './privates.js';
import { askMarker, forgetMarkers } from './readui.js';
import { renderAccount, showLogin, showMe } from './screens.js';
import { currentConv, nickCandidates, refFor, roomConvs } from './state.js';
import { fold } from './text.js';

const REGAIN_MS = 15000;
const REGAIN_TRIES = 12;

/**
 * Refusals that say nothing against the stored token (the server could not
 * check it now, or not over this connection): it is kept. Any other
 * refusal (bad-password: unknown, expired or revoked) forgets it.
 */
const PASSING = new Set(['unavailable', 'internal', 'too-many-attempts', 'insecure']);

/** Settle who this session is; false if the user must act (the sign-in form says why). */
export async function authenticate(app, gen) {
  const { state } = app;
  const auth = state.auth;
  if (auth && auth.kind === 'login') return passwordLogin(app, gen, auth);
  const stored = auth ? null : app.persist.login();
  if (stored) return tokenLogin(app, gen, stored);
  if (auth && auth.kind === 'register') return register(app, gen, auth);
  return claimNick(app, gen);
}

/** Send a login command; null when the session changed or went away meanwhile. */
async function loginRequest(app, gen, cmd) {
  const { state } = app;
  const since = privateSince(state);
  if (since !== undefined) cmd.since = since;
  state.heldPrivates = [];
  state.authenticating = true;
  try {
    const r = await app.conn.request(cmd);
    return gen === state.sessionGen ? r : null;
  } finally {
    state.authenticating = false;
  }
}

async function tokenLogin(app, gen, stored) {
  const { state } = app;
  // The nick this page had (or the user typed in the guest form): the
  // server answers with the account's name, or the nick of the account's
  // other connections; the page keeps its own, as a guest's reconnect does.
  const want = state.wantNick;
  const r = await loginRequest(app, gen, { type: 'login', token: stored.token });
  if (!r) return false; // offline: the next session tries again
  if (r.type === 'ok') {
    adoptLogin(app, r, stored.token, false);
    if (want && fold(want) !== fold(state.me || '')) await renameTo(app, gen, want);
    return true;
  }
  app.state.heldPrivates = [];
  if (!PASSING.has(r.code)) forgetLogin(app);
  app.state.wantNick = stored.account;
  showLogin(app, `You are no longer logged in as ${stored.account}: ${r.message}`, 'error', 'account');
  return false;
}

async function passwordLogin(app, gen, auth) {
  const { state } = app;
  if (state.account && fold(state.account) !== fold(auth.account || '')) resetPrivates(state);
  const r = await loginRequest(app, gen, { type: 'login', account: auth.account, password: auth.password });
  if (!r) return false;
  state.auth = null;
  if (r.type !== 'ok') {
    state.heldPrivates = [];
    showLogin(app, r.message, 'error', 'account');
    return false;
  }
  adoptLogin(app, r, r.token, true);
  return true;
}

/** Take the nick (if the session has another), then register it. */
async function register(app, gen, auth) {
  const { state } = app;
  state.wantNick = auth.nick;
  state.explicitLogin = true;
  if ((state.needNick || state.me !== auth.nick) && !(await claimNick(app, gen, 'account'))) {
    state.auth = null;
    return false;
  }
  const cmd = { type: 'register', password: auth.password };
  if (auth.email) cmd.email = auth.email;
  const r = await app.conn.request(cmd);
  if (!r || gen !== state.sessionGen) return false;
  state.auth = null;
  if (r.type !== 'ok') {
    showLogin(app, r.message, 'error', 'account');
    return false;
  }
  adoptLogin(app, r, r.token, true);
  return true;
}

/**
 * The server logged us in (ok: account, nick, token): keep the token for
 * the next connection and the other tabs, take the account's nick, and
 * draw the private messages that came before the ok.
 */
export function adoptLogin(app, r, token, announce) {
  const { state } = app;
  if (state.account && fold(state.account) !== fold(r.account)) {
    resetPrivates(state);
    forgetMarkers(app);
  }
  state.account = r.account;
  if (token) app.persist.setLogin({ account: r.account, token });
  const nick = r.nick || r.account;
  state.wantNick = nick;
  tookNick(app, nick, nick);
  renderAccount(app);
  releaseHeld(app);
  // Rooms the server put us in before this answer came: where the account left off in each.
  for (const conv of roomConvs(state)) if (conv.joined || conv.joining) askMarker(app, conv);
  if (announce) notice(app, currentConv(state), ['You are logged in as ', iso(r.account), '.'], { icon: '✓' });
  // Whether the account is a server operator (may moderate anywhere).
  const learn = (ev) => {
    state.serverOperator = ev.operator === true && !!state.account;
    renderAccount(app);
  };
  app.conn.request({ type: 'whois', nick, ref: refFor(state, { kind: 'self', resolve: learn }) });
}

/** Take nick as well as the account (its refusal shows; the account's nick stays). */
async function renameTo(app, gen, nick) {
  const r = await app.conn.request({ type: 'nick', nick });
  if (!r || gen !== app.state.sessionGen) return;
  if (r.type === 'error') {
    notice(app, currentConv(app.state), ['You are still ', iso(app.state.me), ': ', r.message], { cls: 'warn', icon: '!' });
    return;
  }
  app.state.wantNick = nick;
  tookNick(app, nick, nick);
}

/** Forget the stored login and the account (a logout, or a token the server refused). */
export function forgetLogin(app) {
  const { state } = app;
  app.persist.setLogin(null);
  state.account = null;
  state.serverOperator = false;
  resetPrivates(state);
  forgetMarkers(app);
  renderAccount(app);
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

/** Take the wanted nick (or a variant); false if the user must choose again (said on the form named). */
async function claimNick(app, gen, form = 'nick') {
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
    showLogin(app, r.message || 'That nick cannot be used.', 'error', form);
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
