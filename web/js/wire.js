// Listeners: what each form, key, click and page event does.

import { activate, updateTitle } from './chrome.js';
import { autoGrow, completeNick, recall, startNickChange, submitComposer, updateCharCount } from './composer.js';
import { ensurePm, removeConv } from './convs.js';
import { atBottom, scrollToBottom } from './log.js';
import { loadGap, loadOlder } from './messages.js';
import {
  closeSidebar, hideError, offlineError, openSidebar, syncMembersToggle, toggleMembers,
} from './panels.js';
import { chooseMemberAction, toggleMemberMenu, wireMemberMenu } from './membermenu.js';
import { deleteLine } from './modslash.js';
import { toggleAlerts } from './notify.js';
import { chipClicked, pick, togglePicker, wirePicker } from './reactui.js';
import { scheduleRead } from './readui.js';
import { cancelReply, jumpToOriginal, startReply } from './replyui.js';
import { dismissLine, retryLine } from './sending.js';
import { quit, refreshDirectory } from './session.js';
import { wireSignIn } from './signin.js';
import { setTopic, userJoin, userPart } from './slash.js';
import { convForRoom, currentConv, isMe, pmKey, roomKey } from './state.js';
import { flattenLines } from './text.js';
import { composerTyped } from './typingui.js';

/** Line breaks the server does not take (CR, U+2028, U+2029), as the plain one it does. */
const OTHER_BREAKS = /\r\n?|[\u2028\u2029]/g;

function composerKey(app, e) {
  const { el, state } = app;
  if (e.key === 'Enter' && !e.isComposing && e.keyCode !== 229) {
    if (e.shiftKey) return; // a line break, as the box itself types it
    e.preventDefault();
    if (e.altKey) {
      el.message.setRangeText('\n', el.message.selectionStart, el.message.selectionEnd, 'end');
      el.message.dispatchEvent(new Event('input'));
    } else {
      submitComposer(app);
    }
    return;
  }
  if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
    if (completeNick(app)) e.preventDefault();
    return;
  }
  app.ui.completion = null;
  const onFirstLine = !el.message.value.slice(0, el.message.selectionStart).includes('\n');
  if (e.key === 'ArrowUp' && !e.shiftKey && onFirstLine && (el.message.value === '' || state.historyPos !== -1)) {
    if (recall(app, -1)) e.preventDefault();
  } else if (e.key === 'ArrowDown' && state.historyPos !== -1) {
    if (recall(app, 1)) e.preventDefault();
  } else if (e.key === 'Escape') {
    if (!cancelReply(app)) hideError(app);
  }
}

function wireComposer(app) {
  const { el } = app;
  el.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    submitComposer(app);
  });
  el.message.addEventListener('keydown', (e) => composerKey(app, e));
  el.message.addEventListener('input', () => {
    const v = el.message.value;
    if (/[\r\u2028\u2029]/.test(v)) {
      const pos = el.message.selectionStart;
      el.message.value = v.replace(OTHER_BREAKS, '\n');
      const caret = Math.min(pos, el.message.value.length);
      el.message.setSelectionRange(caret, caret);
    }
    autoGrow(app);
    updateCharCount(app);
    composerTyped(app);
  });
}

/** A member's name: talk privately (our own: change nick). */
function memberClicked(app, nick) {
  if (isMe(app.state, nick)) {
    startNickChange(app);
    return;
  }
  const pm = ensurePm(app, nick);
  if (!app.ui.wide.matches) toggleMembers(app, false);
  activate(app, pm.key);
  app.el.message.focus();
}

/** A click on button t in the app, by its data attributes. */
function clicked(app, t) {
  const d = t.dataset;
  const { state } = app;
  if (d.room) activate(app, roomKey(d.room));
  else if (d.pm) activate(app, pmKey(d.pm));
  else if (d.joinRoom) userJoin(app, d.joinRoom);
  else if (d.part) {
    const c = convForRoom(state, d.part);
    if (c) userPart(app, c, '');
  } else if (d.closePm) {
    const c = state.convs.get(pmKey(d.closePm));
    if (c) removeConv(app, c);
  } else if (d.member) memberClicked(app, d.member);
  else if (d.memberMenu) toggleMemberMenu(app, t);
  else if (d.modAction) chooseMemberAction(app, t);
  else if (d.deleteMsg) deleteLine(app, Number(d.deleteMsg));
  else if (d.testid === 'load-older') loadOlder(app, currentConv(state));
  else if (d.gap) loadGap(app, currentConv(state), t.closest('.gap'));
  else if (d.retry) retryLine(app, t.closest('li'), d.retry);
  else if (d.dismiss) dismissLine(app, t.closest('li'), d.dismiss);
  else if (d.replyMsg) startReply(app, Number(d.replyMsg));
  else if (d.reactMsg) togglePicker(app, t);
  else if (d.pick) pick(app, t);
  else if (d.reactChip) chipClicked(app, t);
  else if (d.replyTo) jumpToOriginal(app, Number(d.replyTo));
  else if (d.replyCancel) {
    cancelReply(app);
    app.el.message.focus();
  }
}

function wireClicks(app) {
  const { el } = app;
  el.app.addEventListener('click', (e) => {
    const t = e.target.closest('button, a');
    if (t && el.app.contains(t)) clicked(app, t);
  });
  el.joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = el.joinRoom.value.trim();
    if (v && userJoin(app, v)) el.joinRoom.value = '';
  });
  el.me.addEventListener('click', () => startNickChange(app));
  el.quit.addEventListener('click', () => quit(app, ''));
  el.notify.addEventListener('click', () => toggleAlerts(app));
  el.retry.addEventListener('click', () => app.conn.retryNow());
  el.directoryRefresh.addEventListener('click', () => refreshDirectory(app));
}

function closeTopicForm(el) {
  el.topicForm.hidden = true;
  el.topicEdit.focus();
}

function wireTopic(app) {
  const { el } = app;
  el.topicEdit.addEventListener('click', () => {
    el.topicInput.value = currentConv(app.state).topic || '';
    el.topicInput.maxLength = app.state.limits.topic || 390;
    el.topicForm.hidden = false;
    el.topicInput.focus();
    el.topicInput.select();
  });
  el.topicCancel.addEventListener('click', () => closeTopicForm(el));
  el.topicInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeTopicForm(el);
  });
  el.topicForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const conv = currentConv(app.state);
    if (conv.kind !== 'room') return;
    if (!app.conn.connected || app.state.needNick) {
      offlineError(app);
      return;
    }
    if (await setTopic(app, conv.name, flattenLines(el.topicInput.value).trim())) {
      el.topicForm.hidden = true;
      el.message.focus();
    }
  });
}

function wirePanels(app) {
  const { el } = app;
  el.sidebarOpen.addEventListener('click', () => openSidebar(app));
  el.sidebarClose.addEventListener('click', () => closeSidebar(app));
  el.backdrop.addEventListener('click', () => {
    closeSidebar(app);
    toggleMembers(app, false);
  });
  el.membersToggle.addEventListener('click', () => toggleMembers(app));
  el.membersClose.addEventListener('click', () => toggleMembers(app, false));
  app.ui.wide.addEventListener('change', () => syncMembersToggle(app));
}

/** The log: the jump button, and paging back by itself when the reader scrolls to the top. */
function wireLog(app) {
  const { el } = app;
  el.jump.addEventListener('click', () => {
    scrollToBottom(app);
    el.message.focus();
  });
  // Only the reader's scrolling (wheel, touch or keys) pages back, not ours.
  let userScrollAt = 0;
  const userScrolled = () => { userScrollAt = Date.now(); };
  el.log.addEventListener('wheel', userScrolled, { passive: true });
  el.log.addEventListener('touchmove', userScrolled, { passive: true });
  el.log.addEventListener('keydown', (e) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) userScrolled();
  });
  el.log.addEventListener('scroll', () => {
    const conv = currentConv(app.state);
    if (el.log.scrollTop !== app.ui.autoScrollTop) conv.view.atBottom = atBottom(app);
    if (conv.view.atBottom) {
      el.jump.hidden = true;
      scheduleRead(app); // the reader reached the newest lines
    }
    if (Date.now() - userScrollAt < 1000 && el.log.scrollTop < 60 && conv.kind === 'room'
        && conv.hasOlder && !conv.loadingOlder && app.conn.connected) {
      loadOlder(app, conv);
    }
  }, { passive: true });
}

/** Alt+Up/Down: the previous or next conversation in the sidebar. */
function cycleConversations(app, e) {
  e.preventDefault();
  const keys = [...app.el.sidebar.querySelectorAll('[data-room], [data-pm]')]
    .map((b) => (b.dataset.room ? roomKey(b.dataset.room) : pmKey(b.dataset.pm)));
  if (!keys.length) return;
  const i = keys.indexOf(app.state.active);
  activate(app, keys[(i + (e.key === 'ArrowUp' ? -1 : 1) + keys.length) % keys.length]);
  app.el.message.focus();
}

function wireDocument(app) {
  const { state, conn } = app;
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      closeSidebar(app);
      if (!app.ui.wide.matches) toggleMembers(app, false);
    }
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && state.signedIn) cycleConversations(app, e);
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    state.titleUnread = 0;
    updateTitle(app);
    scheduleRead(app);
    if (conn.state.state === 'reconnecting') conn.retryNow();
  });
  window.addEventListener('focus', () => scheduleRead(app));
  window.addEventListener('online', () => conn.retryNow());
  window.addEventListener('pagehide', () => {
    // Leave cleanly: a long-poll session is DELETEd (fetch keepalive), a
    // WebSocket closed, so the nick is free for the next page at once.
    if (conn.running) {
      state.resumeOnShow = true;
      conn.stop();
    }
  });
  window.addEventListener('pageshow', (e) => {
    if (e.persisted && state.resumeOnShow && state.signedIn) {
      state.resumeOnShow = false;
      conn.start();
    }
  });
}

export function wire(app) {
  wireSignIn(app);
  wireMemberMenu(app);
  wirePicker(app);
  wireComposer(app);
  wireClicks(app);
  wireTopic(app);
  wirePanels(app);
  wireLog(app);
  wireDocument(app);
}
