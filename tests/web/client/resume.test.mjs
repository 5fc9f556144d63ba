// Resuming a room after a reconnect or a reload (docs/protocol.md,
// "Resume"), and showing each message once however it arrives: live, in
// the join's history, in a replay, or first as our own ok.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  acknowledge, forget, joinHistory, olderBefore, pageHistory, receive, resetJoin, startJoin,
} from '../../../web/js/conversation.js';
import { Persist } from '../../../web/js/persist.js';
import { addConv, createState, roomKey } from '../../../web/js/state.js';
import { history, memoryStorage, msg, signedIn } from './support.mjs';

const statuses = (plan) => plan.items.map((i) => i.status);

describe('the resume cursor', () => {
  test('a first join asks for the scrollback; its history starts the cursor', () => {
    const { state, room } = signedIn();
    assert.deepEqual(startJoin(room), { type: 'join', room: '#lobby' });
    joinHistory(state, room, history([msg(7), msg(9)]));
    assert.equal(room.lastId, 9);
    resetJoin(room);
    assert.deepEqual(startJoin(room), { type: 'join', room: '#lobby', since: 9 });
  });

  test('an empty room resumes from 0, so nothing posted meanwhile is missed', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([]));
    resetJoin(room);
    assert.equal(startJoin(room).since, 0);
  });

  test('live messages move it; a resume asks for what came after the last one', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(1)]));
    receive(state, room, msg(2), { live: true });
    receive(state, room, msg(3), { live: true });
    resetJoin(room);
    assert.equal(startJoin(room).since, 3);
  });

  test('the ok for our own message, ahead of the stream, does not move it (b8019d4)', () => {
    // Over long-poll the ok comes back on its own request while the poll
    // carrying bob's message 3 is still out; resuming after 4 would skip 3.
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(1), msg(2)]));
    const entry = state.outbox.add(room.key, 'say', 'mine');
    state.outbox.command(entry, 'alice', '#lobby');
    state.outbox.acknowledge(entry);
    assert.equal(acknowledge(room, 4), true, 'the page draws its own message at once');
    assert.equal(room.lastId, 2);

    resetJoin(room); // the daemon restarts
    assert.equal(startJoin(room).since, 2);
    const plan = joinHistory(state, room, history([msg(3), msg(4, { from: 'alice', text: 'mine', cid: entry.cid })]));
    assert.deepEqual(statuses(plan), ['new', 'confirmed'], "bob's message is drawn; ours is already there");
    assert.equal(room.lastId, 4);
  });

  test('our own message moves it once its event comes, as anyone else\'s', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(1)]));
    acknowledge(room, 2);
    assert.equal(room.lastId, 1);
    assert.equal(receive(state, room, msg(2, { from: 'alice' }), { live: true }).status, 'confirmed');
    assert.equal(room.lastId, 2);
  });

  test('a page of older history never moves it back', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(50), msg(51)], true));
    pageHistory(state, room, { kind: 'older', before: olderBefore(room) }, history([msg(48), msg(49)], true));
    assert.equal(room.lastId, 51);
    assert.equal(olderBefore(room), 48);
  });

  test('after a reload the tab resumes from the cursor it kept in session storage', () => {
    const session = memoryStorage();
    const persist = new Persist(memoryStorage(), session);
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(11), msg(12)]));
    persist.setLastId(room.key, room.lastId);

    const reloaded = createState();
    const again = addConv(reloaded, 'room', '#Lobby', persist.lastId(roomKey('#Lobby')));
    assert.equal(startJoin(again).since, 12);
    assert.equal(again.freshView, true, 'nothing is shown yet');
    const plan = joinHistory(reloaded, again, history([msg(13)]));
    assert.equal(plan.loadOlder, true, 'a reload pages back for some context above what was missed');
  });

  test('storage that is missing, full or holding garbage only forgets', () => {
    assert.equal(new Persist(null, null).lastId('#lobby'), null);
    const broken = { getItem: () => '{not json', setItem: () => { throw new Error('full'); }, removeItem() {} };
    const persist = new Persist(broken, broken);
    persist.setLastId('#lobby', 5);
    assert.equal(persist.lastId('#lobby'), null);
    assert.equal(persist.rooms(), null);
    const session = memoryStorage();
    session.setItem('chatd.lastIds', 'null');
    assert.equal(new Persist(null, session).lastId('#lobby'), null);
  });
});

describe('each message once', () => {
  test('a message that came live and again in a history is drawn once', () => {
    const { state, room } = signedIn();
    startJoin(room);
    assert.equal(receive(state, room, msg(5), { live: true }).status, 'new');
    const plan = joinHistory(state, room, history([msg(4), msg(5), msg(6)]));
    assert.deepEqual(statuses(plan), ['new', 'duplicate', 'new']);
    assert.equal(room.lastId, 6);
  });

  test('a message from a history that comes live again is drawn once', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(1), msg(2)]));
    assert.equal(receive(state, room, msg(2), { live: true }).status, 'duplicate');
    assert.equal(receive(state, room, msg(3), { live: true }).status, 'new');
  });

  test('a replay overlapping what is shown draws only what is new', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(1), msg(2), msg(3)]));
    resetJoin(room);
    startJoin(room);
    const plan = joinHistory(state, room, history([msg(3), msg(4)]));
    assert.deepEqual(statuses(plan), ['duplicate', 'new']);
  });

  test('our own message: the ok after its event draws nothing more', () => {
    // WebSocket order: the sender gets its own message, then the ok.
    const { state, room } = signedIn();
    assert.equal(receive(state, room, msg(8, { from: 'alice' }), { live: true }).status, 'new');
    assert.equal(acknowledge(room, 8), false);
    assert.equal(acknowledge(room, undefined), false, 'an ok without an id draws nothing');
  });

  test('our own message: its event after the ok only confirms the line, once', () => {
    const { state, room } = signedIn();
    assert.equal(acknowledge(room, 8), true);
    assert.equal(receive(state, room, msg(8, { from: 'alice' }), { live: true }).status, 'confirmed');
    assert.equal(receive(state, room, msg(8, { from: 'alice' }), { live: true }).status, 'duplicate');
  });

  test('lines dropped from a long log can be drawn again when paged back', () => {
    const { state, room } = signedIn();
    receive(state, room, msg(1), { live: true });
    forget(room, 1);
    assert.equal(receive(state, room, msg(1)).status, 'new');
  });
});
