// Which live lines deserve a desktop notification, without the DOM (the
// Notification API is notify.js's): a private message, or a mention of our
// nick in a room, from someone else, while the page is hidden, once the
// user opted in.

import { closeIsolates, fold, mentions } from './text.js';

const BODY_MAX = 200;

/** Text someone wrote, inside a title: isolated, so it cannot reorder what is around it. */
const isolated = (text) => `\u2068${closeIsolates(text)}\u2069`;

/**
 * The notification for a line ({conv, from, text}) or null: when the
 * user opted in (enabled) and the page is hidden.
 */
export function alertFor(state, { conv, from, text }, { hidden, enabled }) {
  if (!enabled || !hidden || !from || typeof text !== 'string') return null;
  if (state.myNicks.has(fold(from))) return null;
  let title;
  if (conv.kind === 'pm') title = `${isolated(from)} (private message)`;
  else if (conv.kind === 'room' && state.me && mentions(text, state.me)) title = `${isolated(from)} in ${isolated(conv.name)}`;
  else return null;
  const chars = [...text];
  const body = chars.length > BODY_MAX ? `${chars.slice(0, BODY_MAX).join('')}…` : text;
  return { title, body: closeIsolates(body), tag: `chatd:${conv.key}` };
}
