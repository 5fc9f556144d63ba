// Reactions under a room's messages: folded on a history page, changed by
// each `react` and `unreact` event of the room's stream (live or in a
// resume's replay), each change counted once.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { joinHistory, pageHistory, receive, receiveReaction, resetJoin, startJoin } from '../../../web/js/conversation.js';
import { chipTitle, chipsOf, reactionProblem, toggleOf } from '../../../web/js/reactions.js';
import { history, msg, signedIn } from './support.mjs';

const react = (id, message, nick, reaction = '👍', type = 'react') => ({ type, room: '#lobby', id, nick, message, reaction });
const mine = (nick) => nick === 'alice';
const counts = (conv, id) => chipsOf(conv, id, mine).map((c) => [c.reaction, c.count, c.mine]);

/** alice in #lobby, shown messages 1 and 2. */
function joined() {
  const { state, room } = signedIn('alice');
  startJoin(room);
  joinHistory(state, room, history([msg(1), msg(2)]));
  return { state, room };
}

describe('reactions', () => {
  test('live react events add chips in the order reactions were first added; unreact takes one back', () => {
    const { room } = joined();
    assert.equal(receiveReaction(room, react(3, 1, 'bob')), 1);
    receiveReaction(room, react(4, 1, 'carol', '🎉'));
    receiveReaction(room, react(5, 1, 'alice'));
    assert.deepEqual(counts(room, 1), [['👍', 2, true], ['🎉', 1, false]]);
    receiveReaction(room, react(6, 1, 'bob', '👍', 'unreact'));
    assert.deepEqual(counts(room, 1), [['👍', 1, true], ['🎉', 1, false]]);
    receiveReaction(room, react(7, 1, 'carol', '🎉', 'unreact'));
    assert.deepEqual(counts(room, 1), [['👍', 1, true]]);
    assert.equal(room.lastId, 7, 'reactions move the resume cursor like messages');
  });

  test('a resume replays what was missed; what was already counted is not counted twice', () => {
    const { state, room } = joined();
    receiveReaction(room, react(3, 1, 'bob'));
    resetJoin(room);
    startJoin(room);
    assert.equal(room.joinSince, 3);
    // The server joined us again for another connection of the account: the same react comes again.
    const plan = joinHistory(state, room, history([react(3, 1, 'bob'), react(4, 2, 'carol', '😮'), msg(5)]));
    assert.deepEqual(counts(room, 1), [['👍', 1, false]]);
    assert.deepEqual(counts(room, 2), [['😮', 1, false]]);
    assert.deepEqual([...plan.reacted], [2]);
    assert.deepEqual(plan.items.map((i) => i.m.id), [5], 'a reaction is never drawn as a message');
    assert.equal(room.lastId, 5);
  });

  test('a history page gives each message its reactions folded, and later events change them', () => {
    const { state, room } = signedIn('alice');
    startJoin(room);
    joinHistory(state, room, history([msg(10)]));
    const older = msg(4);
    older.reactions = [{ reaction: '👍', nicks: ['bob', 'alice'] }, { reaction: 'lol', nicks: ['carol'] }];
    const page = pageHistory(state, room, { kind: 'older', before: 10 }, history([older, msg(5)]));
    assert.deepEqual([...page.reacted], [4]);
    assert.deepEqual(counts(room, 4), [['👍', 2, true], ['lol', 1, false]]);
    // An old change the page already folded in is not applied again; a new one is.
    assert.equal(receiveReaction(room, react(7, 4, 'carol', 'lol', 'unreact')), null);
    assert.equal(receiveReaction(room, react(11, 4, 'alice', '👍', 'unreact')), 4);
    assert.deepEqual(counts(room, 4), [['👍', 1, false], ['lol', 1, false]]);
  });

  test('a reaction to a message not shown waits for its page', () => {
    const { room } = joined();
    assert.equal(receiveReaction(room, react(3, 99, 'bob')), null);
    assert.deepEqual(chipsOf(room, 99), []);
    assert.equal(room.lastId, 3);
  });

  test('clicking a chip adds ours, or takes it back when it is ours', () => {
    const { room } = joined();
    receiveReaction(room, react(3, 1, 'bob'));
    assert.equal(toggleOf(room, 1, '👍', mine), 'react');
    receiveReaction(room, react(4, 1, 'Alice'));
    assert.equal(toggleOf(room, 1, '👍', (n) => n.toLowerCase() === 'alice'), 'unreact');
    assert.equal(toggleOf(room, 1, '🎉', mine), 'react');
  });

  test('a chip says who reacted', () => {
    assert.equal(chipTitle({ reaction: '👍', nicks: ['bob'] }), 'bob reacted with 👍');
    assert.equal(chipTitle({ reaction: '👍', nicks: ['bob', 'carol', 'dave'] }), 'bob, carol and dave reacted with 👍');
  });

  test('a reaction is one emoji or short word', () => {
    assert.equal(reactionProblem('👍'), null);
    assert.equal(reactionProblem('+1'), null);
    assert.match(reactionProblem('two words'), /without spaces/);
    assert.match(reactionProblem(''), /Choose a reaction/);
    assert.match(reactionProblem('x'.repeat(33)), /at most 32/);
  });

  test('a live message is still a message', () => {
    const { state, room } = joined();
    assert.equal(receive(state, room, msg(3), { live: true }).status, 'new');
  });
});
