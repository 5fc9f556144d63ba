// Room messages on the page: live ones, the history that answers a join
// (scrollback or a resume's replay), and the pages of older history the
// reader asks for. What each means for the conversation is decided in
// conversation.js; this draws it.

import { renderHeader, renderSidebar, renderTop, updateTitle } from './chrome.js';
import { endPushedJoin, forget, joinHistory, olderBefore, pageHistory, receive } from './conversation.js';
import { saveCursor } from './convs.js';
import {
  appendLine, confirmLine, gapEl, insertSorted, iso, kindOf, lineById, lineEl, placeGap, regroup,
} from './lines.js';
import { atBottom, mutate, notice } from './log.js';
import { alertLine } from './notify.js';
import { offlineError, showError } from './panels.js';
import { redrawChips, showChips } from './reactui.js';
import { usesMarkers } from './readmarks.js';
import { afterLines, askMarker, lineArrived } from './readui.js';
import { pump, removeSettled } from './sending.js';
import { convForRoom, currentConv, refFor, takeRef } from './state.js';
import { parseTs } from './text.js';
import { typistSpoke } from './typingui.js';

/** Draw one message as receive() judged it. */
function drawMessage(app, conv, { m, status, settled, unread }) {
  const { list } = conv.view;
  removeSettled(app, conv, [settled]);
  if (status === 'confirmed') {
    const li = lineById(list, m.id);
    if (li) {
      confirmLine(li, m.ts);
      li.dataset.ts = String(parseTs(m.ts).getTime());
    }
  }
  if (status !== 'new') return;
  const li = lineEl(app.state, {
    kind: kindOf(m.type), from: m.from, text: m.text, ts: m.ts, id: m.id, room: conv.name,
    replyTo: typeof m.reply_to === 'number' ? m.reply_to : undefined, reply: m.reply,
  });
  if (typeof m.id === 'number') insertSorted(list, li, m.id);
  else appendLine(list, li);
  showChips(app, conv, li, m.id);
  if (!unread) return;
  drawUnread(app, conv, li, unread);
  lineArrived(app, conv, m.id, m.from);
  alertLine(app, conv, m);
}

/** A line arrived that the reader has not seen: badges, the title, the first-unread mark. */
export function drawUnread(app, conv, li, unread) {
  if (unread.counted && usesMarkers(app.state, conv)) {
    renderSidebar(app); // the marker's line and count (readui.js), not the page's own
  } else if (unread.counted) {
    if (!conv.view.firstUnread) conv.view.firstUnread = li;
    renderSidebar(app);
  }
  if (unread.title) updateTitle(app);
}

function drawItems(app, conv, items) {
  for (const item of items) drawMessage(app, conv, item);
}

export function onMessage(app, ev) {
  const conv = convForRoom(app.state, ev.room);
  if (!conv) return;
  const before = conv.lastId;
  const item = { m: ev, ...receive(app.state, conv, ev, { live: true, hidden: document.hidden }) };
  typistSpoke(app, conv, ev.from);
  mutate(app, conv, () => drawMessage(app, conv, item), { live: true });
  saveCursor(app, conv, before);
  trim(app, conv);
  afterLines(app, conv);
}

const MAX_LINES = 1500;

/** Keep a busy room's DOM bounded: drop the oldest lines while the reader is at the bottom. */
function trim(app, conv) {
  const { list } = conv.view;
  if (list.children.length <= MAX_LINES) return;
  const reading = conv === currentConv(app.state) ? atBottom(app) : conv.view.atBottom;
  if (!reading) return;
  let drop = list.children.length - MAX_LINES + 200;
  mutate(app, conv, () => {
    for (let c = list.firstElementChild; c && drop > 0;) {
      const next = c.nextElementSibling;
      if (c.classList.contains('gap') || c.classList.contains('outbox')) break;
      if (c.dataset.id) forget(conv, Number(c.dataset.id));
      if (conv.view.firstUnread === c) conv.view.firstUnread = null;
      c.remove();
      drop--;
      c = next;
    }
    regroup(list.firstElementChild);
  });
  conv.hasOlder = true;
  renderTop(conv);
}

function drawGap(conv, gap) {
  const li = gapEl(gap);
  conv.view.gaps.set(gap, li);
  insertSorted(conv.view.list, li, gap.before - 0.5);
}

/** Take away the gap markers a page of history filled; move those it shrank. */
function drawCover(conv, { removed, moved }) {
  const { gaps, list } = conv.view;
  for (const gap of removed) {
    gaps.get(gap)?.remove();
    gaps.delete(gap);
  }
  for (const gap of moved) {
    const li = gaps.get(gap);
    placeGap(li, gap);
    li.remove();
    insertSorted(list, li, gap.before - 0.5);
  }
}

export function onHistory(app, ev) {
  const { state } = app;
  const ctx = takeRef(state, ev.ref);
  const conv = convForRoom(state, ev.room) || (ctx && state.convs.get(ctx.key));
  if (!conv) return;
  const before = conv.lastId;
  if (ctx) drawPage(app, conv, ctx, ev);
  else drawJoinHistory(app, conv, ev);
  saveCursor(app, conv, before);
}

/** The history that follows our join: scrollback, or the replay after `since`. */
function drawJoinHistory(app, conv, ev) {
  const plan = joinHistory(app.state, conv, ev, document.hidden);
  removeSettled(app, conv, plan.settled);
  mutate(app, conv, () => {
    if (plan.gap) drawGap(conv, plan.gap);
    drawItems(app, conv, plan.items);
    redrawChips(app, conv, plan.reacted);
  }, { older: !plan.resumed, live: plan.resumed });
  for (const w of plan.waiters) w();
  if (conv.pushed) {
    // The server joined us (another connection of the account did): now we are in.
    endPushedJoin(conv);
    renderSidebar(app);
    if (conv === currentConv(app.state)) renderHeader(app);
    pump(app);
  }
  renderTop(conv);
  if (plan.loadOlder) loadOlder(app, conv);
  askMarker(app, conv);
  afterLines(app, conv);
}

/** A page we asked for: older messages, a gap's, or /history's. */
function drawPage(app, conv, ctx, ev) {
  const page = pageHistory(app.state, conv, ctx, ev);
  if (ctx.gap) conv.view.gaps.get(ctx.gap)?.classList.remove('loading');
  mutate(app, conv, () => {
    drawItems(app, conv, page.items);
    drawCover(conv, page.cover);
    redrawChips(app, conv, page.reacted);
  }, { older: true });
  afterLines(app, conv);
  if (ctx.kind === 'older') renderTop(conv);
  if (ctx.kind !== 'history') return;
  const { added } = page;
  const shown = page.items.length;
  notice(app, conv, added
    ? [`Loaded ${added} earlier ${added === 1 ? 'message' : 'messages'} of `, iso(conv.name), '.']
    : `The last ${shown} ${shown === 1 ? 'message is' : 'messages are'} already shown.`, { icon: 'ℹ' });
}

/** Ask for a page of history; on refusal or offline, undo what asking did. */
async function askHistory(app, cmd, undo) {
  const r = await app.conn.request(cmd);
  if (r && r.type !== 'error') return;
  takeRef(app.state, cmd.ref);
  undo();
  if (r) showError(app, r.message);
  else offlineError(app);
}

/** Page back above the oldest message shown. */
export async function loadOlder(app, conv) {
  if (!conv || conv.kind !== 'room' || conv.loadingOlder) return;
  const before = olderBefore(conv);
  const cmd = { type: 'history', room: conv.name, limit: 50 };
  if (before !== undefined) cmd.before = before;
  cmd.ref = refFor(app.state, { kind: 'older', key: conv.key, before });
  conv.loadingOlder = true;
  renderTop(conv);
  await askHistory(app, cmd, () => {
    conv.loadingOlder = false;
    renderTop(conv);
  });
}

/** The "load older" link of a gap marker: fill the gap from its upper end. */
export async function loadGap(app, conv, li) {
  const gap = [...conv.view.gaps].find(([, el]) => el === li)?.[0];
  if (!gap || gap.loading) return;
  gap.loading = true;
  li.classList.add('loading');
  const ref = refFor(app.state, { kind: 'gap', key: conv.key, gap, before: gap.before });
  const cmd = { type: 'history', room: conv.name, limit: app.state.limits.history || 200, before: gap.before, ref };
  await askHistory(app, cmd, () => {
    gap.loading = false;
    li.classList.remove('loading');
  });
}
