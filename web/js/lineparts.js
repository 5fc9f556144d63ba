// The parts of a room line beyond its text: the quote of the message it
// answers, the reaction chips under it, and the actions on it (Reply,
// React, Delete) shown when the pointer is over it. DOM only: what the
// quote and chips say comes from the events (conversation.js,
// reactions.js); user text goes in as text, each in its own isolate.

import { h } from './dom.js';
import { chipTitle } from './reactions.js';
import { closeIsolates } from './text.js';

const isolated = (text, cls) => h('bdi', cls ? { class: cls } : null, closeIsolates(text));

/**
 * "↪ alice: the first line of what she wrote", above a reply's text; a
 * click scrolls to the original (data-reply-to: its id).
 */
export function replyQuoteEl(replyTo, reply) {
  const nick = reply && typeof reply.nick === 'string' ? reply.nick : null;
  const text = reply && typeof reply.text === 'string' ? reply.text : '';
  return h('button', {
    type: 'button', class: 'reply-quote', dataset: { replyTo, testid: 'reply-quote' },
    title: 'Show the message this answers',
  }, h('span', { class: 'reply-mark', 'aria-hidden': 'true' }, '↪'), ' ',
  h('span', { class: 'sr-only' }, 'In reply to '),
  nick ? [isolated(nick, 'reply-nick'), ': '] : null, isolated(text, 'reply-text'));
}

/** The actions on a room line with id (its author and operators also delete it: accounts.css). */
export function actionsEl(id) {
  const act = (data, label, title, text) => h('button', {
    type: 'button', class: 'line-act', dataset: data, title, 'aria-label': label,
  }, text);
  return h('span', { class: 'line-actions' },
    act({ replyMsg: id }, 'Reply to this message', 'Reply', '↩'),
    act({ reactMsg: id }, 'React to this message', 'React', '☺'),
    h('button', {
      type: 'button', class: 'line-del', dataset: { deleteMsg: id },
      title: 'Delete this message (everyone sees it deleted)', 'aria-label': 'Delete this message',
    }, '✕'));
}

/** Draw li's reaction chips (chipsOf's list): emoji and count, who in the title; ours pressed. */
export function drawChips(li, chips) {
  let box = li.querySelector(':scope > .reactions');
  if (!chips.length) {
    if (box) box.remove();
    return;
  }
  if (!box) {
    box = h('div', { class: 'reactions', dataset: { testid: 'reactions' } });
    li.append(box);
  }
  box.replaceChildren(...chips.map((c) => h('button', {
    type: 'button', class: `chip${c.mine ? ' mine' : ''}`,
    dataset: { reactChip: c.reaction, count: c.count }, 'aria-pressed': String(c.mine), title: chipTitle(c),
  }, h('span', { class: 'chip-emoji' }, c.reaction), h('span', { class: 'chip-count' }, String(c.count)))));
}

/** The small picker of common reactions, for the line with id. */
export function pickerEl(id, reactions) {
  return h('div', { class: 'react-picker', role: 'menu', dataset: { testid: 'react-picker', msg: id } },
    reactions.map((r) => h('button', {
      type: 'button', class: 'pick', role: 'menuitem', dataset: { pick: r }, title: `React with ${r}`,
    }, r)));
}

/** "Replying to alice: excerpt ×", above the composer. */
export function replyBarContent(nick, text) {
  return [h('span', { class: 'reply-bar-text' }, 'Replying to ', isolated(nick, 'reply-nick'), ': ', isolated(text, 'reply-text')),
    h('button', {
      type: 'button', class: 'icon-btn icon-small reply-cancel', dataset: { replyCancel: '1' },
      title: 'Cancel the reply (Escape)', 'aria-label': 'Cancel the reply',
    }, '×')];
}
