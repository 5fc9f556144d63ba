// Opening, renaming and closing conversations: the store's bookkeeping
// (state.js), what the page remembers (persist.js) and what it draws.

import { activate, renderHeader, renderSidebar, renderTop } from './chrome.js';
import { h } from './dom.js';
import { addConv, convForRoom, dropConv, nextConv, pmKey, rekeyConv, roomConvs, roomKey } from './state.js';

/** Give conv its DOM: the log's list of lines and what sits above it. */
export function attachView(conv) {
  const list = h('ol', { class: 'lines' });
  const top = h('div', { class: 'log-top' });
  conv.view = {
    el: h('div', { class: 'conv', dataset: { conv: conv.key } }, top, list),
    top, list,
    olderBtn: h('button', { type: 'button', class: 'btn btn-small load-older', dataset: { testid: 'load-older' } }),
    firstUnread: null, // the first line that came while the reader was elsewhere
    atBottom: true, scrollTop: 0,
    pending: new Map(), // outbox entry id -> its line
    gaps: new Map(), // gap -> its marker
  };
  renderTop(conv);
  return conv;
}

export function ensureRoom(app, name) {
  const found = convForRoom(app.state, name);
  if (found) return found;
  return attachView(addConv(app.state, 'room', name, app.persist.lastId(roomKey(name))));
}

export function ensurePm(app, nick) {
  let conv = app.state.convs.get(pmKey(nick));
  if (!conv) {
    conv = attachView(addConv(app.state, 'pm', nick));
    renderSidebar(app);
  }
  return conv;
}

/** conv is now called name (the server's spelling, or the peer's new nick). */
export function rekey(app, conv, name) {
  rekeyConv(app.state, conv, name);
  conv.view.el.dataset.conv = conv.key;
  if (conv.key === app.state.active) renderHeader(app);
  renderSidebar(app);
}

/** Remember which rooms to join on the next visit. */
export function saveRooms(app) {
  app.persist.setRooms(roomConvs(app.state).filter((c) => c.wanted).map((c) => c.name));
}

/** Remember how far the room's stream reached, for a resume after a reload. */
export function saveCursor(app, conv, before) {
  if (conv.kind === 'room' && conv.lastId !== null && conv.lastId !== before) app.persist.setLastId(conv.key, conv.lastId);
}

export function removeConv(app, conv) {
  const { state } = app;
  if (!dropConv(state, conv)) return;
  if (conv.kind === 'room') app.persist.setLastId(conv.key, null);
  saveRooms(app);
  if (state.active === conv.key) {
    const next = nextConv(state);
    activate(app, next ? next.key : null);
  } else {
    renderSidebar(app);
  }
}
