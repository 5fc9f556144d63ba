// The two screens (sign-in and chat), the connection status, and our own
// nick and account in the sidebar.

import { renderHeader, renderMembers, renderSidebar } from './chrome.js';
import { iso, isoText } from './lines.js';
import { setComposerEnabled } from './panels.js';
import { setMe } from './state.js';

function statusText(app, st) {
  const lp = st.transport === 'longpoll';
  switch (st.state) {
    case 'connecting':
      return lp || st.fallback ? 'Connecting (long-poll mode)…' : 'Connecting…';
    case 'connected':
      return lp ? 'Connected · long-poll mode' : 'Connected';
    case 'reconnecting': {
      const secs = Math.max(0, Math.ceil(((st.retryAt || Date.now()) - Date.now()) / 1000));
      // Count down: draw again in a moment.
      if (secs > 0) app.ui.statusTimer = setTimeout(() => renderStatus(app), 250);
      return (secs > 0 ? `Reconnecting in ${secs}s` : 'Reconnecting…') + (lp ? ' · long-poll mode' : '');
    }
    case 'offline':
      return 'Offline';
    default:
      return 'Not connected';
  }
}

export function renderStatus(app) {
  const { el, state } = app;
  const st = state.connState;
  clearTimeout(app.ui.statusTimer);
  el.status.dataset.state = st.state;
  el.status.dataset.transport = st.transport || '';
  const text = statusText(app, st);
  el.statusText.textContent = text;
  el.status.title = text;
  el.retry.hidden = st.state !== 'reconnecting' || !!st.sameSession;
  el.loginStatus.textContent = !state.signedIn && st.state !== 'idle' && st.state !== 'offline' ? text : '';
}

/**
 * The sign-in screen, saying message by the form it concerns: 'nick' (the
 * guest form) or 'account' (logging in, registering).
 */
export function showLogin(app, message = '', kind = 'error', form = 'nick') {
  const { el, state } = app;
  state.signedIn = false;
  el.app.hidden = true;
  el.login.hidden = false;
  const [shown, other] = form === 'account' ? [el.accountError, el.loginError] : [el.loginError, el.accountError];
  shown.textContent = message;
  shown.dataset.kind = kind;
  other.textContent = '';
  el.loginButton.disabled = false;
  el.accountLogin.disabled = false;
  el.accountRegister.disabled = false;
  el.password.value = '';
  if (state.wantNick) {
    el.nick.value = state.wantNick;
    if (!el.account.value) el.account.value = state.wantNick;
  }
  // Came from the chat (to log in or register): the session is still there to go back to.
  el.loginBack.hidden = !(app.ui.backToChat && app.conn.connected && !state.needNick && !state.auth);
  setComposerEnabled(app);
  renderStatus(app);
  const focus = form === 'account' ? (el.account.value ? el.password : el.account) : el.nick;
  setTimeout(() => {
    focus.focus();
    if (focus === el.nick) focus.select();
  }, 0);
}

export function showApp(app) {
  const { el, state } = app;
  const first = !state.signedIn;
  state.signedIn = true;
  app.ui.backToChat = false;
  el.login.hidden = true;
  el.app.hidden = false;
  el.loginButton.disabled = false;
  setComposerEnabled(app);
  renderStatus(app);
  if (first) {
    renderHeader(app);
    renderSidebar(app);
    if (!window.matchMedia('(pointer: coarse)').matches) el.message.focus();
  }
}

/** We are nick now. */
export function showMe(app, nick) {
  setMe(app.state, nick);
  app.el.me.replaceChildren(iso(nick));
  app.el.me.title = `You are ${isoText(nick)}. Click to change your nick.`;
  renderMembers(app);
}

/** The account bar: logged in as whom (with Log out), or a guest (with Log in). */
export function renderAccount(app) {
  const { el, state } = app;
  if (state.account) el.accountState.replaceChildren('Logged in as ', iso(state.account));
  else el.accountState.textContent = 'Guest (not logged in)';
  el.accountState.dataset.account = state.account || '';
  el.logout.hidden = !state.account;
  el.accountOpen.hidden = !!state.account;
  renderMembers(app);
}
