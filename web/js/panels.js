// The page's furniture: the error line by the composer, the sidebar and
// the members panel (overlays on narrow screens, columns on wide ones).

export function showError(app, message, kind = 'error') {
  const box = app.el.composerError;
  box.textContent = message;
  box.hidden = false;
  box.dataset.kind = kind;
  clearTimeout(app.ui.errorTimer);
  app.ui.errorTimer = setTimeout(() => hideError(app), kind === 'info' ? 5000 : 12000);
}

export function hideError(app) {
  app.el.composerError.hidden = true;
  app.el.composerError.textContent = '';
}

export function offlineError(app) {
  showError(app, 'Not connected right now; try again once the connection is back.');
}

export function setComposerEnabled(app) {
  const on = app.state.signedIn;
  app.el.message.disabled = !on;
  app.el.send.disabled = !on;
}

export function openSidebar(app) {
  const { el } = app;
  el.app.classList.add('sidebar-open');
  el.backdrop.hidden = false;
  el.sidebarOpen.setAttribute('aria-expanded', 'true');
  const current = el.sidebar.querySelector('[aria-current="page"]') || el.sidebar.querySelector('button');
  if (current) current.focus();
}

export function closeSidebar(app) {
  const { el } = app;
  if (!el.app.classList.contains('sidebar-open')) return;
  el.app.classList.remove('sidebar-open');
  el.backdrop.hidden = true;
  el.sidebarOpen.setAttribute('aria-expanded', 'false');
}

/** Show or hide the members: a column that collapses when wide, an overlay when narrow. */
export function toggleMembers(app, force) {
  const { el } = app;
  if (app.ui.wide.matches) {
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

export function syncMembersToggle(app) {
  const { el } = app;
  el.app.classList.remove('members-open');
  el.membersToggle.setAttribute('aria-expanded',
    String(app.ui.wide.matches && !el.app.classList.contains('members-collapsed')));
}
