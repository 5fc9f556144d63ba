// The accounts and moderation commands typed in the message box, as the
// JSON commands of docs/accounts.md, and which lines deserve a desktop
// notification.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { alertFor } from '../../../web/js/alerts.js';
import { parseInput } from '../../../web/js/commands.js';
import { NAMES, SECRET, USAGE, parseDuration, parseModeration } from '../../../web/js/modparse.js';
import { addConv } from '../../../web/js/state.js';
import { signedIn } from './support.mjs';

const cmd = (line, room = '#den') => {
  const p = parseInput(line);
  assert.equal(p.kind, 'command', line);
  return parseModeration(p.name, p.args, room);
};

describe('slash commands of docs/accounts.md', () => {
  test('every command of docs/accounts.md is known to the message box', () => {
    for (const name of ['register', 'login', 'identify', 'logout', 'passwd', 'ghost', 'drop', 'whois', 'room', 'op',
      'deop', 'voice', 'devoice', 'kick', 'ban', 'unban', 'bans', 'mute', 'unmute', 'invite', 'mode', 'delete',
      'kill', 'announce', 'gban', 'gunban', 'gbans']) {
      assert.ok(NAMES.includes(name), name);
      assert.equal(parseInput(`/${name}`).kind, 'command', name);
      assert.ok(USAGE[name], name);
    }
  });

  test('accounts', () => {
    assert.deepEqual(cmd('/register hunter22 a@example.org'), { cmd: { type: 'register', password: 'hunter22', email: 'a@example.org' } });
    assert.deepEqual(cmd('/register hunter22'), { cmd: { type: 'register', password: 'hunter22' } });
    assert.deepEqual(cmd('/login alice hunter22'), { cmd: { type: 'login', account: 'alice', password: 'hunter22' } });
    assert.deepEqual(cmd('/identify hunter22'), { cmd: { type: 'login', password: 'hunter22' } }, 'the account is the nick');
    assert.deepEqual(cmd('/identify alice hunter22'), { cmd: { type: 'login', account: 'alice', password: 'hunter22' } });
    assert.deepEqual(cmd('/logout'), { cmd: { type: 'logout' } });
    assert.deepEqual(cmd('/passwd old-one new-one'), { cmd: { type: 'passwd', old: 'old-one', new: 'new-one' } });
    assert.deepEqual(cmd('/ghost alice'), { cmd: { type: 'ghost', nick: 'alice' } });
    assert.deepEqual(cmd('/drop hunter22'), { cmd: { type: 'drop', password: 'hunter22' } });
    assert.deepEqual(cmd('/whois bob'), { cmd: { type: 'whois', nick: 'bob' } });
    for (const name of ['register', 'login', 'identify', 'passwd', 'drop']) assert.ok(SECRET.has(name), `${name} is never recalled`);
  });

  test('room commands act on the room shown, or on the one named first', () => {
    assert.deepEqual(cmd('/kick bob spam and more'), { cmd: { type: 'kick', room: '#den', nick: 'bob', reason: 'spam and more' } });
    assert.deepEqual(cmd('/kick #other bob'), { cmd: { type: 'kick', room: '#other', nick: 'bob' } });
    assert.deepEqual(cmd('/op bob'), { cmd: { type: 'op', room: '#den', nick: 'bob' } });
    assert.deepEqual(cmd('/devoice #x carol'), { cmd: { type: 'devoice', room: '#x', nick: 'carol' } });
    assert.deepEqual(cmd('/room register'), { cmd: { type: 'room', room: '#den', action: 'register' } });
    assert.deepEqual(cmd('/room transfer bob'), { cmd: { type: 'room', room: '#den', action: 'transfer', account: 'bob' } });
    assert.deepEqual(cmd('/room #x drop'), { cmd: { type: 'room', room: '#x', action: 'drop' } });
    assert.deepEqual(cmd('/bans'), { cmd: { type: 'bans', room: '#den' } });
    assert.deepEqual(cmd('/invite carol'), { cmd: { type: 'invite', room: '#den', nick: 'carol' } });
    assert.deepEqual(cmd('/delete 42'), { cmd: { type: 'delete', room: '#den', id: 42 } });
    assert.match(cmd('/kick bob', null).error, /name a room/, 'outside a room, a room command names one');
  });

  test('bans and mutes take durations as terminals type them, in seconds', () => {
    assert.deepEqual(cmd('/ban spam* 10m spamming'), { cmd: { type: 'ban', room: '#den', mask: 'spam*', duration: 600, reason: 'spamming' } });
    assert.deepEqual(cmd('/ban ~a:troll'), { cmd: { type: 'ban', room: '#den', mask: '~a:troll' } });
    assert.deepEqual(cmd('/ban 192.0.2.0/24 why not'), { cmd: { type: 'ban', room: '#den', mask: '192.0.2.0/24', reason: 'why not' } });
    assert.deepEqual(cmd('/mute bob 5'), { cmd: { type: 'mute', room: '#den', nick: 'bob', duration: 300 } });
    assert.deepEqual(cmd('/unban spam*'), { cmd: { type: 'unban', room: '#den', mask: 'spam*' } });
    assert.deepEqual(cmd('/gban 192.0.2.0/24 1d botnet'), { cmd: { type: 'gban', mask: '192.0.2.0/24', duration: 86400, reason: 'botnet' } });
    assert.deepEqual([parseDuration('30s'), parseDuration('2h'), parseDuration('7d'), parseDuration('0'), parseDuration('5x')],
      [30, 7200, 604800, null, null]);
    assert.match(cmd('/mute bob forever').error, /^Usage: \/mute \[#room\] NICK \[duration\] \(durations: /);
    assert.match(cmd('/ban spam* 0 nope').error, /^Usage: \/ban/);
  });

  test('modes', () => {
    assert.deepEqual(cmd('/mode'), { cmd: { type: 'mode', room: '#den' } });
    assert.deepEqual(cmd('/mode #x'), { cmd: { type: 'mode', room: '#x' } });
    assert.deepEqual(cmd('/mode +k secret'), { cmd: { type: 'mode', room: '#den', modes: '+k', arg: 'secret' } });
    assert.deepEqual(cmd('/mode -i'), { cmd: { type: 'mode', room: '#den', modes: '-i' } });
    assert.match(cmd('/mode t').error, /Usage: \/mode/);
  });

  test('a command typed wrong says its right form', () => {
    for (const line of ['/login alice', '/register', '/passwd one', '/whois', '/op', '/kick', '/delete forty-two',
      '/room', '/room register now', '/logout now', '/gbans x']) {
      assert.match(cmd(line).error, /^Usage: \//, line);
    }
  });
});

describe('desktop notifications', () => {
  const on = { hidden: true, enabled: true };

  test('a private message or a mention, from someone else, while hidden, once opted in', () => {
    const { state, room } = signedIn('alice', '#den');
    const pm = addConv(state, 'pm', 'bob');
    assert.deepEqual(alertFor(state, { conv: pm, from: 'bob', text: 'psst' }, on),
      { title: '\u2068bob\u2069 (private message)', body: 'psst', tag: 'chatd:pm:bob' });
    assert.equal(alertFor(state, { conv: room, from: 'bob', text: 'hi ALICE!' }, on).title, '\u2068bob\u2069 in \u2068#den\u2069');
    assert.equal(alertFor(state, { conv: room, from: 'bob', text: 'hi all' }, on), null, 'no mention');
    assert.equal(alertFor(state, { conv: room, from: 'bob', text: 'malice' }, on), null, 'a word, not a part of one');
    assert.equal(alertFor(state, { conv: pm, from: 'alice', text: 'mine' }, on), null, 'our own');
    assert.equal(alertFor(state, { conv: pm, from: 'bob', text: 'psst' }, { hidden: false, enabled: true }), null, 'page shown');
    assert.equal(alertFor(state, { conv: pm, from: 'bob', text: 'psst' }, { hidden: true, enabled: false }), null, 'not opted in');
  });

  test('a long message is cut; text that leaves an isolate open cannot reorder the title', () => {
    const { state } = signedIn('alice', '#den');
    const pm = addConv(state, 'pm', '\u2067evil');
    const alert = alertFor(state, { conv: pm, from: '\u2067evil', text: 'x'.repeat(500) }, on);
    assert.equal(alert.title, '\u2068\u2067evil\u2069\u2069 (private message)');
    assert.equal([...alert.body].length, 201);
  });
});
