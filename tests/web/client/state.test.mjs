// The store's bookkeeping: conversations by key, renames, refs of the
// commands whose answer is an event, nick variants, members, notices.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { addMember, byName, removeMember, renameMember, setMembers } from '../../../web/js/conversation.js';
import {
  addConv, convForRoom, createState, currentConv, dropConv, freshNotice, nextConv, nickCandidates, pmKey, refFor,
  rekeyConv, takeRef,
} from '../../../web/js/state.js';

describe('conversations', () => {
  test('rooms are found by their folded name, as the server compares them', () => {
    const state = createState();
    const room = addConv(state, 'room', '#Lobby');
    assert.equal(convForRoom(state, '#LOBBY'), room);
    assert.equal(convForRoom(state, '#ｌｏｂｂｙ'), room);
    assert.equal(convForRoom(state, '#other'), undefined);
    assert.equal(currentConv(state), state.home, 'nothing shown yet: the home screen');
  });

  test("a rename moves the conversation, what is queued for it, and the view's choice", () => {
    const state = createState();
    const pm = addConv(state, 'pm', 'bob');
    state.active = pm.key;
    const entry = state.outbox.add(pm.key, 'msg', 'still there?');
    rekeyConv(state, pm, 'robert');
    assert.equal(pm.key, pmKey('robert'));
    assert.equal(state.convs.get(pmKey('robert')), pm);
    assert.equal(state.convs.has(pmKey('bob')), false);
    assert.equal(state.active, pm.key);
    assert.equal(entry.convKey, pm.key);
  });

  test('a rename onto a name already open keeps both apart', () => {
    const state = createState();
    const bob = addConv(state, 'pm', 'bob');
    const robert = addConv(state, 'pm', 'robert');
    rekeyConv(state, bob, 'Robert');
    assert.equal(bob.name, 'Robert');
    assert.equal(state.convs.get(pmKey('robert')), robert);
  });

  test('closing a conversation drops what was queued or failed in it', () => {
    const state = createState();
    const room = addConv(state, 'room', '#x');
    const other = addConv(state, 'room', '#y');
    state.outbox.add(room.key, 'say', 'queued');
    state.outbox.fail(state.outbox.add(room.key, 'say', 'failed'));
    const kept = state.outbox.add(other.key, 'say', 'kept');
    assert.equal(dropConv(state, room), true);
    assert.equal(dropConv(state, room), false);
    assert.deepEqual([...state.outbox.entries.values()], [kept]);
    assert.equal(state.outbox.failed.size, 0);
    assert.equal(nextConv(state), other);
  });
});

describe('refs', () => {
  test("an event's ref finds the command's context once", () => {
    const state = createState();
    const ref = refFor(state, { kind: 'who', key: '#x' });
    assert.notEqual(refFor(state, {}), ref);
    assert.equal(takeRef(state, ref).kind, 'who');
    assert.equal(takeRef(state, ref), null);
    assert.equal(takeRef(state, undefined), null);
  });

  test('refs never answered are forgotten after two minutes, once there are many', () => {
    const state = createState();
    const old = refFor(state, { kind: 'who' }, 0);
    for (let i = 0; i < 200; i++) refFor(state, { kind: 'rooms' }, 1000);
    assert.equal(takeRef(state, old).kind, 'who', 'young enough');
    const stale = refFor(state, { kind: 'who' }, 0);
    refFor(state, { kind: 'rooms' }, 200000);
    assert.equal(takeRef(state, stale), null);
  });
});

describe('nicks and notices', () => {
  test('variants of a taken nick stay within the limit', () => {
    assert.deepEqual(nickCandidates('alice', 32, () => 0.5), ['alice', 'alice_', 'alice__', 'alice___', 'alice_5500']);
    const long = 'x'.repeat(32);
    for (const n of nickCandidates(long, 32)) assert.ok([...n].length <= 32, n);
    assert.equal(nickCandidates('😀'.repeat(32), 32)[1], '😀'.repeat(31) + '_', 'characters, not UTF-16 units');
  });

  test('members by folded nick, shown as spelt', () => {
    const state = createState();
    const room = addConv(state, 'room', '#x');
    setMembers(room, ['bob', 'Carol']);
    addMember(room, 'Alice');
    assert.equal(renameMember(room, 'BOB', 'robert'), true);
    assert.equal(renameMember(room, 'nobody', 'someone'), false);
    assert.equal(removeMember(room, 'carol'), true);
    assert.deepEqual(byName(room.members.values()), ['Alice', 'robert']);
  });

  test('the same notice again within ten minutes (the MOTD after a reconnect) is not shown twice', () => {
    const state = createState();
    const t = Date.parse('2026-11-30T08:00:00Z');
    assert.equal(freshNotice(state, 'chatd: welcome', t), true);
    assert.equal(freshNotice(state, 'chatd: welcome', t + 60000), false);
    assert.equal(freshNotice(state, 'chatd: other', t + 60000), true);
    assert.equal(freshNotice(state, 'chatd: welcome', t + 11 * 60000), true);
  });
});
