// "Some messages were missed" markers: a resume whose replay was cut short
// (docs/protocol.md, "Resume": a gap is never silent), and the pages of
// history that fill them.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { coverGaps, joinHistory, openGap, pageHistory, resetJoin, startJoin } from '../../../web/js/conversation.js';
import { history, msg, signedIn } from './support.mjs';

const ids = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));

/** A room shown up to id 10, then resumed with a replay of 96..100 that says it was truncated. */
function resumedWithGap() {
  const { state, room } = signedIn();
  startJoin(room);
  joinHistory(state, room, history(ids(1, 10)));
  resetJoin(room);
  startJoin(room);
  const plan = joinHistory(state, room, history(ids(96, 100), true));
  return { state, room, plan, gap: plan.gap };
}

describe('a truncated replay', () => {
  test('marks the messages between the cursor and the replay as missed', () => {
    const { room, plan } = resumedWithGap();
    assert.deepEqual(plan.gap, { before: 96, after: 10, loading: false });
    assert.deepEqual(room.gaps, [plan.gap]);
    assert.equal(plan.loadOlder, false, 'the marker offers to page back instead');
    assert.equal(room.lastId, 100);
  });

  test('a complete replay marks nothing', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history(ids(1, 10)));
    resetJoin(room);
    startJoin(room);
    const plan = joinHistory(state, room, history(ids(11, 12)));
    assert.equal(plan.gap, null);
    assert.deepEqual(room.gaps, []);
  });

  test('a first join is scrollback, not a gap: it only says there is more above', () => {
    const { state, room } = signedIn();
    startJoin(room);
    const plan = joinHistory(state, room, history(ids(51, 100), true));
    assert.equal(plan.gap, null);
    assert.equal(room.hasOlder, true);
  });

  test('a reload whose replay was cut short shows the marker and does not page back', () => {
    const { state, room } = signedIn('alice', '#lobby', 10);
    startJoin(room);
    const plan = joinHistory(state, room, history(ids(96, 100), true));
    assert.deepEqual(plan.gap, { before: 96, after: 10, loading: false });
    assert.equal(plan.loadOlder, false);
  });
});

describe('filling a gap', () => {
  test('a page reaching down to the cursor closes it', () => {
    const { state, room, gap } = resumedWithGap();
    gap.loading = true;
    const page = pageHistory(state, room, { kind: 'gap', gap, before: gap.before }, history(ids(11, 95)));
    assert.deepEqual(page.cover, { removed: [gap], moved: [] });
    assert.deepEqual(room.gaps, []);
    assert.equal(gap.loading, false);
    assert.equal(page.added, 85);
  });

  test('a page that stops short shrinks it to what is still missing', () => {
    const { state, room, gap } = resumedWithGap();
    const page = pageHistory(state, room, { kind: 'gap', gap, before: 96 }, history(ids(46, 95), true));
    assert.deepEqual(page.cover, { removed: [], moved: [gap] });
    assert.deepEqual(room.gaps, [{ before: 46, after: 10, loading: false }]);
    pageHistory(state, room, { kind: 'gap', gap, before: 46 }, history(ids(11, 45), true));
    assert.deepEqual(room.gaps, [], 'truncated, but down to the first missing id: nothing is missing');
  });

  test('a page that ends below the gap leaves it alone', () => {
    const { room, gap } = resumedWithGap();
    assert.deepEqual(coverGaps(room, 5, ids(1, 4), false), { removed: [], moved: [] });
    assert.deepEqual(room.gaps, [gap]);
  });

  test('/history (the newest messages) fills a gap it reaches', () => {
    const { state, room, gap } = resumedWithGap();
    const page = pageHistory(state, room, { kind: 'history' }, history(ids(50, 100), true));
    assert.deepEqual(page.cover.moved, [gap]);
    assert.equal(gap.before, 50);
    assert.equal(page.added, 46, '96..100 were shown already');
  });

  test('each gap is filled on its own', () => {
    const { room } = signedIn();
    const low = openGap(room, 20, 10);
    const high = openGap(room, 60, 40);
    assert.deepEqual(coverGaps(room, 60, ids(41, 59), true), { removed: [high], moved: [] });
    assert.deepEqual(room.gaps, [low]);
  });
});
