// Desktop notifications (the Notification API) for mentions and private
// messages while the page is hidden. The browser is asked for permission
// only when the user presses the bell, never on load; the choice is
// remembered, and a browser that later withdraws the permission is obeyed.

import { activate } from './chrome.js';
import { alertFor } from './alerts.js';
import { showError } from './panels.js';

const supported = () => typeof globalThis.Notification === 'function';

function renderBell(app) {
  const on = app.state.alerts;
  app.el.notify.setAttribute('aria-pressed', String(on));
  app.el.notify.title = `Desktop notifications for mentions and private messages: ${on ? 'on' : 'off'}`;
  app.el.notify.classList.toggle('on', on);
}

/** At start: on if the user opted in before and the browser still allows it (asking nothing). */
export function restoreAlerts(app) {
  app.state.alerts = supported() && app.persist.notify() && Notification.permission === 'granted';
  renderBell(app);
}

/** The bell: turn notifications on (asking the browser if it has not been asked) or off. */
export async function toggleAlerts(app) {
  const { state } = app;
  if (state.alerts) {
    state.alerts = false;
    app.persist.setNotify(false);
    renderBell(app);
    return;
  }
  if (!supported()) {
    showError(app, 'This browser cannot show desktop notifications.');
    return;
  }
  let permission = Notification.permission;
  if (permission === 'default') permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    showError(app, permission === 'denied'
      ? 'Notifications are blocked for this site: allow them in the browser\u2019s site settings, then press the bell again.'
      : 'Notifications were not allowed; press the bell again to be asked once more.');
    return;
  }
  state.alerts = true;
  app.persist.setNotify(true);
  renderBell(app);
  showError(app, 'You will be notified of mentions and private messages while chatd is in the background.', 'info');
}

/** A live line m ({from, text}) in conv: notify if it is for us and the page is hidden. */
export function alertLine(app, conv, m) {
  const { state } = app;
  if (state.alerts && supported() && Notification.permission !== 'granted') {
    state.alerts = false; // withdrawn in the browser's settings
    renderBell(app);
  }
  const alert = alertFor(state, { conv, from: m.from, text: m.text }, { hidden: document.hidden, enabled: state.alerts });
  if (!alert) return;
  try {
    const n = new Notification(alert.title, { body: alert.body, tag: alert.tag });
    n.onclick = () => {
      window.focus();
      if (state.convs.has(conv.key)) activate(app, conv.key);
      n.close();
    };
  } catch {
    /* some browsers only notify from a service worker: then there is none */
  }
}
