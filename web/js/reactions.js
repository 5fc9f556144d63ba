// Reactions on a room's messages, as data (no DOM): who reacted with what
// to each message shown. A history page gives each message's reactions
// folded ({reaction, nicks}); after that the room's stream carries every
// change as a numbered `react` or `unreact` event (docs/protocol.md), live
// or in a resume's replay. A change is applied once, in id order: one at
// or below what a message's reactions already account for is old news.

import { charLength, fold } from './text.js';

/** The reactions offered by the picker. */
export const QUICK_REACTIONS = ['👍', '😂', '🎉', '😮', '😢', '👀', '🙏', '🔥'];

/** Longest reaction, in characters (chatd.core.text.MAX_REACTION). */
export const MAX_REACTION = 32;

/** A reason the server would refuse reaction, or null: one emoji or short word. */
export function reactionProblem(reaction) {
  if (typeof reaction !== 'string' || !reaction) return 'Choose a reaction: an emoji or a short word.';
  if (charLength(reaction) > MAX_REACTION) return `A reaction is at most ${MAX_REACTION} characters.`;
  if (/[\s\p{Cc}]/u.test(reaction)) return 'A reaction is one emoji or word, without spaces.';
  return null;
}

/** Is this history item or event a reaction change (not a message to draw)? */
export const isReaction = (m) => !!m && (m.type === 'react' || m.type === 'unreact');

/** The reactions of message id: {asOf, by: Map reaction -> Map folded nick -> nick}. */
function entry(conv, id) {
  let e = conv.reactions.get(id);
  if (!e) {
    e = { asOf: 0, by: new Map() };
    conv.reactions.set(id, e);
  }
  return e;
}

/**
 * A history page's folded reactions for message id ([{reaction, nicks}]),
 * true as of stream id asOf: they replace what was known.
 */
export function setReactions(conv, id, list, asOf) {
  const e = entry(conv, id);
  e.by = new Map();
  for (const r of Array.isArray(list) ? list : []) {
    if (!r || typeof r.reaction !== 'string' || !Array.isArray(r.nicks)) continue;
    const nicks = new Map(r.nicks.filter((n) => typeof n === 'string').map((n) => [fold(n), n]));
    if (nicks.size) e.by.set(r.reaction, nicks);
  }
  e.asOf = Math.max(e.asOf, asOf || 0);
}

/**
 * A react or unreact event: true if it changed the reactions of the
 * message it is on (ev.message), false if it was already accounted for.
 */
export function applyReaction(conv, ev) {
  if (!isReaction(ev) || typeof ev.message !== 'number' || typeof ev.reaction !== 'string' || !ev.nick) return false;
  const e = entry(conv, ev.message);
  if (typeof ev.id === 'number') {
    if (ev.id <= e.asOf) return false;
    e.asOf = ev.id;
  }
  const key = fold(ev.nick);
  const nicks = e.by.get(ev.reaction);
  if (ev.type === 'react') {
    if (nicks && nicks.has(key)) return false;
    if (nicks) nicks.set(key, ev.nick);
    else e.by.set(ev.reaction, new Map([[key, ev.nick]]));
    return true;
  }
  if (!nicks || !nicks.delete(key)) return false;
  if (!nicks.size) e.by.delete(ev.reaction);
  return true;
}

/**
 * The chips under message id, in the order the reactions were first
 * added: {reaction, count, nicks, mine} (mine(nick): is that nick ours).
 */
export function chipsOf(conv, id, mine = () => false) {
  const e = conv.reactions.get(id);
  if (!e) return [];
  return [...e.by].map(([reaction, nicks]) => {
    const names = [...nicks.values()];
    return { reaction, count: names.length, nicks: names, mine: names.some(mine) };
  });
}

/** Clicking a chip (or choosing in the picker): 'react', or 'unreact' if it is already ours. */
export function toggleOf(conv, id, reaction, mine) {
  const chip = chipsOf(conv, id, mine).find((c) => c.reaction === reaction);
  return chip && chip.mine ? 'unreact' : 'react';
}

/** Message id is no longer shown: its reactions come again with its page. */
export function forgetReactions(conv, id) {
  conv.reactions.delete(id);
}

/** "alice, bob and carol reacted with 👍": the title of a chip. */
export function chipTitle(chip) {
  const n = chip.nicks;
  const who = n.length <= 1 ? n.join('') : `${n.slice(0, -1).join(', ')} and ${n[n.length - 1]}`;
  return `${who} reacted with ${chip.reaction}`;
}
