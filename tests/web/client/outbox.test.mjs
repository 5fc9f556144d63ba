// The outbox: what the user typed goes queued -> sending -> acknowledged
// or failed; a say lost with the connection is resent with the same cid
// (docs/protocol.md, "Idempotent sends"), and one the server already has
// (its echo, or a replay after a resume) is settled, not sent again.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { joinHistory, receive, resetJoin, startJoin } from '../../../web/js/conversation.js';
import { Outbox } from '../../../web/js/outbox.js';
import { OfflineError } from '../../../web/js/pending.js';
import { history, msg, signedIn } from './support.mjs';

const ok = (id) => ({ type: 'ok', id });

/**
 * What the page gives Outbox.pump, with a server that answers each command
 * from `replies` in turn (a reply, an Error to throw, or a function of the
 * command), and a record of everything that happened.
 */
function fakePage(replies, { ready = () => true, convs = new Set(['#lobby']) } = {}) {
  const page = {
    sent: [], acked: [], failed: [], held: [], slept: [], statesWhileSending: [], connected: true,
  };
  page.io = {
    hasConv: (key) => convs.has(key),
    ready,
    connected: () => page.connected,
    target: (entry) => (entry.type === 'msg' ? 'bob' : '#lobby'),
    me: () => 'alice',
    send: async (cmd) => {
      page.sent.push({ ...cmd });
      page.statesWhileSending.push(page.outbox ? [...page.outbox.entries.values()].map((e) => e.state) : []);
      const r = replies.shift();
      if (r instanceof Error) {
        if (r.offline && !r.notSent) page.connected = false;
        throw r;
      }
      return typeof r === 'function' ? r(cmd) : r;
    },
    acked: (entry, reply) => page.acked.push([entry.text, reply.id]),
    failed: (entry, message) => page.failed.push([entry.text, message]),
    held: (entry, reply) => page.held.push([entry.text, reply.code]),
    sleep: async (ms) => { page.slept.push(ms); },
  };
  return page;
}

function outboxWith(page, ...texts) {
  const outbox = new Outbox();
  page.outbox = outbox;
  const entries = texts.map(([type, text]) => outbox.add(type === 'msg' ? 'pm:bob' : '#lobby', type, text));
  return { outbox, entries };
}

describe('sending', () => {
  test('queued, then sending, then acknowledged, in the order typed', async () => {
    const page = fakePage([ok(1), ok(2)], { convs: new Set(['#lobby']) });
    const { outbox, entries } = outboxWith(page, ['say', 'one'], ['action', 'waves']);
    assert.deepEqual(entries.map((e) => e.state), ['queued', 'queued']);
    await outbox.pump(page.io);
    assert.deepEqual(page.statesWhileSending, [['sending', 'queued'], ['sending']]);
    assert.deepEqual(page.sent, [
      { type: 'say', room: '#lobby', text: 'one', cid: entries[0].cid },
      { type: 'action', room: '#lobby', text: 'waves', cid: entries[1].cid },
    ]);
    assert.deepEqual(page.acked, [['one', 1], ['waves', 2]]);
    assert.deepEqual(entries.map((e) => e.state), ['done', 'done']);
    assert.equal(outbox.entries.size, 0);
  });

  test('a reply names the message it answers; a multi-line say goes as typed, with its line breaks', async () => {
    const page = fakePage([ok(8), ok(9)]);
    const outbox = new Outbox();
    const reply = outbox.add('#lobby', 'say', 'me too', { reply: { id: 7, nick: 'bob', text: 'lunch?' } });
    const lines = outbox.add('#lobby', 'say', 'one\ntwo\nthree');
    await outbox.pump(page.io);
    assert.deepEqual(page.sent, [
      { type: 'say', room: '#lobby', text: 'me too', cid: reply.cid, reply_to: 7 },
      { type: 'say', room: '#lobby', text: 'one\ntwo\nthree', cid: lines.cid },
    ]);
  });

  test('a private message goes as msg, without a cid', async () => {
    const page = fakePage([ok()], { convs: new Set(['pm:bob']) });
    const { outbox } = outboxWith(page, ['msg', 'psst']);
    await outbox.pump(page.io);
    assert.deepEqual(page.sent, [{ type: 'msg', to: 'bob', text: 'psst' }]);
  });

  test('nothing goes before the page is ready (nick taken, room synced)', async () => {
    let ready = false;
    const page = fakePage([ok(1)], { ready: () => ready });
    const { outbox, entries } = outboxWith(page, ['say', 'early']);
    await outbox.pump(page.io);
    assert.deepEqual(page.sent, []);
    assert.equal(entries[0].state, 'queued');
    ready = true;
    await outbox.pump(page.io);
    assert.equal(page.sent.length, 1);
  });

  test('what was queued for a conversation since closed is dropped', async () => {
    const page = fakePage([], { convs: new Set() });
    const { outbox } = outboxWith(page, ['say', 'orphan']);
    await outbox.pump(page.io);
    assert.deepEqual(page.sent, []);
    assert.equal(outbox.entries.size, 0);
  });

  test('a pump asked for while one runs makes it go round again', async () => {
    const page = fakePage([ok(1), ok(2)]);
    const { outbox } = outboxWith(page, ['say', 'first']);
    page.io.acked = (entry) => {
      if (entry.text === 'first') {
        outbox.add('#lobby', 'say', 'typed meanwhile');
        outbox.pump(page.io); // returns at once: the running pump takes it
      }
    };
    await outbox.pump(page.io);
    assert.deepEqual(page.sent.map((c) => c.text), ['first', 'typed meanwhile']);
  });
});

describe('refused and lost', () => {
  test('a refusal fails the entry; Retry resends it with the same cid', async () => {
    const page = fakePage([{ type: 'error', code: 'too-long', message: 'The message is too long.' }, ok(9)]);
    const { outbox, entries: [entry] } = outboxWith(page, ['say', 'long']);
    await outbox.pump(page.io);
    assert.equal(entry.state, 'failed');
    assert.deepEqual(page.failed, [['long', 'The message is too long.']]);
    assert.equal(outbox.entries.size, 0, 'a failed entry is not resent by itself');
    await outbox.pump(page.io);
    assert.equal(page.sent.length, 1);

    assert.equal(outbox.retry(entry.id), entry);
    assert.equal(entry.state, 'queued');
    await outbox.pump(page.io);
    assert.equal(page.sent.length, 2);
    assert.equal(page.sent[1].cid, page.sent[0].cid);
    assert.equal(entry.state, 'done');
    assert.equal(outbox.retry(entry.id), null, 'retried once, gone from the failed ones');
  });

  test('a say lost before its reply is resent after the reconnect, with the same cid', async () => {
    const page = fakePage([new OfflineError('The connection was lost.'), ok(5), ok(6)]);
    const { outbox, entries: [entry] } = outboxWith(page, ['say', 'hello'], ['say', 'second']);
    await outbox.pump(page.io);
    assert.equal(entry.state, 'queued');
    assert.equal(page.sent.length, 1, 'the pump stops when the connection is lost');
    assert.deepEqual(page.failed, []);

    page.connected = true;
    await outbox.pump(page.io);
    assert.equal(page.sent[1].cid, page.sent[0].cid);
    assert.equal(page.sent[1].text, 'hello');
    assert.equal(entry.tries, 2);
    assert.equal(entry.state, 'done');
    assert.deepEqual(page.sent.map((c) => c.text), ['hello', 'hello', 'second'], 'in the order typed');
  });

  test('a private message lost before its reply fails: resending could deliver it twice', async () => {
    const page = fakePage([new OfflineError('The connection was lost.')], { convs: new Set(['pm:bob']) });
    const { outbox, entries: [entry] } = outboxWith(page, ['msg', 'psst']);
    await outbox.pump(page.io);
    assert.equal(entry.state, 'failed');
    assert.match(page.failed[0][1], /may not have been delivered/);
  });

  test('a private message that certainly never left is resent', async () => {
    const page = fakePage([new OfflineError('Not connected.', true), ok()], { convs: new Set(['pm:bob']) });
    const { outbox, entries: [entry] } = outboxWith(page, ['msg', 'psst']);
    await outbox.pump(page.io);
    assert.equal(entry.state, 'queued');
    await outbox.pump(page.io);
    assert.equal(page.sent.length, 2);
    assert.equal(entry.state, 'done');
  });

  test('held by flood control: waits longer each time, then sends', async () => {
    const limited = { type: 'error', code: 'rate-limited', message: 'Slow down; wait 1 s.' };
    const page = fakePage([limited, limited, ok(3)]);
    const { outbox, entries: [entry] } = outboxWith(page, ['say', 'fast']);
    await outbox.pump(page.io);
    assert.deepEqual(page.slept, [1000, 2000]);
    assert.equal(page.held.length, 2);
    assert.equal(entry.state, 'done');
    assert.equal(new Set(page.sent.map((c) => c.cid)).size, 1);
  });

  test('held too often, it fails', async () => {
    const limited = { type: 'error', code: 'rate-limited', message: 'Slow down.' };
    const page = fakePage(Array(6).fill(limited));
    const { outbox, entries: [entry] } = outboxWith(page, ['say', 'fast']);
    await outbox.pump(page.io);
    assert.equal(entry.state, 'failed');
    assert.equal(page.sent.length, 6);
  });
});

describe('settled by what the server already has', () => {
  test('its echo (live or in a history) settles it by cid', () => {
    const { state, room } = signedIn();
    const live = state.outbox.add(room.key, 'say', 'live');
    state.outbox.command(live, 'alice', room.name);
    const echo = receive(state, room, msg(2, { from: 'alice', text: 'live', cid: live.cid }), { live: true });
    assert.equal(echo.settled, live);
    assert.equal(echo.unread, null, 'our own message is not unread');

    const entry = state.outbox.add(room.key, 'say', 'hi');
    state.outbox.command(entry, 'alice', room.name);
    assert.equal(state.outbox.settleByEcho(room.key, msg(3, { from: 'alice', text: 'hi', cid: 'other' })), null);
    assert.equal(state.outbox.settleByEcho('#elsewhere', msg(3, { from: 'alice', text: 'hi', cid: entry.cid })), null);
    assert.equal(state.outbox.settleByEcho(room.key, msg(3, { from: 'alice', text: 'hi', cid: entry.cid })), entry);
    assert.equal(entry.state, 'done');
    assert.equal(state.outbox.entries.size, 0);
  });

  test('a retried message already in the replay is settled, not sent again', async () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([msg(1)]));
    const entry = state.outbox.add(room.key, 'say', 'are you there?');
    state.outbox.command(entry, 'alice', room.name);
    state.outbox.lost(entry, new OfflineError('The connection was lost.'), {}); // stored, but the ok never came
    assert.equal(entry.state, 'queued');

    resetJoin(room);
    startJoin(room);
    const plan = joinHistory(state, room, history([msg(2, { from: 'alice', text: 'are you there?', cid: entry.cid })]));
    assert.deepEqual(plan.settled, [entry]);
    assert.equal(entry.state, 'done');
    assert.equal(plan.items[0].status, 'new', 'drawn from its event, in its place');
    const page = fakePage([]);
    await state.outbox.pump(page.io);
    assert.deepEqual(page.sent, []);
  });

  test('sent under another nick, the replay without cid still settles it', () => {
    // The old connection kept "alice"; this one was "alice_" when it sent.
    const { state, room } = signedIn('alice_');
    startJoin(room);
    joinHistory(state, room, history([msg(1)]));
    const sent = state.outbox.add(room.key, 'action', 'waves');
    state.outbox.command(sent, 'alice_', room.name);
    sent.state = 'queued'; // lost before the reply
    const unsent = state.outbox.add(room.key, 'action', 'waves');
    resetJoin(room);
    startJoin(room);
    const plan = joinHistory(state, room, history([msg(2, { from: 'Alice_', text: 'waves', type: 'action' })]));
    assert.deepEqual(plan.settled, [sent]);
    assert.equal(unsent.state, 'queued', 'a message never sent is not in any replay');
  });

  test('a replay of someone else saying the same, or of a say for an action, settles nothing', () => {
    const { state, room } = signedIn();
    startJoin(room);
    joinHistory(state, room, history([]));
    const entry = state.outbox.add(room.key, 'say', 'hi');
    state.outbox.command(entry, 'alice', room.name);
    entry.state = 'queued';
    resetJoin(room);
    startJoin(room);
    const plan = joinHistory(state, room, history([
      msg(1, { from: 'bob', text: 'hi' }), msg(2, { from: 'alice', text: 'hi', type: 'action' }),
      msg(3, { from: 'alice', text: 'hi', cid: 'another-tab' }),
    ]));
    assert.deepEqual(plan.settled, []);
    assert.equal(entry.state, 'queued');
  });

  test("a private message's echo settles it while sending, or pairs with its ok after", () => {
    const outbox = new Outbox();
    const sending = outbox.add('pm:bob', 'msg', 'one');
    outbox.command(sending, 'alice', 'bob');
    assert.equal(outbox.settlePrivateEcho('pm:bob', 'one'), sending);

    const acked = outbox.add('pm:bob', 'msg', 'two');
    outbox.command(acked, 'alice', 'bob');
    outbox.acknowledge(acked);
    outbox.awaitPrivateEcho(acked, 1000);
    assert.equal(outbox.settlePrivateEcho('pm:bob', 'two'), null);
    assert.equal(outbox.pairPrivateEcho('pm:bob', 'two', 2000).id, acked.id);
    assert.equal(outbox.pairPrivateEcho('pm:bob', 'two', 2000), null, 'paired once');

    const late = outbox.add('pm:bob', 'msg', 'three');
    outbox.awaitPrivateEcho(late, 1000);
    assert.equal(outbox.pairPrivateEcho('pm:bob', 'three', 62000), null, 'a minute on, an echo is a new message');
  });
});
