// Replies on the page: the Reply action of a line puts "Replying to alice:
// excerpt ×" above the message box, and the next message sent in that room
// answers it (`reply_to`); a reply's quote, clicked, brings the original
// into view and marks it for a moment.

import { lineById } from './lines.js';
import { replyBarContent } from './lineparts.js';
import { showError } from './panels.js';
import { currentConv } from './state.js';
import { excerptOf } from './text.js';

const FLASH_MS = 2000;
const flashTimers = new WeakMap();

/** Show (or hide) the reply bar for the conversation shown. */
export function renderReplyBar(app) {
  const bar = app.el.replyBar;
  const reply = currentConv(app.state).replyTo;
  if (!reply) {
    bar.hidden = true;
    bar.replaceChildren();
    return;
  }
  bar.replaceChildren(...replyBarContent(reply.nick, reply.text));
  bar.hidden = false;
}

/** The Reply action of the line showing message id. */
export function startReply(app, id) {
  const conv = currentConv(app.state);
  const li = conv.kind === 'room' ? lineById(conv.view.list, id) : null;
  if (!li || li.dataset.deleted === 'true') return;
  const text = li.querySelector('.body > bdi.text')?.textContent || '';
  conv.replyTo = { id, nick: li.dataset.from, text: excerptOf(text) };
  renderReplyBar(app);
  app.el.message.focus();
}

/** × in the reply bar, or Escape in the message box: the next message answers nothing. */
export function cancelReply(app) {
  const conv = currentConv(app.state);
  if (!conv.replyTo) return false;
  conv.replyTo = null;
  renderReplyBar(app);
  return true;
}

/** The reply the next message sent in conv carries (and forget it): {id, nick, text}, or null. */
export function takeReply(app, conv) {
  const reply = conv.replyTo;
  conv.replyTo = null;
  if (reply && conv === currentConv(app.state)) renderReplyBar(app);
  return reply;
}

/** A reply's quote was clicked: show the original, if the page has it. */
export function jumpToOriginal(app, id) {
  const conv = currentConv(app.state);
  const li = lineById(conv.view.list, id);
  if (!li) {
    showError(app, 'The message this answers is older than what is shown here: load older messages to see it.', 'info');
    return;
  }
  li.scrollIntoView({ block: 'center', behavior: 'smooth' });
  li.classList.remove('flash');
  void li.offsetWidth; // start the highlight again if it is still on
  li.classList.add('flash');
  li.dataset.flash = 'true';
  clearTimeout(flashTimers.get(li));
  flashTimers.set(li, setTimeout(() => {
    li.classList.remove('flash');
    delete li.dataset.flash;
  }, FLASH_MS));
}
