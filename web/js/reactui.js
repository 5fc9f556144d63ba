// Reactions on the page (reactions.js keeps them): the chips under each
// line, the picker of the React action, and clicking a chip to add or take
// back one's own. The chips change only when the room's stream says so
// (`react`, `unreact`, or a history page): a click sends the command, and
// its event, which every member gets, redraws them.

import { receiveReaction } from './conversation.js';
import { saveCursor } from './convs.js';
import { lineById } from './lines.js';
import { drawChips, pickerEl } from './lineparts.js';
import { mutate } from './log.js';
import { offlineError, showError } from './panels.js';
import { QUICK_REACTIONS, chipsOf, reactionProblem, toggleOf } from './reactions.js';
import { convForRoom, currentConv, isMine } from './state.js';

const mineOf = (state) => (nick) => isMine(state, nick);

/** Draw the chips of message id on its line li. */
export function showChips(app, conv, li, id) {
  if (typeof id === 'number' && conv.reactions.has(id)) drawChips(li, chipsOf(conv, id, mineOf(app.state)));
}

/** Redraw the chips of the messages with these ids that are shown. */
export function redrawChips(app, conv, ids) {
  for (const id of ids || []) {
    const li = lineById(conv.view.list, id);
    if (li && li.dataset.deleted !== 'true') drawChips(li, chipsOf(conv, id, mineOf(app.state)));
  }
}

/** A `react` or `unreact` event of a room's stream. */
export function onReaction(app, ev) {
  const conv = convForRoom(app.state, ev.room);
  if (!conv) return;
  const before = conv.lastId;
  const id = receiveReaction(conv, ev);
  saveCursor(app, conv, before);
  if (id !== null) mutate(app, conv, () => redrawChips(app, conv, [id]), { live: true });
}

/** Add (type 'react') or take back ('unreact') our reaction to message id of the room shown. */
async function send(app, id, reaction, type) {
  const conv = currentConv(app.state);
  if (conv.kind !== 'room') return;
  const problem = reactionProblem(reaction);
  if (problem) {
    showError(app, problem);
    return;
  }
  if (!app.conn.connected || app.state.needNick) {
    offlineError(app);
    return;
  }
  const r = await app.conn.request({ type, room: conv.name, id, reaction });
  if (!r) offlineError(app);
  else if (r.type === 'error') showError(app, r.message);
}

export function closePicker(app) {
  const picker = app.ui.picker;
  if (!picker) return;
  app.ui.picker = null;
  picker.closest('li')?.querySelector('[data-react-msg]')?.setAttribute('aria-expanded', 'false');
  picker.remove();
}

/** The React action of a line (its button btn, data-react-msg=id): the picker, or closing it. */
export function togglePicker(app, btn) {
  const id = Number(btn.dataset.reactMsg);
  const open = app.ui.picker;
  closePicker(app);
  if (open && Number(open.dataset.msg) === id) return;
  const picker = pickerEl(id, QUICK_REACTIONS);
  btn.setAttribute('aria-expanded', 'true');
  btn.closest('li').append(picker);
  app.ui.picker = picker;
  picker.querySelector('button').focus();
}

/** A reaction chosen in the picker (data-pick): ours is added, or taken back if it was there. */
export function pick(app, btn) {
  const picker = btn.closest('.react-picker');
  const id = Number(picker && picker.dataset.msg);
  closePicker(app);
  const conv = currentConv(app.state);
  if (!Number.isInteger(id) || conv.kind !== 'room') return;
  const reaction = btn.dataset.pick;
  send(app, id, reaction, toggleOf(conv, id, reaction, mineOf(app.state)));
}

/** A chip under a line (data-react-chip): add ours, or take it back. */
export function chipClicked(app, btn) {
  const id = Number(btn.closest('li')?.dataset.id);
  const conv = currentConv(app.state);
  if (!Number.isInteger(id) || conv.kind !== 'room') return;
  const reaction = btn.dataset.reactChip;
  send(app, id, reaction, toggleOf(conv, id, reaction, mineOf(app.state)));
}

/** Close the picker on Escape or a click elsewhere; arrow keys move within it. */
export function wirePicker(app) {
  document.addEventListener('click', (e) => {
    const picker = app.ui.picker;
    if (picker && !picker.contains(e.target) && !e.target.closest('[data-react-msg]')) closePicker(app);
  });
  document.addEventListener('keydown', (e) => {
    const picker = app.ui.picker;
    if (!picker) return;
    if (e.key === 'Escape') {
      const opener = picker.closest('li')?.querySelector('[data-react-msg]');
      closePicker(app);
      opener?.focus();
    } else if (['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp'].includes(e.key)) {
      const items = [...picker.querySelectorAll('button')];
      const i = items.indexOf(document.activeElement);
      const step = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? 1 : -1;
      items[(i + step + items.length) % items.length].focus();
      e.preventDefault();
    }
  });
}
