// The pace the page keeps below the server's flood limit: what the user
// sends waits its turn; a typing notice, news only for a moment, goes only
// when the pace has room to spare, so it never holds a message back.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Connection } from '../../../web/js/connection.js';

/** A Connection on a fake transport that answers ok at once and records what was sent. */
function connected() {
  const conn = new Connection({ mode: 'websocket', wsUrl: 'ws://unused/ws' });
  const sent = [];
  conn.transport = { send: async (cmd) => { sent.push(cmd.type); return { type: 'ok' }; } };
  conn.state = { state: 'connected', transport: 'websocket' };
  return { conn, sent };
}

describe('pace', () => {
  test('a typing notice goes while there is room to spare', async () => {
    const { conn, sent } = connected();
    assert.deepEqual(await conn.spare({ type: 'typing', room: '#lobby', state: 'active' }), { type: 'ok' });
    assert.deepEqual(sent, ['typing']);
  });

  test('once the pace is spent, typing notices are dropped and messages still go, in order', async () => {
    const { conn, sent } = connected();
    conn.tokens = 3.5;
    conn.stamp = Date.now();
    assert.equal(await conn.spare({ type: 'typing', room: '#lobby', state: 'active' }), null);
    await conn.send({ type: 'say', room: '#lobby', text: 'hi' });
    assert.deepEqual(sent, ['say'], 'the message did not wait behind a notice');
  });

  test('offline, nothing is sent', async () => {
    const { conn } = connected();
    conn.transport = null;
    assert.equal(await conn.spare({ type: 'typing', room: '#lobby' }), null);
  });
});
