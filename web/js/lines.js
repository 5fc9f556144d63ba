// The lines of a conversation's log as DOM elements: chat lines, presence
// and notice lines, multi-row blocks, "missed messages" markers, and where
// each goes in the list (by message id; pending ones last).
//
// Bidi: whatever one user writes (a nick, a room name, a topic, a message,
// a reason) goes in its own isolate, so that right-to-left letters or an
// isolate it leaves open cannot reorder the text around it.

import { h } from './dom.js';
import { actionsEl, replyQuoteEl } from './lineparts.js';
import { isMine } from './state.js';
import { appendLinkified, closeIsolates, fold, fullTime, hhmm, mentions, nickClass, parseTs } from './text.js';

/** User text as an element: <bdi> (direction from its own first letter). */
export const iso = (text) => h('bdi', null, closeIsolates(text));

/** User text inside a string (placeholders, tooltips): FSI ... PDI. */
export const isoText = (text) => `\u2068${closeIsolates(text)}\u2069`;

/** User text that may hold links, isolated. */
export function isoLinkified(text, cls = 'text') {
  return appendLinkified(h('bdi', { class: cls }), closeIsolates(text));
}

export const now = () => new Date().toISOString();

function timeEl(ts) {
  const d = parseTs(ts);
  return h('time', { class: 'ts', datetime: d.toISOString(), title: fullTime(d) }, hhmm(d));
}

/** A line drawn from our own ok or send gets the time of its event when that comes. */
export function confirmLine(li, ts) {
  delete li.dataset.provisional;
  li.querySelector('time')?.replaceWith(timeEl(ts));
}

function avatarEl(nick) {
  const letter = ([...String(nick || '?')].find((c) => /[\p{L}\p{N}]/u.test(c)) || '?').toUpperCase();
  return h('span', { class: `avatar ${nickClass(nick)}`, 'aria-hidden': 'true' }, letter);
}

function lineBody(m) {
  const body = h('span', { class: 'body' });
  if (typeof m.replyTo === 'number') body.append(replyQuoteEl(m.replyTo, m.reply));
  if (m.kind === 'action') {
    body.append(h('bdi', { class: 'who-inline ' + nickClass(m.from) }, m.from), ' ', isoLinkified(m.text));
    return h('li', { class: 'msg action' }, h('span', { class: 'gutter' }, timeEl(m.ts)),
      h('span', { class: 'sr-only' }, '* '), body);
  }
  body.append(isoLinkified(m.text));
  const who = h('bdi', { class: `who ${nickClass(m.from)}` }, m.from);
  return h('li', { class: 'msg' }, avatarEl(m.from),
    h('span', { class: 'meta' }, who, h('span', { class: 'sr-only' }, ': '), timeEl(m.ts)), body);
}

/** One chat line: m.kind is message, action or private. */
export function lineEl(state, m) {
  const li = lineBody(m);
  li.dataset.testid = 'message';
  li.dataset.kind = m.kind;
  li.dataset.from = m.from;
  li.dataset.ts = String(parseTs(m.ts).getTime());
  if (m.room) li.dataset.inRoom = m.room;
  if (m.pm) li.dataset.with = m.pm;
  if (m.id !== undefined && m.id !== null) {
    li.dataset.id = String(m.id);
    li.dataset.sort = String(m.id);
    // Reply, react; its author may delete it, and operators (the button shows for those: accounts.css).
    if (m.room) li.append(actionsEl(m.id));
  }
  if (isMine(state, m.from)) {
    li.classList.add('own');
    li.dataset.own = 'true';
  } else if (state.me && mentions(m.text, state.me)) {
    li.classList.add('mention');
  }
  if (m.pending) {
    li.classList.add('outbox', 'pending');
    li.dataset.pending = 'true';
    li.title = 'Sending…';
  }
  return li;
}

/** The kind of chat line a stored message event is. */
export const kindOf = (type) => (type === 'action' ? 'action' : 'message');

/** A presence or notice line; text is a string or a list of strings and nodes (iso() for user text). */
export function eventEl(text, { ts, cls = '', icon = '' } = {}) {
  const li = h('li', { class: `event ${cls}`.trim() },
    h('span', { class: 'gutter' }, timeEl(ts || now())),
    h('span', { class: 'event-text' }, icon ? h('span', { class: 'event-icon', 'aria-hidden': 'true' }, icon) : null, text));
  li.dataset.testid = 'event';
  return li;
}

/** A multi-row local notice (help, rooms, who). */
export function blockEl(title, rows) {
  const li = h('li', { class: 'event block' },
    h('span', { class: 'gutter' }, timeEl(now())),
    h('div', { class: 'block-body' }, h('div', { class: 'block-title' }, title),
      h('ul', { class: 'block-rows' }, rows.map((r) => h('li', null, r)))));
  li.dataset.testid = 'event';
  return li;
}

/** The "some messages were missed" marker for gap {before, after}. */
export function gapEl(gap) {
  const li = h('li', { class: 'gap', role: 'note' },
    h('span', { class: 'gap-text' }, 'Some messages were missed — '),
    h('button', { type: 'button', class: 'link-btn', dataset: { gap: '1' } }, 'load older'));
  li.dataset.testid = 'gap';
  placeGap(li, gap);
  return li;
}

/** Bring a gap marker's attributes up to date with its gap. */
export function placeGap(li, gap) {
  li.dataset.before = String(gap.before);
  li.dataset.after = String(gap.after);
  li.dataset.sort = String(gap.before - 0.5);
  li.classList.toggle('loading', gap.loading);
}

const GROUP_MS = 5 * 60 * 1000;

function groupable(prev, li) {
  return !!prev && !!li
    && prev.classList.contains('msg') && li.classList.contains('msg')
    && !prev.classList.contains('action') && !li.classList.contains('action')
    && !prev.classList.contains('failed')
    && fold(prev.dataset.from || '') === fold(li.dataset.from || '')
    && Math.abs(Number(li.dataset.ts) - Number(prev.dataset.ts)) < GROUP_MS;
}

/** Lines by one person within minutes of each other show the name once. */
export function regroup(li) {
  if (!li) return;
  li.classList.toggle('cont', groupable(li.previousElementSibling, li));
  const next = li.nextElementSibling;
  if (next && next.classList.contains('msg')) next.classList.toggle('cont', groupable(li, next));
}

/** Insert by sort key (message id); unsorted lines stay where they are, pending ones last. */
export function insertSorted(list, li, sort) {
  let before = null;
  for (let c = list.lastElementChild; c; c = c.previousElementSibling) {
    if (c.classList.contains('outbox')) {
      before = c;
      continue;
    }
    if (c.dataset.sort === undefined) continue;
    if (Number(c.dataset.sort) > sort) before = c;
    else break;
  }
  list.insertBefore(li, before);
  regroup(li);
}

/** Append a live line (before any pending ones). */
export function appendLine(list, li) {
  const firstPending = list.querySelector(':scope > .outbox');
  list.insertBefore(li, firstPending);
  regroup(li);
  if (firstPending) regroup(firstPending);
}

/** The line showing message id, or null. */
export function lineById(list, id) {
  return list.querySelector(`:scope > li[data-id="${Number(id)}"]`);
}
