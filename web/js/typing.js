// Typing indicators as data (no DOM): who is typing in a conversation, as
// the `typing` events said (docs/protocol.md), each forgotten by itself
// after a while (IRCv3 +typing: `active` after 6 s without a newer one,
// `paused` after 30 s); and when this page should tell others that its
// user is typing. Never stored, never in the log.

import { fold } from './text.js';

export const ACTIVE_MS = 6000;
export const PAUSED_MS = 30000;
/** A repeated `active` for the same conversation goes at most this often. */
export const RESEND_MS = 3000;
/** Typing stops counting as active this long after the last key. */
export const IDLE_MS = 5000;

const STATES = new Set(['active', 'paused', 'done']);

/** A typing event for conv's typers (folded nick -> {nick, state, until}): true if what shows changed. */
export function noteTyping(typers, nick, state, now = Date.now()) {
  if (!nick || !STATES.has(state)) return false;
  const key = fold(nick);
  if (state === 'done') return typers.delete(key);
  const before = typers.get(key);
  typers.set(key, { nick, state, until: now + (state === 'active' ? ACTIVE_MS : PAUSED_MS) });
  return !before || before.state !== state || before.nick !== nick;
}

/** nick sent a message or left: it is not typing any more. */
export function stopTyping(typers, nick) {
  return !!nick && typers.delete(fold(nick));
}

/** Who is typing now ({active, paused} nicks), and in how many ms the next one expires (or null). */
export function typersNow(typers, now = Date.now()) {
  const active = [];
  const paused = [];
  let next = null;
  for (const [key, t] of [...typers]) {
    if (t.until <= now) {
      typers.delete(key);
      continue;
    }
    (t.state === 'active' ? active : paused).push(t.nick);
    next = next === null ? t.until - now : Math.min(next, t.until - now);
  }
  return { active, paused, next };
}

function names(nicks) {
  if (nicks.length === 1) return nicks[0];
  if (nicks.length <= 3) return `${nicks.slice(0, -1).join(', ')} and ${nicks[nicks.length - 1]}`;
  return `${nicks.slice(0, 2).join(', ')} and ${nicks.length - 2} others`;
}

/** "alice is typing…", "alice and bob are typing…"; '' when nobody is. */
export function typingText({ active, paused }) {
  if (active.length) return `${names(active)} ${active.length === 1 ? 'is' : 'are'} typing…`;
  if (paused.length) return `${names(paused)} stopped typing for a moment`;
  return '';
}

/**
 * What this page says about its own user's typing, one conversation at
 * a time: typed() at each change of the message box, idle() when it has
 * been still for IDLE_MS, finished() when the text was sent. Each returns
 * the typing commands to send, as [{key, state}].
 */
export class TypingSender {
  constructor() {
    this.key = null; // the conversation the user is typing in
    this.state = 'done';
    this.sentAt = -Infinity; // when the last `active` went
    this.typedAt = -Infinity;
  }

  /** The box in conversation key now holds text (hasText), or not, at now. */
  typed(key, hasText, now = Date.now()) {
    const out = [];
    if (this.key !== key && this.state !== 'done') out.push({ key: this.key, state: 'done' });
    if (this.key !== key) {
      this.state = 'done';
      this.sentAt = -Infinity;
    }
    this.key = key;
    if (!hasText) {
      if (this.state !== 'done') out.push({ key, state: 'done' });
      this.state = 'done';
      return out;
    }
    this.typedAt = now;
    if (this.state !== 'active' || now - this.sentAt >= RESEND_MS) {
      out.push({ key, state: 'active' });
      this.sentAt = now;
    }
    this.state = 'active';
    return out;
  }

  /** Nothing typed since the last key: `paused` once it has been IDLE_MS. */
  idle(now = Date.now()) {
    if (this.state !== 'active' || now - this.typedAt < IDLE_MS) return [];
    this.state = 'paused';
    return [{ key: this.key, state: 'paused' }];
  }

  /** The `active` for key could not go: true if the user is still typing there (the next key sends it). */
  unsent(key) {
    if (this.key !== key || this.state !== 'active') return false;
    this.sentAt = -Infinity;
    return true;
  }

  /** The message went (or the box was emptied by a command): `done`. */
  finished() {
    if (this.state === 'done') return [];
    this.state = 'done';
    return [{ key: this.key, state: 'done' }];
  }
}
