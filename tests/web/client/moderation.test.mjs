// Roles and badges in a room, what a member's menu offers, deleted
// messages, joins the server makes for another connection of the account,
// and what the page says about moderation events.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  acknowledge, addMember, byRank, deleteMessage, endPushedJoin, joinHistory, mayModerate, putOut, receive,
  removeMember, renameMember, roleOf, setMembers, setRole, startJoin, startPushedJoin,
} from '../../../web/js/conversation.js';
import { BADGES, durationText, lasting, memberActions, modeWords, modesSummary } from '../../../web/js/modtext.js';
import { history, msg, signedIn } from './support.mjs';

const actions = (conv, nick, who) => memberActions(conv, nick, who).map(([action]) => action);

describe('roles', () => {
  test('the members event gives the roles; everyone else is a plain member', () => {
    const { room } = signedIn('alice', '#den');
    setMembers(room, ['alice', 'Bob', 'carol', 'dave'], { alice: 'founder', bob: 'operator', carol: 'voice' });
    assert.equal(roleOf(room, 'ALICE'), 'founder', 'by folded nick');
    assert.equal(roleOf(room, 'bob'), 'operator');
    assert.equal(roleOf(room, 'dave'), null);
    assert.deepEqual(['alice', 'bob', 'carol', 'dave'].map((n) => BADGES[roleOf(room, n)] || ''), ['~', '@', '+', '']);
  });

  test('founder, operators and voices are listed first, by name within each', () => {
    const { room } = signedIn('alice', '#den');
    setMembers(room, ['zed', 'amy', 'Yan', 'bob', 'cat'], { zed: 'operator', yan: 'operator', cat: 'voice', bob: 'founder' });
    assert.deepEqual(byRank(room, room.members.values()), ['bob', 'Yan', 'zed', 'cat', 'amy']);
  });

  test('a role event gives or takes; "member" takes it away', () => {
    const { room } = signedIn('alice', '#den');
    setMembers(room, ['alice', 'bob']);
    setRole(room, 'bob', 'voice');
    assert.equal(roleOf(room, 'bob'), 'voice');
    setRole(room, 'bob', 'operator');
    assert.equal(roleOf(room, 'bob'), 'operator');
    setRole(room, 'bob', 'member');
    assert.equal(roleOf(room, 'bob'), null);
    setRole(room, 'bob', 'emperor');
    assert.equal(roleOf(room, 'bob'), null, 'an unknown role is none');
  });

  test('a nick change keeps the role and the mute; leaving drops them', () => {
    const { room } = signedIn('alice', '#den');
    setMembers(room, ['alice', 'bob'], { bob: 'operator' });
    room.muted.add('bob');
    assert.equal(renameMember(room, 'bob', 'Robert'), true);
    assert.equal(roleOf(room, 'robert'), 'operator');
    assert.equal(roleOf(room, 'bob'), null);
    assert.equal(room.muted.has('robert'), true);
    removeMember(room, 'robert');
    addMember(room, 'Robert');
    assert.equal(roleOf(room, 'robert'), null, 'the role comes back with the next members event, not by itself');
    assert.equal(room.muted.has('robert'), false);
  });

  test('operators and the founder may moderate, and server operators anywhere', () => {
    const { room } = signedIn('alice', '#den');
    setMembers(room, ['alice', 'bob', 'carol'], { bob: 'operator', carol: 'voice' });
    assert.equal(mayModerate(room, 'alice'), false);
    assert.equal(mayModerate(room, 'carol'), false, 'voice is no moderator');
    assert.equal(mayModerate(room, 'bob'), true);
    assert.equal(mayModerate(room, 'alice', true), true, 'a server operator');
  });

  test("a member's menu: everyone may message and ask; moderators get the rest", () => {
    const { room } = signedIn('alice', '#den');
    setMembers(room, ['alice', 'bob', 'carol', 'dave'], { alice: 'operator', bob: 'operator', carol: 'voice', dave: 'founder' });
    assert.deepEqual(actions(room, 'carol', { me: 'alice' }), ['msg', 'whois', 'op', 'devoice', 'mute', 'kick', 'ban']);
    assert.deepEqual(actions(room, 'bob', { me: 'alice' }), ['msg', 'whois', 'deop', 'mute', 'kick', 'ban']);
    assert.deepEqual(actions(room, 'dave', { me: 'alice' }), ['msg', 'whois', 'mute', 'kick', 'ban'], 'nobody ops the founder');
    assert.deepEqual(actions(room, 'alice', { me: 'alice' }), ['msg', 'whois'], 'no moderating oneself');
    room.muted.add('carol');
    assert.ok(actions(room, 'carol', { me: 'alice' }).includes('unmute'));
    assert.deepEqual(actions(room, 'bob', { me: 'carol' }), ['msg', 'whois'], 'a voice moderates nobody');
    assert.deepEqual(actions(room, 'carol', { me: 'zed', serverOperator: true }).slice(2, 4), ['op', 'devoice']);
  });
});

describe('deleted messages', () => {
  test('a deleted message is never drawn again, from history or live', () => {
    const { state, room } = signedIn('alice', '#den');
    room.lastId = 0;
    assert.equal(receive(state, room, msg(5, { room: '#den' })).status, 'new');
    assert.equal(deleteMessage(room, 5), true, 'it was shown: grey it');
    assert.equal(receive(state, room, msg(5, { room: '#den' })).status, 'deleted');
    assert.equal(deleteMessage(room, 6), false, 'not shown (yet)');
    assert.equal(receive(state, room, msg(6, { room: '#den' }), { live: true }).status, 'deleted',
      'its event overtaken by the delete (a history page in flight)');
    assert.equal(room.lastId, 6, 'the cursor still moves past it');
    assert.equal(acknowledge(room, 6), false, 'our own ok does not draw it either');
    assert.equal(deleteMessage(room, 'seven'), false);
  });
});

describe('joins the server makes', () => {
  test("another connection of the account joined: the scrollback is the join's, and then we are in", () => {
    const { state, room } = signedIn('alice', '#den');
    startPushedJoin(room);
    assert.equal(room.joining, true);
    assert.equal(room.wanted, true, 'rejoined after a reconnect, like a room we joined');
    const plan = joinHistory(state, room, history([msg(1, { room: '#den' }), msg(2, { room: '#den' })], false, '#den'));
    assert.equal(plan.resumed, false);
    assert.deepEqual(plan.items.map((i) => i.status), ['new', 'new']);
    endPushedJoin(room);
    assert.equal(room.joined && room.synced && !room.joining, true);
  });

  test('pushed scrollback that does not reach what the page shows marks the gap', () => {
    const { state, room } = signedIn('alice', '#den');
    room.lastId = 0;
    receive(state, room, msg(10, { room: '#den' }));
    startPushedJoin(room);
    const plan = joinHistory(state, room, history([msg(70, { room: '#den' }), msg(71, { room: '#den' })], true, '#den'));
    assert.deepEqual(plan.gap && [plan.gap.after, plan.gap.before], [10, 70]);
  });

  test('our own join resumes from the cursor and sends the key of a +k room', () => {
    const { room } = signedIn('alice', '#den', 41);
    room.passkey = 'secret';
    assert.deepEqual(startJoin(room), { type: 'join', room: '#den', since: 41, key: 'secret' });
  });

  test('put out by an operator: not in the room, not rejoined, nobody listed', () => {
    const { room } = signedIn('alice', '#den');
    setMembers(room, ['alice', 'bob'], { bob: 'operator' });
    room.joined = true;
    putOut(room);
    assert.equal(room.joined || room.wanted, false);
    assert.equal(room.outcast, true);
    assert.equal(room.members.size + room.roles.size, 0);
  });
});

describe('moderation in words', () => {
  test('how long', () => {
    assert.equal(durationText(600), '10 minutes');
    assert.equal(durationText(3600), '1 hour');
    assert.equal(durationText(90000), '1 day 1 hour');
    assert.equal(durationText(30), '30 seconds');
    assert.equal(durationText(0), '');
    assert.equal(lasting('2026-11-27T20:10:00.000Z', '2026-11-27T20:20:00.000Z'), ' for 10 minutes');
    assert.equal(lasting('2026-11-27T20:10:00.000Z', null), '', 'until lifted');
  });

  test('what a mode change means', () => {
    assert.equal(modeWords('+k', 'secret'), 'the key to join is secret');
    assert.equal(modeWords('-i'), 'no longer invite-only');
    assert.equal(modeWords('+tl', '20'), 'only operators set the topic; at most 20 members');
    assert.equal(modeWords('+x'), '', 'an unknown flag says nothing');
    assert.equal(modesSummary({ modes: '+tkl', key: 'secret', limit: 20 }), 'only operators set the topic, key secret, at most 20 members');
    assert.equal(modesSummary({ modes: '' }), '');
  });
});
