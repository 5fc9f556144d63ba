// The long-poll transport (web/js/longpoll.js) and the Connection over it,
// against a fake chatd API: a session the server no longer has (404
// session-lost when its node stopped, or no-such-session) is replaced at
// once by a new one, announced with onSession (the page then logs in again
// with its stored token and rejoins each room with since: session.js), and
// nothing the old session delivered is delivered again. A 503 (the node
// holding the session did not answer) loses the reply, not the session.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { Connection } from '../../../web/js/connection.js';
import { joinHistory, receive, resetJoin, startJoin } from '../../../web/js/conversation.js';
import { LongPollTransport } from '../../../web/js/longpoll.js';
import { Outbox } from '../../../web/js/outbox.js';
import { history, msg, signedIn } from './support.mjs';

const LOST = {
  type: 'error',
  code: 'session-lost',
  message: 'The server node holding this session stopped; create a new session and join your rooms again with since.',
};
const NONE = { type: 'error', code: 'no-such-session', message: 'No such session: it ended or expired. Create a new one.' };

const reply = (status, body) => new Response(body === undefined ? null : JSON.stringify(body), {
  status,
  headers: { 'Content-Type': 'application/json' },
});

/**
 * The long-poll API of docs/protocol.md, in memory. Each session has a
 * queue of events numbered by seq; a poll waits until there is one after
 * its cursor (or the session goes), as a held poll does.
 */
class FakeApi {
  constructor() {
    this.sessions = new Map();
    this.made = 0;
    this.requests = [];
    this.commands = [];
    this.answer = (token, cmd) => ({ type: 'ok', ref: cmd.ref });
  }

  session(token) {
    return this.sessions.get(token);
  }

  /** Queue an event for a session (numbered as the server does) and wake its poll. */
  push(token, ev) {
    const s = this.sessions.get(token);
    s.events.push({ seq: ++s.seq, ...ev });
    this.wake(s);
  }

  /** The session is gone as the server says it: code is session-lost or no-such-session. */
  lose(token, body = LOST) {
    const s = this.sessions.get(token);
    s.gone = body;
    this.wake(s);
  }

  wake(s) {
    const waiters = s.waiters;
    s.waiters = [];
    for (const w of waiters) w();
  }

  get tokens() {
    return [...this.sessions.keys()];
  }

  fetch = async (url, opts = {}) => {
    const method = opts.method || 'GET';
    this.requests.push(`${method} ${url}`);
    if (method === 'POST' && /\/sessions$/.test(url)) {
      const token = `S${++this.made}`;
      this.sessions.set(token, { seq: 0, events: [], waiters: [], gone: null, acked: 0 });
      return reply(201, { session: token, welcome: { type: 'welcome', server: 'fake', transport: 'longpoll', limits: {} } });
    }
    const [, token, rest] = /\/sessions\/([^/?]+)(.*)$/.exec(url);
    const s = this.sessions.get(decodeURIComponent(token));
    if (!s) return reply(404, NONE);
    if (method === 'DELETE') {
      s.gone = NONE;
      return reply(204);
    }
    if (rest.startsWith('/commands')) {
      if (s.gone) return reply(404, s.gone);
      const cmd = JSON.parse(opts.body);
      this.commands.push({ token, ...cmd });
      const r = this.answer(token, cmd);
      return r instanceof Response ? r : reply(200, r);
    }
    const query = new URL(url, 'http://x').searchParams;
    const after = Number(query.get('after'));
    for (;;) {
      if (s.gone) return reply(404, s.gone);
      s.acked = Math.max(s.acked, after);
      const events = s.events.filter((e) => e.seq > after);
      if (events.length || query.get('timeout') === '0') {
        return reply(200, { events, last: events.length ? events[events.length - 1].seq : after });
      }
      await new Promise((resolve, reject) => {
        s.waiters.push(resolve);
        if (opts.signal) opts.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
  };
}

/** Resolves once check() holds (the transport runs on the event loop meanwhile); fails after 2 s. */
async function until(check, what) {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

let api;
let realFetch;
let transports;
beforeEach(() => {
  api = new FakeApi();
  realFetch = globalThis.fetch;
  globalThis.fetch = api.fetch;
  transports = [];
});
afterEach(() => {
  for (const t of transports) t.close();
  globalThis.fetch = realFetch;
});

/** A transport closed when the test ends, whatever happens. */
function transport(hooks = {}) {
  const t = new LongPollTransport('api', hooks);
  transports.push(t);
  return t;
}

describe('the long-poll transport', () => {
  for (const [code, body] of [['session-lost', LOST], ['no-such-session', NONE]]) {
    test(`a poll answered 404 ${code} ends the transport as expired, at once`, async () => {
      const closed = [];
      const events = [];
      const t = transport({ onEvent: (ev) => events.push(ev), onClose: (info) => closed.push(info) });
      await t.open();
      api.push('S1', { type: 'message', room: '#lobby', from: 'bob', text: 'one', id: 1 });
      await until(() => events.length === 1, 'the first event');
      api.lose('S1', body);
      await until(() => closed.length === 1, 'the close');
      assert.equal(closed[0].expired, true);
      assert.equal(t.closed, true);
      const polls = api.requests.filter((r) => r.includes('/events'));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(api.requests.filter((r) => r.includes('/events')).length, polls.length, 'it stops polling');
    });
  }

  test('a command answered 404 session-lost fails as sent-but-unanswered, so a say is resent with its cid', async () => {
    const closed = [];
    const t = transport({ onClose: (info) => closed.push(info) });
    await t.open();
    api.lose('S1');
    await assert.rejects(t.send({ type: 'say', room: '#lobby', text: 'hi', cid: 'c1' }), (e) => e.offline && !e.notSent);
    assert.equal(closed.length, 1);
    assert.equal(closed[0].expired, true);
  });

  test('a command answered 503 loses its reply, not the session: the next good poll says so', async () => {
    const health = [];
    const t = transport({ onHealth: (h) => health.push(h) });
    await t.open();
    api.answer = () => reply(503, { type: 'error', code: 'unavailable', message: 'The server node holding this session did not answer in time.' });
    await assert.rejects(t.send({ type: 'say', room: '#lobby', text: 'hi', cid: 'c1' }), (e) => e.offline && !e.notSent);
    assert.equal(t.closed, false, 'the session goes on');
    await until(() => health.length >= 1, 'the transport to say it is unwell');
    assert.equal(health[0].ok, false);
    await until(() => health.at(-1).ok === true, 'the transport to be well again (the page then resends)');
    assert.equal(api.tokens.length, 1, 'the same session');
  });

  test('the outbox keeps a say whose reply a 503 lost, and resends it with the same cid', async () => {
    const t = transport();
    await t.open();
    const outbox = new Outbox();
    const entry = outbox.add('#lobby', 'say', 'hello');
    let replies = [reply(503, { type: 'error', code: 'unavailable', message: 'no answer' })];
    api.answer = (token, cmd) => replies.shift() || { type: 'ok', ref: cmd.ref, id: 7, room: '#lobby', cid: cmd.cid };
    const io = {
      hasConv: () => true, ready: () => true, connected: () => !t.closed, send: (cmd) => t.send(cmd),
      target: () => '#lobby', me: () => 'alice', acked: () => {}, failed: () => assert.fail('it must not fail'),
      held: () => {}, sleep: async () => {},
    };
    await outbox.pump(io);
    assert.equal(entry.state, 'queued', 'lost before its reply: queued again');
    await outbox.pump(io);
    assert.equal(entry.state, 'done', 'acknowledged');
    const says = api.commands.filter((c) => c.type === 'say');
    assert.equal(says.length, 2);
    assert.equal(says[0].cid, says[1].cid, 'the same cid: the server posts it once');
  });
});

describe('a lost session is replaced at once', () => {
  let conn;
  afterEach(() => conn && conn.stop());

  test('a new session is made without waiting, announced again, and nothing old is delivered twice', async () => {
    const sessions = [];
    const events = [];
    const states = [];
    conn = new Connection({ mode: 'longpoll', wsUrl: 'ws://unused', apiBase: 'api' }, {
      onEvent: (ev) => events.push(ev),
      onSession: (welcome, kind) => sessions.push([welcome.transport, kind]),
      onState: (s) => states.push(s.state),
    });
    conn.start();
    await until(() => sessions.length === 1, 'the first session');
    api.push('S1', { type: 'message', room: '#lobby', from: 'bob', text: 'one', id: 1 });
    api.push('S1', { type: 'message', room: '#lobby', from: 'bob', text: 'two', id: 2 });
    await until(() => events.length === 2, 'the first events');

    const started = Date.now();
    api.lose('S1');
    await until(() => sessions.length === 2, 'a second session');
    assert.ok(Date.now() - started < 1000, 'no backoff before replacing an expired session');
    assert.deepEqual(api.tokens, ['S1', 'S2']);
    assert.deepEqual(sessions, [['longpoll', 'longpoll'], ['longpoll', 'longpoll']]);
    assert.equal(conn.connected, true);

    api.push('S2', { type: 'message', room: '#lobby', from: 'bob', text: 'three', id: 3 });
    await until(() => events.length === 3, 'the new session\'s event');
    assert.deepEqual(events.map((e) => e.text), ['one', 'two', 'three']);
  });

  test('with the rooms resumed from their cursors, every message is shown once', async () => {
    // What the page does on each new session (session.js handleSession):
    // join each room with since = its cursor; the join's history brings
    // what was posted meanwhile.
    const { state, room } = signedIn();
    const shown = [];
    const roomLog = [];
    const members = new Set();
    const post = (m) => {
      roomLog.push(m);
      for (const token of members) api.push(token, m);
    };
    const joins = [];
    api.answer = (token, cmd) => {
      if (cmd.type === 'join') {
        joins.push([token, cmd.since]);
        members.add(token);
        api.push(token, history(roomLog.filter((m) => cmd.since === undefined || m.id > cmd.since)));
        return { type: 'ok', ref: cmd.ref, room: '#lobby' };
      }
      return { type: 'ok', ref: cmd.ref };
    };
    conn = new Connection({ mode: 'longpoll', wsUrl: 'ws://unused', apiBase: 'api' }, {
      onEvent: (ev) => {
        if (ev.type === 'history') {
          for (const item of joinHistory(state, room, ev).items) if (item.status === 'new') shown.push(item.m.id);
        } else if (ev.type === 'message' && receive(state, room, ev, { live: true }).status === 'new') {
          shown.push(ev.id);
        }
      },
      onSession: () => {
        resetJoin(room);
        conn.send(startJoin(room));
      },
    });
    for (let id = 1; id <= 5; id++) post(msg(id));
    conn.start();
    await until(() => shown.length === 5, "the first join's scrollback");
    post(msg(6));
    await until(() => shown.length === 6, 'a live message');

    members.delete('S1');
    api.lose('S1');
    post(msg(7)); // while the page makes its new session
    await until(() => joins.length === 2, 'the rejoin on the new session');
    assert.deepEqual(joins, [['S1', undefined], ['S2', 6]]);
    await until(() => shown.length === 7, 'the resume history');
    api.push('S2', roomLog[6]); // the same message again, live
    post(msg(8));
    await until(() => shown.includes(8), "the new session's live message");
    assert.deepEqual(shown, [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
