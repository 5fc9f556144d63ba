// The sign-in screen's two forms (a guest nick, or an account: log in or
// register), the account bar in the sidebar, and the other tabs: a login
// or logout in one is a login or logout in all (they share local storage,
// where the token is kept).

import { forgetLogin } from './auth.js';
import { liveLogin, logout } from './modslash.js';
import { K_LOGIN } from './persist.js';
import { showApp, showLogin } from './screens.js';
import { quit, restartSession, startSession, startWithNick } from './session.js';
import { nickProblem } from './text.js';

function formError(el, box, message, field) {
  box.textContent = message;
  box.dataset.kind = 'error';
  if (field) field.focus();
}

/** The account form: what it asks for, or null after saying what is missing. */
function readAccountForm(app, action) {
  const { el } = app;
  const name = (el.account.value || el.nick.value).trim();
  const password = el.password.value;
  const problem = nickProblem(name, app.state.limits.nick);
  if (problem) {
    formError(el, el.accountError, `${action === 'register' ? 'The account name is your nick: ' : ''}${problem}`, el.account);
    return null;
  }
  if (!password) {
    formError(el, el.accountError, 'Type your password.', el.password);
    return null;
  }
  if (action === 'register') {
    const email = el.email.value.trim();
    return { kind: 'register', nick: name, password, email: email || null };
  }
  return { kind: 'login', account: name, password };
}

/**
 * Log in or register from the form. A session that already has a nick
 * logs in there (a refusal shows on the form; success starts a session
 * that logs in with the token); otherwise the next session does it first.
 */
function signIn(app, auth) {
  const { state, el } = app;
  el.accountError.textContent = '';
  el.accountLogin.disabled = true;
  el.accountRegister.disabled = true;
  const live = app.conn.connected && !state.needNick && !state.syncing;
  if (auth.kind === 'login' && live) {
    liveLogin(app, { type: 'login', account: auth.account, password: auth.password },
      (message) => showLogin(app, message, 'error', 'account')).then((ok) => ok && showApp(app));
    return;
  }
  state.auth = auth;
  state.wantNick = auth.kind === 'register' ? auth.nick : auth.account;
  startSession(app);
}

function wireForms(app) {
  const { el } = app;
  el.loginForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const nick = el.nick.value.trim();
    const problem = nickProblem(nick, app.state.limits.nick);
    if (problem) {
      formError(el, el.loginError, problem, el.nick);
      return;
    }
    el.loginError.textContent = '';
    el.loginButton.disabled = true;
    setTimeout(() => { el.loginButton.disabled = false; }, 1500);
    startWithNick(app, nick, true);
  });
  el.accountForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const action = e.submitter && e.submitter.dataset.action === 'register' ? 'register' : 'login';
    const auth = readAccountForm(app, action);
    if (auth) signIn(app, auth);
  });
  el.loginBack.addEventListener('click', () => showApp(app));
}

/** Another tab logged out (the token went): so does this one. One logged in: this sign-in screen follows. */
function watchOtherTabs(app) {
  window.addEventListener('storage', (e) => {
    if (e.key !== K_LOGIN) return;
    const { state } = app;
    const stored = app.persist.login();
    if (!stored && state.account) {
      forgetLogin(app);
      quit(app, '', 'You logged out in another tab.');
    } else if (stored && !state.signedIn && !state.auth) {
      state.wantNick = stored.account;
      if (app.conn.connected && !state.needNick) restartSession(app);
      else startSession(app);
    }
  });
}

export function wireSignIn(app) {
  const { el } = app;
  wireForms(app);
  el.accountOpen.addEventListener('click', () => {
    app.ui.backToChat = true;
    showLogin(app, '', 'info', 'account');
  });
  el.logout.addEventListener('click', () => logout(app));
  watchOtherTabs(app);
}
