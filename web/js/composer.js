// The message box: sending what is typed (Enter; Shift+Enter is a line
// break, so a message may hold several lines), nick completion with Tab,
// and recalling earlier lines with the arrow keys.

import { parseInput } from './commands.js';
import { SECRET } from './modparse.js';
import { hideError, showError } from './panels.js';
import { runCommand, say } from './slash.js';
import { currentConv, isMe } from './state.js';
import { charLength, fold } from './text.js';
import { composerDone } from './typingui.js';

const INPUT_HISTORY = 100;

export function autoGrow(app) {
  const t = app.el.message;
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 200)}px`;
}

export function updateCharCount(app) {
  const n = charLength(app.el.message.value);
  const max = app.state.limits.message || 4000;
  app.el.charCount.textContent = n > max * 0.8 ? ` · ${n}/${max}` : '';
  app.el.charCount.classList.toggle('over', n > max);
}

/** Run a line from the composer; false keeps the text (it was refused). */
function runInput(app, raw) {
  const p = parseInput(raw);
  if (p.kind === 'unknown') {
    showError(app, `Unknown command /${p.name}. Type /help for the list, or //text to send text starting with /.`);
    return false;
  }
  if (p.kind === 'text') return say(app, p.text, 'say');
  return runCommand(app, p.name, p.args);
}

export function submitComposer(app) {
  const { state, el } = app;
  const raw = el.message.value;
  if (!raw.trim()) return;
  hideError(app);
  if (!runInput(app, raw)) return;
  const typed = parseInput(raw);
  const secret = typed.kind === 'command' && SECRET.has(typed.name); // never recalled: it holds a password
  if (!secret && state.inputHistory[state.inputHistory.length - 1] !== raw) state.inputHistory.push(raw);
  if (state.inputHistory.length > INPUT_HISTORY) state.inputHistory.shift();
  state.historyPos = -1;
  el.message.value = '';
  composerDone(app);
  autoGrow(app);
  updateCharCount(app);
}

/** The nicks that complete word in conv, in the order Tab cycles through them. */
function completions(app, conv, word) {
  const { state } = app;
  const pool = conv.kind === 'room' ? [...conv.members.values()] : [conv.name, state.me].filter(Boolean);
  return pool.filter((n) => fold(n).startsWith(fold(word)) && !isMe(state, n))
    .sort((a, b) => fold(a).localeCompare(fold(b)));
}

/** Tab: complete the nick before the caret (again: the next one); false if there is none. */
export function completeNick(app) {
  const t = app.el.message;
  const conv = currentConv(app.state);
  if (conv.kind === 'home') return false;
  const pos = t.selectionStart;
  if (pos !== t.selectionEnd) return false;
  let c = app.ui.completion;
  if (c && c.pos === pos && c.value === t.value) {
    c.index = (c.index + 1) % c.options.length;
  } else {
    const m = /(\S+)$/u.exec(t.value.slice(0, pos));
    if (!m) return false;
    const options = completions(app, conv, m[1]);
    if (!options.length) return false;
    const start = pos - m[1].length;
    c = app.ui.completion = { start, options, index: 0, atStart: start === 0, end: pos };
  }
  const insert = c.options[c.index] + (c.atStart ? ': ' : ' ');
  t.value = t.value.slice(0, c.start) + insert + t.value.slice(c.end);
  const caret = c.start + insert.length;
  t.setSelectionRange(caret, caret);
  c.end = caret;
  c.pos = caret;
  c.value = t.value;
  return true;
}

/** Up (dir -1) and down (dir 1) through the lines sent; false if there is nothing to recall. */
export function recall(app, dir) {
  const { state, el } = app;
  const hist = state.inputHistory;
  if (!hist.length) return false;
  if (state.historyPos === -1) {
    if (dir > 0) return false;
    state.historyPos = hist.length;
    state.draft = el.message.value;
  }
  const next = state.historyPos + dir;
  if (next < 0) return true;
  if (next >= hist.length) {
    state.historyPos = -1;
    el.message.value = state.draft || '';
  } else {
    state.historyPos = next;
    el.message.value = hist[next];
  }
  const end = el.message.value.length;
  el.message.setSelectionRange(end, end);
  autoGrow(app);
  return true;
}

/** Clicking our own nick: start typing /nick. */
export function startNickChange(app) {
  const t = app.el.message;
  t.value = '/nick ';
  t.focus();
  t.setSelectionRange(t.value.length, t.value.length);
}
