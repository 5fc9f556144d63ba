// Text helpers for the chatd browser client: folding, local validation,
// linkifying (DOM nodes only, never HTML strings), nick colours, times.
//
// The server is the authority on every rule (docs/protocol.md); the checks
// here only spare the user a round trip and give a friendlier message.

/** Fold a nick or room name the way the server compares them (close enough:
 * NFKC, lower case, the common full case foldings, NFKC again). */
export function fold(s) {
  return String(s)
    .normalize('NFKC')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/ς/g, 'σ')
    .normalize('NFKC');
}

/** Length in code points, as the server counts characters. */
export function charLength(s) {
  let n = 0;
  for (const _ of s) n++; // eslint-disable-line no-unused-vars
  return n;
}

// What the server refuses in nicks and room names (chatd.core.text):
// controls, format characters, unpaired surrogates, private use and
// unassigned code points, and every separator. tests/web/test_client_rules.py
// holds the two sets of rules to agreement.
const NAME_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Z}]/u;
const NAME_FORBIDDEN_WHY = 'control, invisible or unassigned characters';

/** A reason the nick is refused locally, or null if it may be sent. */
export function nickProblem(nick, max = 32) {
  if (!nick) return 'Choose a nick.';
  const len = charLength(nick);
  if (len > max) return `A nick is at most ${max} characters (this one has ${len}).`;
  if (/\s/u.test(nick)) return 'A nick cannot contain spaces.';
  if (NAME_FORBIDDEN.test(nick)) return `A nick cannot contain ${NAME_FORBIDDEN_WHY}.`;
  const bad = nick.match(/[,:!@*?]/);
  if (bad) return `A nick cannot contain "${bad[0]}".`;
  if (/^[#/&]/.test(nick)) return `A nick cannot start with "${nick[0]}".`;
  return null;
}

/** A reason the room name is refused locally, or null. */
export function roomProblem(room) {
  if (!room || room[0] !== '#') return 'A room name starts with #, like #lobby.';
  const len = charLength(room);
  if (len < 2) return 'A room name needs at least one character after the #.';
  if (len > 50) return `A room name is at most 50 characters (this one has ${len}).`;
  if (/[\s,]/u.test(room)) return 'A room name cannot contain spaces or commas.';
  if (NAME_FORBIDDEN.test(room)) return `A room name cannot contain ${NAME_FORBIDDEN_WHY}.`;
  return null;
}

/** "lobby" -> "#lobby"; "#lobby" stays. */
export function asRoom(name) {
  name = String(name || '').trim();
  if (!name) return name;
  return name[0] === '#' ? name : '#' + name;
}

// Line breaks, C0 (but TAB), DEL and C1: the server refuses all of them.
const REFUSED = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/u;
const LINE_BREAKS = /[\r\n\u2028\u2029]+/g;

/** What a reply quotes (chatd.core.text.excerpt): the first line, cut to limit characters. */
export function excerptOf(text, limit = 80) {
  const first = String(text).split('\n', 1)[0];
  const chars = [...first];
  if (chars.length > limit) return `${chars.slice(0, limit - 1).join('')}\u2026`;
  return first === text ? first : `${first} \u2026`;
}

/** Replace every run of line breaks by one space. */
export function flattenLines(s) {
  return s.replace(LINE_BREAKS, ' ');
}

/**
 * A message as the server will relay it (chatd.core.text.clean_message):
 * each line break (CR LF, CR, U+2028, U+2029) a plain LF, and the empty
 * lines at either end dropped.
 */
export function normalizeLines(s) {
  const lines = s.replace(/\r\n?|[\u2028\u2029]/g, '\n').split('\n');
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  while (lines.length && !lines[0].trim()) lines.shift();
  return lines.join('\n');
}

// The bidi embedding and override controls: the server refuses them in
// messages, topics and reasons (an unclosed override reverses the text
// after it, other people's included). The isolates U+2066 to U+2069 pass.
const BIDI_CONTROLS = {
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
};
const BIDI_REFUSED = /[\u202a-\u202e]/u;

const hexOf = (c) => 'U+' + c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');

function describeChar(c) {
  const code = c.codePointAt(0);
  const hex = hexOf(c);
  if (c === '\n' || c === '\r' || code === 0x2028 || code === 0x2029) return `a line break (${hex})`;
  return `the control character ${hex}`;
}

/**
 * A reason the multi-line message text (at most maxLines lines, max
 * characters in all) is refused locally, or null: each line is checked as
 * textProblem checks one (chatd.core.text.clean_message).
 */
export function messageProblem(text, max, maxLines, what = 'message') {
  if (!/[\r\n]/.test(text)) return textProblem(text, max, what);
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  while (lines.length && !lines[0].trim()) lines.shift();
  if (lines.length > maxLines) return `The ${what} has ${lines.length} lines; the limit is ${maxLines}.`;
  for (const line of lines) {
    const problem = textProblem(line, max, what);
    if (problem) return problem;
  }
  return lengthProblem(lines.join('\n'), max, what);
}

function lengthProblem(text, max, what) {
  const len = charLength(text);
  return max && len > max ? `The ${what} is ${len} characters long; the limit is ${max}.` : null;
}

/** A reason the message (or topic, or reason) text is refused locally, or null. */
export function textProblem(text, max, what = 'message') {
  if (typeof text.isWellFormed === 'function' && !text.isWellFormed()) {
    return `The ${what} holds a broken character; retype it.`;
  }
  const m = REFUSED.exec(text);
  if (m) {
    const pos = charLength(text.slice(0, m.index)) + 1;
    return `The ${what} holds ${describeChar(m[0])} at position ${pos}; it cannot be sent.`;
  }
  const b = BIDI_REFUSED.exec(text);
  if (b) {
    const pos = charLength(text.slice(0, b.index)) + 1;
    return `The ${what} holds the bidi control ${hexOf(b[0])} (${BIDI_CONTROLS[b[0].codePointAt(0)]}) `
      + `at position ${pos}; embedding and override controls can reorder other people's text and are `
      + 'not sent (use the isolates U+2066 to U+2069).';
  }
  return lengthProblem(text, max, what);
}

const FIRST_ISOLATE = 0x2066; // LRI, RLI, FSI ...
const PDI = 0x2069; // ... closed by POP DIRECTIONAL ISOLATE

/**
 * The text with its bidi isolates balanced: a PDI that closes nothing is
 * dropped and each isolate left open is closed at the end. Shown on its own
 * the text looks the same; inside the isolate the page puts it in, it can
 * neither close that isolate early nor leave one open after it.
 */
export function closeIsolates(text) {
  text = String(text);
  if (!/[\u2066-\u2069]/u.test(text)) return text;
  let open = 0;
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0);
    if (code === PDI) {
      if (!open) continue;
      open--;
    } else if (code >= FIRST_ISOLATE && code < PDI) {
      open++;
    }
    out += c;
  }
  return out + String.fromCodePoint(PDI).repeat(open);
}

// http(s) URLs only; anything else stays text.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/giu;
const TRAILING = /[.,;:!?'"\]}>*]$/u;
const MIN_URL = 8; // scheme "http", then "://", then at least one host character

function trimUrl(raw) {
  for (;;) {
    if (TRAILING.test(raw)) {
      raw = raw.slice(0, -1);
      continue;
    }
    if (raw.endsWith(')')) {
      const open = raw.split('(').length - 1;
      const close = raw.split(')').length - 1;
      if (close > open) {
        raw = raw.slice(0, -1);
        continue;
      }
    }
    return raw;
  }
}

/** A safe http(s) href for raw, or null. */
export function safeHref(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.href;
}

/**
 * Append text to parent as text nodes, with http(s) URLs as links.
 * Never parses HTML: "<b>" shows as the four characters it is.
 */
export function appendLinkified(parent, text) {
  let last = 0;
  URL_RE.lastIndex = 0;
  for (let m = URL_RE.exec(text); m; m = URL_RE.exec(text)) {
    const raw = trimUrl(m[0]);
    const href = safeHref(raw);
    if (!href || raw.length < MIN_URL) continue;
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    const a = document.createElement('a');
    a.textContent = raw;
    a.href = href;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    parent.appendChild(a);
    last = m.index + raw.length;
    URL_RE.lastIndex = last;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  return parent;
}

export const NICK_COLOURS = 12;

/** A stable colour class for a nick: "nc-0" .. "nc-11". */
export function nickClass(nick) {
  const s = fold(nick);
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return 'nc-' + ((h >>> 0) % NICK_COLOURS);
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Does text mention nick as a word (case-insensitive)? */
export function mentions(text, nick) {
  if (!nick || !text) return false;
  const re = new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRe(nick)}($|[^\\p{L}\\p{N}_])`, 'iu');
  return re.test(text);
}

const pad = (n) => String(n).padStart(2, '0');

/** Local time as HH:MM. */
export function hhmm(date) {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Local date and time, in full, for a title tooltip. */
export function fullTime(date) {
  try {
    return date.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'medium' });
  } catch {
    return date.toString();
  }
}

/** Parse a server timestamp; fall back to now. */
export function parseTs(ts) {
  const d = ts ? new Date(ts) : new Date();
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

/** A random client message id. */
export function newCid() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
