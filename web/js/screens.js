// The two screens (sign-in and chat), the connection status, and our own
// nick in the sidebar.

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

export function showLogin(app, message = '', kind = 'error') {
  const { el, state } = app;
  state.signedIn = false;
  el.app.hidden = true;
  el.login.hidden = false;
  el.loginError.textContent = message;
  el.loginError.dataset.kind = kind;
  el.loginButton.disabled = false;
  if (state.wantNick) el.nick.value = state.wantNick;
  setComposerEnabled(app);
  renderStatus(app);
  setTimeout(() => {
    el.nick.focus();
    el.nick.select();
  }, 0);
}

export function showApp(app) {
  const { el, state } = app;
  const first = !state.signedIn;
  state.signedIn = true;
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
