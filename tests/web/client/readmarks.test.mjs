// Read markers: the account's marker per conversation decides the unread
// count and where the "New messages" line stands, on every tab alike; a
// tab's own reads do not move its line, another tab's or device's do.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { acknowledge, forget, joinHistory, receive, startJoin } from '../../../web/js/conversation.js';
import {
  arrivedUnseen, learnMarker, placeLine, readToSend, resetMarkers, sentRead, unreadCount, usesMarkers,
} from '../../../web/js/readmarks.js';
import { history, msg, signedIn } from './support.mjs';

const mine = (nick) => nick === 'alice';

/** alice, logged in, shown messages 1..5 of #lobby (3 is hers). */
function joined() {
  const { state, room } = signedIn('alice');
  state.account = 'alice';
  startJoin(room);
  joinHistory(state, room, history([msg(1), msg(2), msg(3, { from: 'alice' }), msg(4), msg(5)]));
  return { state, room };
}

describe('read markers', () => {
  test('nothing is counted until the server says where the account left off', () => {
    const { state, room } = joined();
    assert.equal(usesMarkers(state, room), false);
    assert.equal(readToSend(room), null, 'no read before the marker is known');
    assert.deepEqual(learnMarker(room, 2), { first: true, moved: false });
    assert.equal(usesMarkers(state, room), true);
    assert.equal(unreadCount(room, mine), 2, 'our own message 3 is not unread');
    assert.equal(placeLine(room, mine), true);
    assert.equal(room.lineAt, 4, 'the line stands above the first unread line someone else wrote');
  });

  test('a marker of 0 (never read here) counts nothing and draws no line, until this page reads', () => {
    const { state, room } = joined();
    assert.deepEqual(learnMarker(room, 0), { first: true, moved: false });
    assert.equal(usesMarkers(state, room), false, 'the scrollback of a room just joined is not news');
    assert.equal(unreadCount(room, mine), 0);
    assert.equal(placeLine(room, mine), false);
    assert.equal(room.lineAt, null);
    assert.equal(readToSend(room), 5, 'but reading sets it');
    sentRead(room, 5);
    assert.equal(usesMarkers(state, room), true);
  });

  test('guests have no markers', () => {
    const { state, room } = joined();
    state.account = null;
    learnMarker(room, 2);
    assert.equal(usesMarkers(state, room), false);
  });

  test('a read from this page: its echo does not move the line', () => {
    const { room } = joined();
    learnMarker(room, 2);
    placeLine(room, mine);
    assert.equal(readToSend(room), 5);
    sentRead(room, 5);
    assert.equal(readToSend(room), null, 'sent once');
    assert.deepEqual(learnMarker(room, 5), { first: false, moved: false });
    assert.equal(room.lineAt, 4, 'the line stays where the reader found it');
    assert.equal(unreadCount(room, mine), 0);
  });

  test('a read from another tab or device moves the line and clears the count', () => {
    const { room } = joined();
    learnMarker(room, 2);
    placeLine(room, mine);
    assert.deepEqual(learnMarker(room, 5), { first: false, moved: true });
    placeLine(room, mine);
    assert.equal(room.lineAt, null);
    assert.equal(unreadCount(room, mine), 0);
    assert.deepEqual(learnMarker(room, 3), { first: false, moved: false }, 'a marker never goes back');
    assert.equal(room.readMarker, 5);
  });

  test('a line that arrives unseen starts the unread part, once', () => {
    const { state, room } = joined();
    learnMarker(room, 5);
    placeLine(room, mine);
    assert.equal(room.lineAt, null);
    receive(state, room, msg(6), { live: true });
    assert.equal(arrivedUnseen(room, 6, 'bob', mine), true);
    receive(state, room, msg(7), { live: true });
    assert.equal(arrivedUnseen(room, 7, 'bob', mine), false);
    assert.equal(room.lineAt, 6);
    assert.equal(unreadCount(room, mine), 2);
    assert.equal(arrivedUnseen(room, 8, 'alice', mine), false);
  });

  test('our own acknowledged message is ours; lines dropped from the page are not counted', () => {
    const { room } = joined();
    learnMarker(room, 5);
    acknowledge(room, 6, 'alice');
    assert.equal(unreadCount(room, mine), 0);
    assert.equal(readToSend(room), 6);
    const other = joined().room;
    learnMarker(other, 2);
    forget(other, 4);
    assert.equal(unreadCount(other, mine), 1);
  });

  test('logging out forgets them', () => {
    const { room } = joined();
    learnMarker(room, 2);
    sentRead(room, 4);
    resetMarkers([room]);
    assert.deepEqual([room.readMarker, room.readSent, room.lineAt], [null, 0, null]);
  });
});
