// Moderation in words, without the DOM: how long a ban or mute lasts, what
// a mode change means, what a role is called, what a member's menu offers.
// modevents.js puts these in the log, around the names people chose (each
// in its own isolate).

import { mayModerate, roleOf } from './conversation.js';
import { fold } from './text.js';

const UNITS = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];

/** 600 -> "10 minutes", 90000 -> "1 day 1 hour"; '' for nothing. */
export function durationText(seconds) {
  let left = Math.round(seconds);
  if (!(left > 0)) return '';
  const parts = [];
  for (const [size, name] of UNITS) {
    if (left < size || parts.length === 2) continue;
    const n = Math.floor(left / size);
    left -= n * size;
    parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return parts.join(' ');
}

/** " for 10 minutes" between an event's ts and its until (ISO times); '' when it lasts until lifted. */
export function lasting(ts, until) {
  if (!until) return '';
  const span = durationText((Date.parse(until) - Date.parse(ts)) / 1000);
  return span ? ` for ${span}` : '';
}

const MODE_WORDS = {
  m: ['moderated: only members with voice speak', 'no longer moderated'],
  i: ['invite-only', 'no longer invite-only'],
  t: ['only operators set the topic', 'anyone may set the topic'],
  k: ['a key is needed to join', 'no key is needed to join'],
  l: ['a member limit', 'no member limit'],
};

/** "+tk" (arg "secret") -> "only operators set the topic; a key is needed to join (secret)". */
export function modeWords(modes, arg) {
  let sign = '+';
  const said = [];
  for (const c of String(modes || '')) {
    if (c === '+' || c === '-') {
      sign = c;
      continue;
    }
    const words = MODE_WORDS[c];
    if (!words) continue;
    let text = words[sign === '+' ? 0 : 1];
    if (sign === '+' && c === 'l' && arg) text = `at most ${arg} members`;
    else if (sign === '+' && c === 'k' && arg) text = `the key to join is ${arg}`;
    said.push(text);
  }
  return said.join('; ');
}

/** The modes a `modes` answer lists, in words: "+tkl" with key and limit. */
export function modesSummary(ev) {
  const parts = [];
  for (const c of String(ev.modes || '').replace(/^\+/, '')) {
    if (c === 'k') parts.push(ev.key ? `key ${ev.key}` : 'a key');
    else if (c === 'l') parts.push(ev.limit ? `at most ${ev.limit} members` : 'a member limit');
    else if (MODE_WORDS[c]) parts.push(MODE_WORDS[c][0]);
  }
  return parts.join(', ');
}

/** What a role event gives: "operator", "voice", "founder"; null for 'member' (taken away). */
export const ROLE_NAMES = { founder: 'founder', operator: 'operator', voice: 'voice' };

/** The badge a role shows by a nick: ~ founder, @ operator, + voice. */
export const BADGES = { founder: '~', operator: '@', voice: '+' };

/**
 * What the member menu offers for nick in conv: [action, label] pairs.
 * Everyone may message and ask who it is; those who may moderate also get
 * roles, mute, kick and ban (the server still decides, and says why not).
 */
export function memberActions(conv, nick, { me, serverOperator = false }) {
  const items = [['msg', 'Send a private message'], ['whois', 'Who is this?']];
  if (!mayModerate(conv, me, serverOperator) || (me && fold(nick) === fold(me))) return items;
  const role = roleOf(conv, nick);
  if (role !== 'founder') items.push(role === 'operator' ? ['deop', 'Take operator'] : ['op', 'Make operator']);
  if (!role || role === 'voice') items.push(role === 'voice' ? ['devoice', 'Take voice'] : ['voice', 'Give voice']);
  items.push(conv.muted.has(fold(nick)) ? ['unmute', 'Unmute'] : ['mute', 'Mute']);
  items.push(['kick', 'Kick out of the room'], ['ban', 'Ban from the room']);
  return items;
}
