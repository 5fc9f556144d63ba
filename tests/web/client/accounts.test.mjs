// The login kept between visits and tabs, and the private messages of an
// account: the cursor a reconnect resumes from, each message shown once
// (live, on another connection, then again in a replay), in stream order.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { K_LOGIN, Persist } from '../../../web/js/persist.js';
import { privatePeer, privateSince, resetPrivates, takePrivate, takeReplay } from '../../../web/js/privates.js';
import { createState, setMe } from '../../../web/js/state.js';
import { memoryStorage } from './support.mjs';

/** A private event as the server sends it (docs/accounts.md). */
const pm = (id, from = 'bob', to = 'alice', text = `private ${id}`) => ({ type: 'private', from, to, text, id, ts: '2026-11-27T20:10:00.000Z' });
const replay = (messages, truncated = false) => ({ type: 'privates', messages, truncated });

function loggedIn(nick = 'alice', account = nick) {
  const state = createState();
  setMe(state, nick);
  state.account = account;
  return state;
}

describe('the stored login', () => {
  test('a login is kept in local storage (every tab sees it) and forgotten on logout', () => {
    const local = memoryStorage();
    const session = memoryStorage();
    const persist = new Persist(local, session);
    assert.equal(persist.login(), null, 'nothing stored on a first visit');
    persist.setLogin({ account: 'alice', token: 'q7Vx2mJ0', extra: 'not kept' });
    assert.deepEqual(new Persist(local, memoryStorage()).login(), { account: 'alice', token: 'q7Vx2mJ0' },
      'another tab (same local storage, its own session storage) reads the same login');
    assert.equal(session.items.size, 0, 'the token is not in session storage');
    assert.deepEqual(JSON.parse(local.getItem(K_LOGIN)), { account: 'alice', token: 'q7Vx2mJ0' });
    persist.setLogin(null);
    assert.equal(persist.login(), null);
    assert.equal(local.getItem(K_LOGIN), null, 'a logout leaves no token behind');
  });

  test('a damaged or foreign value is no login', () => {
    const local = memoryStorage();
    const persist = new Persist(local, memoryStorage());
    for (const raw of ['{not json', '"a string"', '{"account":"alice"}', '{"account":"alice","token":""}',
      '{"account":7,"token":"t"}', 'null']) {
      local.setItem(K_LOGIN, raw);
      assert.equal(persist.login(), null, raw);
    }
  });

  test('the login and the nick are kept apart: the nick may change, the account does not', () => {
    const persist = new Persist(memoryStorage(), memoryStorage());
    persist.setLogin({ account: 'alice', token: 't' });
    persist.setNick('alice_away');
    assert.equal(persist.login().account, 'alice');
    assert.equal(persist.nick(), 'alice_away');
  });

  test('storage that refuses everything: the page still works, it only forgets', () => {
    const broken = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('full'); }, removeItem() { throw new Error('denied'); } };
    const persist = new Persist(broken, null);
    persist.setLogin({ account: 'alice', token: 't' });
    assert.equal(persist.login(), null);
  });
});

describe('private messages between accounts', () => {
  test('a fresh page has received nothing: its login asks for the latest, without since', () => {
    const state = loggedIn();
    assert.equal(privateSince(state), undefined);
  });

  test('the cursor is the highest id received; a reconnect resumes after it', () => {
    const state = loggedIn();
    assert.deepEqual(takeReplay(state, replay([pm(3), pm(5)])).map((m) => m.id), [3, 5]);
    assert.equal(takePrivate(state, pm(7)), true);
    assert.equal(privateSince(state), 7);
  });

  test('each id is shown once: live on two connections, then again in a replay', () => {
    const state = loggedIn();
    assert.equal(takePrivate(state, pm(1)), true);
    assert.equal(takePrivate(state, pm(1)), false, 'the same message again');
    const fresh = takeReplay(state, replay([pm(1), pm(2)]));
    assert.deepEqual(fresh.map((m) => m.id), [2], 'the replay draws only what was not shown');
  });

  test('a replay is drawn in stream order, whatever order it comes in', () => {
    const state = loggedIn();
    const drawn = takeReplay(state, replay([pm(9), pm(4), pm(6)]));
    assert.deepEqual(drawn.map((m) => m.id), [4, 6, 9]);
    assert.equal(privateSince(state), 9);
  });

  test('a message older than the cursor that never came is still shown (ids may arrive out of order)', () => {
    const state = loggedIn();
    takePrivate(state, pm(8));
    assert.equal(takePrivate(state, pm(7)), true);
    assert.equal(privateSince(state), 8, 'the cursor never moves back');
  });

  test('messages with a guest carry no id: always shown, the cursor stays', () => {
    const state = loggedIn();
    const guest = { type: 'private', from: 'Guest-1234', to: 'alice', text: 'hi', ts: '2026-11-27T20:10:00.000Z' };
    assert.equal(takePrivate(state, guest), true);
    assert.equal(takePrivate(state, guest), true);
    assert.equal(privateSince(state), undefined);
  });

  test('another account starts from nothing', () => {
    const state = loggedIn();
    takePrivate(state, pm(12));
    resetPrivates(state);
    assert.equal(privateSince(state), undefined);
    assert.equal(takePrivate(state, pm(12)), true);
  });

  test('a replay holding something that is not a message draws the rest', () => {
    const state = loggedIn();
    const drawn = takeReplay(state, replay([null, 'x', { id: 3 }, pm(4)]));
    assert.deepEqual(drawn.map((m) => m.id), [4]);
    assert.deepEqual(takeReplay(state, { type: 'privates' }), []);
  });

  test('the conversation is with the other person; ours when we sent it, under any nick of ours', () => {
    const state = loggedIn('alice');
    assert.deepEqual(privatePeer(state, pm(1, 'bob', 'alice')), { fromMe: false, peer: 'bob' });
    assert.deepEqual(privatePeer(state, pm(2, 'alice', 'bob')), { fromMe: true, peer: 'bob' });
    state.myNicks.add('alice_');
    assert.deepEqual(privatePeer(state, pm(3, 'alice_', 'bob')), { fromMe: true, peer: 'bob' }, 'sent under a nick this page used');
    const renamed = loggedIn('ally', 'alice');
    assert.deepEqual(privatePeer(renamed, pm(4, 'alice', 'bob')), { fromMe: true, peer: 'bob' }, 'a replay names the account');
    assert.deepEqual(privatePeer(renamed, pm(5, 'bob', 'ally')), { fromMe: false, peer: 'bob' });
  });
});
