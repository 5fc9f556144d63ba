// Running what the user typed: text for the conversation shown, or one of
// the slash commands (parsed by commands.js). Each returns false when it
// refused, so that the composer keeps the text.

import { stopRegain } from './auth.js';
import { activate } from './chrome.js';
import { HELP, HELP_TOPICS, firstWord } from './commands.js';
import { h } from './dom.js';
import { ensurePm, ensureRoom, removeConv, saveRooms } from './convs.js';
import { block } from './log.js';
import { runModeration } from './modslash.js';
import { offlineError, showError } from './panels.js';
import { showMe } from './screens.js';
import { takeReply } from './replyui.js';
import { queueSend } from './sending.js';
import { joinRoom, quit, refreshDirectory } from './session.js';
import { convForRoom, currentConv, refFor } from './state.js';
import { asRoom, messageProblem, nickProblem, normalizeLines, roomProblem, textProblem } from './text.js';

/** Most lines in one message, unless the server says (its welcome's limits). */
const MAX_LINES = 20;

/** Refuse with message (shown by the composer); false. */
function refuse(app, message) {
  showError(app, message);
  return false;
}

/** Send text to conv (default: the one shown) as a say, an action or, in a private conversation, a msg. */
export function say(app, text, type, conv = currentConv(app.state)) {
  text = normalizeLines(text);
  if (!text.trim()) return refuse(app, 'There is nothing to send.');
  const { limits } = app.state;
  const problem = messageProblem(text, limits.message, limits.lines || MAX_LINES);
  if (problem) return refuse(app, problem);
  if (conv.kind === 'home') return refuse(app, 'You are not in a room. Join one first: /join #room');
  if (conv.kind === 'pm') {
    if (type === 'action') return refuse(app, '/me works in rooms; in a private conversation just type.');
    queueSend(app, conv, 'msg', text);
    return true;
  }
  if (conv.outcast && !conv.wanted) return refuse(app, `You were put out of ${conv.name}; /join ${conv.name} to go back.`);
  if (!conv.wanted) return refuse(app, `You left ${conv.name}; /join ${conv.name} to talk there again.`);
  queueSend(app, conv, type, text, takeReply(app, conv));
  return true;
}

function needConnection(app) {
  if (app.conn.connected && !app.state.needNick) return true;
  offlineError(app);
  return false;
}

/** Send a command whose answer is an event (topic, who, history); an error shows by the composer. */
function ask(app, cmd) {
  app.conn.request(cmd).then((r) => {
    if (r && r.type === 'error') showError(app, r.message);
  });
  return true;
}

/** Join the room named input (with the key of a +k room); an open one is only shown. */
export function userJoin(app, input, key = null) {
  const { state } = app;
  const name = asRoom(input);
  const problem = roomProblem(name);
  if (problem) return refuse(app, problem);
  let conv = convForRoom(state, name);
  if (conv && conv.wanted && !(key && !conv.joined)) {
    activate(app, conv.key);
    return true;
  }
  conv = ensureRoom(app, name);
  conv.wanted = true;
  if (key) conv.passkey = key;
  saveRooms(app);
  activate(app, conv.key);
  if (app.conn.connected && !state.needNick && !state.syncing) joinRoom(app, conv);
  else if (!app.conn.connected) showError(app, `Offline: you will join ${name} when the connection is back.`, 'info');
  return true;
}

export async function userPart(app, conv, reason) {
  if (conv.kind === 'pm') {
    removeConv(app, conv);
    return;
  }
  conv.wanted = false;
  saveRooms(app);
  const wasJoined = conv.joined || conv.joining;
  removeConv(app, conv);
  if (!wasJoined) return;
  const cmd = { type: 'part', room: conv.name };
  if (reason) cmd.reason = reason;
  const r = await app.conn.request(cmd);
  if (r && r.type === 'error' && r.code !== 'not-in-room') showError(app, r.message);
  refreshDirectory(app);
}

async function changeNick(app, nick) {
  const r = await app.conn.request({ type: 'nick', nick });
  if (!r) {
    offlineError(app);
    return;
  }
  if (r.type === 'error') {
    showError(app, r.message);
    return;
  }
  app.state.wantNick = nick;
  stopRegain(app);
  app.persist.setNick(nick);
  showMe(app, nick); // a new nick, or the same one spelt differently
}

/** Set room's topic; true once the server took it. */
export async function setTopic(app, room, text) {
  const problem = textProblem(text, app.state.limits.topic, 'topic');
  if (problem) return refuse(app, problem);
  const r = await app.conn.request({ type: 'topic', room, topic: text });
  if (!r) {
    offlineError(app);
    return false;
  }
  if (r.type === 'error') return refuse(app, r.message);
  return true;
}

function cmdPart(app, args, conv) {
  const [first, rest] = firstWord(args);
  const reasonProblem = textProblem(first.startsWith('#') ? rest : args.trim(), 0, 'reason');
  if (reasonProblem) return refuse(app, reasonProblem);
  if (first.startsWith('#')) {
    const target = convForRoom(app.state, first);
    if (!target) return refuse(app, `You are not in ${first}.`);
    userPart(app, target, rest);
    return true;
  }
  if (conv.kind === 'home') return refuse(app, 'You are not in a room.');
  userPart(app, conv, args.trim());
  return true;
}

function cmdMsg(app, args) {
  const [nick, text] = firstWord(args);
  if (!nick) return refuse(app, 'Usage: /msg nick text');
  const problem = nickProblem(nick, app.state.limits.nick) || (text && textProblem(text, app.state.limits.message));
  if (problem) return refuse(app, problem);
  const pm = ensurePm(app, nick);
  activate(app, pm.key);
  return text ? say(app, text, 'say', pm) : true;
}

function cmdNick(app, args) {
  const [nick, extra] = firstWord(args);
  if (!nick || extra) return refuse(app, nick ? 'A nick cannot contain spaces.' : 'Usage: /nick newname');
  const problem = nickProblem(nick, app.state.limits.nick);
  if (problem) return refuse(app, problem);
  if (!needConnection(app)) return false;
  changeNick(app, nick);
  return true;
}

function cmdTopic(app, args, conv) {
  const [first, rest] = firstWord(args);
  const named = first.startsWith('#');
  if (!named && conv.kind !== 'room') return refuse(app, 'Usage here: /topic #room [text]');
  const room = named ? first : conv.name;
  const text = named ? rest : args.trim();
  if (!needConnection(app)) return false;
  if (text) {
    setTopic(app, room, text);
    return true;
  }
  return ask(app, { type: 'topic', room, ref: refFor(app.state, { kind: 'topic', key: conv.key }) });
}

function cmdWho(app, args, conv) {
  const [first] = firstWord(args);
  const room = first ? asRoom(first) : conv.kind === 'room' ? conv.name : null;
  if (!room) return refuse(app, 'Usage here: /who #room');
  if (!needConnection(app)) return false;
  return ask(app, { type: 'who', room, ref: refFor(app.state, { kind: 'who', key: conv.key }) });
}

function cmdHistory(app, args, conv) {
  if (conv.kind !== 'room') return refuse(app, '/history works in rooms.');
  const n = args.trim() ? parseInt(args.trim(), 10) : 50;
  if (!Number.isFinite(n) || n < 1) return refuse(app, 'Usage: /history [N], N a number of messages');
  if (!needConnection(app)) return false;
  const limit = Math.min(n, app.state.limits.history || 200);
  return ask(app, { type: 'history', room: conv.name, limit, ref: refFor(app.state, { kind: 'history', key: conv.key }) });
}

const COMMANDS = {
  help(app, args, conv) {
    const topic = args.trim().toLowerCase();
    if (topic && !Object.hasOwn(HELP_TOPICS, topic)) return refuse(app, 'Usage: /help [accounts|moderation]');
    const rows = topic ? HELP_TOPICS[topic] : HELP;
    block(app, conv, topic ? `Commands: ${topic}` : 'Commands', rows.map(([c, d]) => h('span', null, h('code', null, c), ` — ${d}`)));
    return true;
  },
  join(app, args) {
    const [room, rest] = firstWord(args);
    const [key, extra] = firstWord(rest);
    return room && !extra ? userJoin(app, room, key || null) : refuse(app, 'Usage: /join #room [key]');
  },
  part: cmdPart,
  me(app, args) {
    return args.trim() ? say(app, args, 'action') : refuse(app, 'Usage: /me does something');
  },
  msg: cmdMsg,
  nick: cmdNick,
  topic: cmdTopic,
  who: cmdWho,
  rooms(app) {
    if (!needConnection(app)) return false;
    refreshDirectory(app, true);
    return true;
  },
  history: cmdHistory,
  quit(app, args) {
    quit(app, args.trim());
    return true;
  },
};

/** Run /name args; false if it was refused. */
export function runCommand(app, name, args) {
  const run = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : null;
  if (!run) return runModeration(app, name, args);
  return run(app, args, currentConv(app.state));
}
