// The message log's scrolling: a reader at the bottom stays there as lines
// arrive and the layout changes; a reader scrolled up is not pushed about.
//
// app.ui.autoScrollTop is the scrollTop scrollToBottom last set: a scroll
// event that lands there is ours, not the reader's, even if the layout has
// grown since.

import { appendLine, blockEl, eventEl } from './lines.js';
import { currentConv } from './state.js';

export function atBottom(app) {
  const l = app.el.log;
  return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
}

export function scrollToBottom(app) {
  const { log, jump } = app.el;
  log.scrollTop = log.scrollHeight;
  app.ui.autoScrollTop = log.scrollTop;
  jump.hidden = true;
  currentConv(app.state).view.atBottom = true;
}

/**
 * A reader at the bottom stays there whatever changes the layout after
 * the lines went in: the "load older" button appearing above them, a font
 * arriving, the composer growing, the header wrapping. Scrolling away
 * (the scroll listener) is what unsticks the view, not a layout change.
 */
export function keepAtBottom(app) {
  return new ResizeObserver(() => {
    if (currentConv(app.state).view.atBottom) scrollToBottom(app);
  });
}

/**
 * Change conv's lines, keeping the view sensible: stick to the bottom if
 * the reader was there, keep older insertions from pushing the view.
 */
export function mutate(app, conv, fn, { older = false, live = false } = {}) {
  const view = conv.view;
  if (conv !== currentConv(app.state)) {
    const r = fn();
    if (older && !view.atBottom) view.scrollTop = -1; // position unknown now; restore at bottom
    return r;
  }
  const { log, jump } = app.el;
  const bottom = view.atBottom || atBottom(app);
  const fromBottom = log.scrollHeight - log.scrollTop;
  log.setAttribute('aria-busy', 'true');
  const r = fn();
  log.removeAttribute('aria-busy');
  if (bottom) scrollToBottom(app);
  else if (older) log.scrollTop = log.scrollHeight - fromBottom;
  else if (live) jump.hidden = false;
  return r;
}

/** A presence or notice line at the end of conv (default: the one shown). */
export function notice(app, conv, text, opts = {}) {
  conv = conv || currentConv(app.state);
  mutate(app, conv, () => appendLine(conv.view.list, eventEl(text, opts)), { live: true });
}

/** A multi-row local notice (help, rooms, who). */
export function block(app, conv, title, rows) {
  conv = conv || currentConv(app.state);
  const li = blockEl(title, rows);
  mutate(app, conv, () => appendLine(conv.view.list, li), { live: true });
}
