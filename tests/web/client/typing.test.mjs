// Typing indicators: who shows as typing and for how long (IRCv3 +typing:
// active 6 s, paused 30 s), and when this page tells others its user is
// typing (active at most every 3 s, paused after 5 s still, done when sent).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { TypingSender, noteTyping, stopTyping, typersNow, typingText } from '../../../web/js/typing.js';

describe('who is typing', () => {
  test('active shows for 6 s, paused for 30 s, done at once', () => {
    const typers = new Map();
    noteTyping(typers, 'alice', 'active', 0);
    noteTyping(typers, 'bob', 'paused', 0);
    assert.deepEqual(typersNow(typers, 5000), { active: ['alice'], paused: ['bob'], next: 1000 });
    assert.deepEqual(typersNow(typers, 6000), { active: [], paused: ['bob'], next: 24000 });
    assert.deepEqual(typersNow(typers, 30000), { active: [], paused: [], next: null });
    noteTyping(typers, 'carol', 'active', 0);
    noteTyping(typers, 'Carol', 'done', 1);
    assert.deepEqual(typersNow(typers, 2).active, []);
  });

  test('a new active keeps it showing; a message ends it', () => {
    const typers = new Map();
    noteTyping(typers, 'alice', 'active', 0);
    noteTyping(typers, 'alice', 'active', 5000);
    assert.deepEqual(typersNow(typers, 10000).active, ['alice']);
    assert.equal(stopTyping(typers, 'ALICE'), true);
    assert.deepEqual(typersNow(typers, 10000).active, []);
  });

  test('an unknown state changes nothing', () => {
    const typers = new Map();
    assert.equal(noteTyping(typers, 'alice', 'shouting', 0), false);
    assert.equal(typers.size, 0);
  });

  test('says it in words', () => {
    assert.equal(typingText({ active: [], paused: [] }), '');
    assert.equal(typingText({ active: ['alice'], paused: [] }), 'alice is typing…');
    assert.equal(typingText({ active: ['alice', 'bob'], paused: [] }), 'alice and bob are typing…');
    assert.equal(typingText({ active: ['a', 'b', 'c'], paused: [] }), 'a, b and c are typing…');
    assert.equal(typingText({ active: ['a', 'b', 'c', 'd', 'e'], paused: [] }), 'a, b and 3 others are typing…');
    assert.equal(typingText({ active: [], paused: ['alice'] }), 'alice stopped typing for a moment');
  });
});

describe('telling others', () => {
  test('active when typing starts, again at most every 3 s', () => {
    const s = new TypingSender();
    assert.deepEqual(s.typed('#lobby', true, 0), [{ key: '#lobby', state: 'active' }]);
    assert.deepEqual(s.typed('#lobby', true, 1000), []);
    assert.deepEqual(s.typed('#lobby', true, 2999), []);
    assert.deepEqual(s.typed('#lobby', true, 3000), [{ key: '#lobby', state: 'active' }]);
  });

  test('paused after 5 s without a key; active again on the next key', () => {
    const s = new TypingSender();
    s.typed('#lobby', true, 0);
    assert.deepEqual(s.idle(4999), []);
    assert.deepEqual(s.idle(5000), [{ key: '#lobby', state: 'paused' }]);
    assert.deepEqual(s.idle(9000), [], 'once');
    assert.deepEqual(s.typed('#lobby', true, 9500), [{ key: '#lobby', state: 'active' }]);
  });

  test('done when the box is emptied or the text sent, and only then', () => {
    const s = new TypingSender();
    assert.deepEqual(s.typed('#lobby', false, 0), [], 'nothing typed, nothing said');
    s.typed('#lobby', true, 0);
    assert.deepEqual(s.typed('#lobby', false, 100), [{ key: '#lobby', state: 'done' }]);
    s.typed('#lobby', true, 200);
    assert.deepEqual(s.finished(), [{ key: '#lobby', state: 'done' }]);
    assert.deepEqual(s.finished(), []);
  });

  test('an active that could not go goes with the next key', () => {
    const s = new TypingSender();
    s.typed('#lobby', true, 0);
    assert.equal(s.unsent('#lobby'), true);
    assert.deepEqual(s.typed('#lobby', true, 100), [{ key: '#lobby', state: 'active' }]);
    s.finished();
    assert.equal(s.unsent('#lobby'), false, 'not once the text went');
  });

  test('typing in another conversation ends the first', () => {
    const s = new TypingSender();
    s.typed('#lobby', true, 0);
    assert.deepEqual(s.typed('pm:bob', true, 100), [{ key: '#lobby', state: 'done' }, { key: 'pm:bob', state: 'active' }]);
  });
});
