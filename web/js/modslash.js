// Running the accounts and moderation commands (parsed by modparse.js),
// from the message box or a member's menu. The server decides who may do
// what: a refusal shows its message by the composer. What a command
// changes comes back as events (modevents.js); what it reads (/whois,
// /mode, /bans, /gbans) is drawn here, as a block in the log.

import { activate, renderMembers } from './chrome.js';
import { adoptLogin, forgetLogin } from './auth.js';
import { ensurePm } from './convs.js';
import { h } from './dom.js';
import { iso } from './lines.js';
import { block, notice } from './log.js';
import { parseModeration } from './modparse.js';
import { modesSummary } from './modtext.js';
import { offlineError, showError } from './panels.js';
import { quit, restartSession } from './session.js';
import { currentConv, refFor, takeRef } from './state.js';
import { parseTs } from './text.js';

/** Send cmd; its refusal shows by the composer. The reply, or null (offline, or refused). */
async function act(app, cmd) {
  const r = await app.conn.request(cmd);
  if (!r) offlineError(app);
  else if (r.type === 'error') showError(app, r.message);
  return r && r.type === 'ok' ? r : null;
}

/** Send a command that reads: resolves with its data event, or null (refused: shown; offline). */
function askData(app, cmd) {
  return new Promise((resolve) => {
    cmd.ref = refFor(app.state, { kind: 'answer', resolve });
    act(app, cmd).then((r) => {
      if (r) return;
      takeRef(app.state, cmd.ref);
      resolve(null);
    });
  });
}

/** A time in UTC, as terminals show it: 2026-11-27 20:10. */
const when = (ts) => parseTs(ts).toISOString().slice(0, 16).replace('T', ' ');

function showWhois(app, conv, ev) {
  const rows = [ev.account ? ['logged in as ', iso(ev.account)] : ['not logged in'],
    ev.rooms && ev.rooms.length ? ['in ', ...ev.rooms.flatMap((r, i) => [...(i ? [', '] : []), iso(r)])] : ['in no rooms']];
  if (ev.address) rows.push(['connects from ', iso(ev.address)]);
  if (ev.operator) rows.push(['a server operator']);
  block(app, conv, ['Who is ', iso(ev.nick)], rows.map((r) => h('span', null, r)));
}

function showModes(app, conv, ev) {
  const summary = modesSummary(ev);
  const rows = [ev.modes ? [ev.modes, summary ? ` (${summary})` : ''] : ['No modes are set'],
    ev.founder ? ['Registered; founder: ', iso(ev.founder)] : ['Not registered (/room register)']];
  block(app, conv, ['Modes of ', iso(ev.room)], rows.map((r) => h('span', null, r)));
}

function showBans(app, conv, ev) {
  const bans = Array.isArray(ev.bans) ? ev.bans : [];
  const title = ev.room ? ['Bans in ', iso(ev.room), ` (${bans.length})`] : [`Server bans (${bans.length})`];
  const rows = bans.map((b) => h('span', null, iso(b.mask), b.reason ? [' (', iso(b.reason), ')'] : '',
    ' by ', iso(b.by), ` on ${when(b.since)} UTC`, b.until ? `, until ${when(b.until)} UTC` : ''));
  block(app, conv, title, rows.length ? rows : ['nobody is banned']);
}

const SHOW = { whois: showWhois, mode: showModes, bans: showBans, gbans: showBans };

/** A password login while connected: on success a new session logs in with the token (and gets the account's rooms). */
export async function liveLogin(app, cmd, refused = (message) => showError(app, message)) {
  const r = await app.conn.request(cmd);
  if (!r) {
    refused('Not connected right now; try again once the connection is back.');
    return false;
  }
  if (r.type === 'error') {
    refused(r.message);
    return false;
  }
  adoptLogin(app, r, r.token, true);
  app.state.wantNick = r.account; // logging in is taking the account's nick
  restartSession(app);
  return true;
}

/** Log out: the server forgets the token, this browser too (every tab), and the sign-in form shows. */
export async function logout(app) {
  const r = app.conn.connected ? await app.conn.request({ type: 'logout' }) : null;
  forgetLogin(app);
  quit(app, '', r ? 'You logged out.' : 'You logged out of this browser (the server could not be told: it was not reachable).');
}

const AFTER = {
  register: (app, r) => adoptLogin(app, r, r.token, true),
  passwd: (app) => notice(app, null, 'Your password was changed.', { icon: '✓' }),
  drop(app) {
    forgetLogin(app);
    notice(app, null, 'Your account was deleted; you are a guest now.', { icon: '✓' });
  },
  ghost: (app, r, cmd) => notice(app, null, ['Disconnected whoever held ', iso(cmd.nick), '.'], { icon: '✓' }),
};

/** Run /name args (an accounts or moderation command); false if it was refused here. */
export function runModeration(app, name, args) {
  const conv = currentConv(app.state);
  const parsed = parseModeration(name, args, conv.kind === 'room' ? conv.name : null);
  if (parsed.error) {
    showError(app, parsed.error);
    return false;
  }
  const { cmd } = parsed;
  if (!app.conn.connected || app.state.needNick) {
    offlineError(app);
    return false;
  }
  if (cmd.type === 'logout') logout(app);
  else if (cmd.type === 'login') liveLogin(app, cmd);
  else if (Object.hasOwn(SHOW, name) && !(name === 'mode' && cmd.modes)) {
    askData(app, cmd).then((ev) => ev && SHOW[name](app, conv, ev));
  } else {
    act(app, cmd).then((r) => r && AFTER[cmd.type] && AFTER[cmd.type](app, r, cmd));
  }
  return true;
}

/** Ban nick from the room: by its account when it has one (a new nick does not escape it), else by nick. */
async function banMember(app, room, nick) {
  const who = await askData(app, { type: 'whois', nick });
  const mask = who && who.account ? `~a:${who.account}` : nick;
  act(app, { type: 'ban', room, mask });
}

/** An item of a member's menu (modtext.memberActions). */
export function memberAction(app, action, nick) {
  const conv = currentConv(app.state);
  if (action === 'msg') {
    activate(app, ensurePm(app, nick).key);
    app.el.message.focus();
    return;
  }
  if (!app.conn.connected || app.state.needNick) {
    offlineError(app);
    return;
  }
  if (action === 'whois') askData(app, { type: 'whois', nick }).then((ev) => ev && showWhois(app, conv, ev));
  else if (action === 'ban') banMember(app, conv.name, nick);
  else act(app, { type: action, room: conv.name, nick }).then(() => renderMembers(app));
}

/** The delete button of a room line: ask the server to delete message id (its delete event greys it). */
export function deleteLine(app, id) {
  const conv = currentConv(app.state);
  if (conv.kind !== 'room' || !Number.isInteger(id)) return;
  if (!app.conn.connected || app.state.needNick) {
    offlineError(app);
    return;
  }
  act(app, { type: 'delete', room: conv.name, id });
}
