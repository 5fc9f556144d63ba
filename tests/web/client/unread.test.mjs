// Unread and mention counts: the badges in the sidebar and the count in
// the page title.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { joinHistory, markRead, noteUnread, receive, resetJoin, startJoin } from '../../../web/js/conversation.js';
import { addConv } from '../../../web/js/state.js';
import { history, msg, signedIn } from './support.mjs';

/** alice in #lobby (shown) and #other (not shown). */
function twoRooms() {
  const { state, room } = signedIn('alice');
  const other = addConv(state, 'room', '#other');
  state.active = room.key;
  return { state, shown: room, other };
}

describe('unread', () => {
  test('a live message in a room not shown counts; in the room shown it does not', () => {
    const { state, shown, other } = twoRooms();
    assert.deepEqual(receive(state, other, msg(1, { room: '#other' }), { live: true }).unread, { counted: true, title: false });
    assert.deepEqual(receive(state, shown, msg(2), { live: true }).unread, { counted: false, title: false });
    assert.equal(other.unread, 1);
    assert.equal(shown.unread, 0);
  });

  test('a mention of our nick, as a word, in any case, marks the room', () => {
    const { state, other } = twoRooms();
    receive(state, other, msg(1, { text: 'malice aforethought' }), { live: true });
    assert.equal(other.mention, false);
    receive(state, other, msg(2, { text: 'hi ALICE!' }), { live: true });
    assert.equal(other.mention, true);
    assert.equal(other.unread, 2);
  });

  test('our own messages, under any nick this page has used, never count', () => {
    const { state, other } = twoRooms();
    state.myNicks.add('alice_');
    assert.equal(receive(state, other, msg(1, { from: 'Alice' }), { live: true }).unread, null);
    assert.equal(noteUnread(state, other, 'alice_', 'hi', true), null);
    assert.equal(other.unread, 0);
    assert.equal(state.titleUnread, 0);
  });

  test('while the page is hidden every message counts in the title, the room shown included', () => {
    const { state, shown, other } = twoRooms();
    receive(state, shown, msg(1), { live: true, hidden: true });
    receive(state, other, msg(2, { room: '#other' }), { live: true, hidden: true });
    assert.equal(state.titleUnread, 2);
    assert.equal(shown.unread, 0);
  });

  test('a private message is always a mention', () => {
    const { state } = twoRooms();
    const pm = addConv(state, 'pm', 'bob');
    noteUnread(state, pm, 'bob', 'psst', false);
    assert.deepEqual([pm.unread, pm.mention], [1, true]);
  });

  test('history is not news: scrollback and duplicates do not count', () => {
    const { state, other } = twoRooms();
    startJoin(other);
    joinHistory(state, other, history([msg(1), msg(2)], false, '#other'));
    receive(state, other, msg(2), { live: true });
    assert.equal(other.unread, 0);
  });

  test('what a resume replays counts, unless nothing was shown yet (a reload)', () => {
    const { state, other } = twoRooms();
    startJoin(other);
    joinHistory(state, other, history([msg(1)], false, '#other'));
    resetJoin(other);
    startJoin(other);
    joinHistory(state, other, history([msg(2), msg(3)], false, '#other'));
    assert.equal(other.unread, 2);

    const reloaded = signedIn('alice', '#other', 3);
    reloaded.state.active = null;
    startJoin(reloaded.room);
    joinHistory(reloaded.state, reloaded.room, history([msg(4)], false, '#other'));
    assert.equal(reloaded.room.unread, 0);
  });

  test('showing the room clears its counts', () => {
    const { state, other } = twoRooms();
    receive(state, other, msg(1, { text: 'alice?' }), { live: true });
    markRead(other);
    assert.deepEqual([other.unread, other.mention], [0, false]);
  });
});
