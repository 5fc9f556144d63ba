// The menu on a member of the room (its ⋯ button): a private message, who
// it is, and, for those who may moderate, roles, mute, kick and ban. One
// menu at a time; Escape, a click elsewhere or choosing an item closes it.

import { h } from './dom.js';
import { memberAction } from './modslash.js';
import { memberActions } from './modtext.js';
import { currentConv } from './state.js';

export function closeMemberMenu(app) {
  const menu = app.ui.memberMenu;
  if (!menu) return;
  app.ui.memberMenu = null;
  const opener = menu.parentElement && menu.parentElement.querySelector('.member-more');
  if (opener) opener.setAttribute('aria-expanded', 'false');
  menu.remove();
}

/** Open the menu of the member whose ⋯ button is btn (data-member-menu=nick); again closes it. */
export function toggleMemberMenu(app, btn) {
  const nick = btn.dataset.memberMenu;
  const open = app.ui.memberMenu;
  closeMemberMenu(app);
  if (open && open.dataset.nick === nick) return;
  const { state } = app;
  const conv = currentConv(state);
  if (conv.kind !== 'room') return;
  const items = memberActions(conv, nick, { me: state.me, serverOperator: state.serverOperator });
  const menu = h('div', { class: 'member-menu', role: 'menu', dataset: { testid: 'member-menu', nick } },
    items.map(([action, label]) => h('button', {
      type: 'button', class: 'menu-item', role: 'menuitem', dataset: { modAction: action, nick },
    }, label)));
  btn.setAttribute('aria-expanded', 'true');
  btn.parentElement.append(menu);
  app.ui.memberMenu = menu;
  menu.querySelector('button').focus();
}

/** A click on a menu item (data-mod-action). */
export function chooseMemberAction(app, item) {
  const { modAction, nick } = item.dataset;
  closeMemberMenu(app);
  memberAction(app, modAction, nick);
}

/** Close the menu on Escape or a click outside it; arrow keys move within it. */
export function wireMemberMenu(app) {
  document.addEventListener('click', (e) => {
    const menu = app.ui.memberMenu;
    if (menu && !menu.contains(e.target) && !e.target.closest('[data-member-menu]')) closeMemberMenu(app);
  });
  document.addEventListener('keydown', (e) => {
    const menu = app.ui.memberMenu;
    if (!menu) return;
    if (e.key === 'Escape') {
      const opener = menu.parentElement && menu.parentElement.querySelector('.member-more');
      closeMemberMenu(app);
      if (opener) opener.focus();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const items = [...menu.querySelectorAll('button')];
      const i = items.indexOf(document.activeElement);
      items[(i + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length].focus();
      e.preventDefault();
    }
  });
}
