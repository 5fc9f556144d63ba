// The HTTP long-poll transport, for when a WebSocket cannot get through
// (docs/protocol.md, "Long-poll"). Same interface as websocket.js.

import { OfflineError, Pending, backoffDelay, noop, sleep } from './pending.js';

/** What a poll returns when the server no longer knows the session. */
const EXPIRED = Symbol('expired');

export class LongPollTransport {
  constructor(base = 'api', hooks = {}) {
    this.kind = 'longpoll';
    this.base = base.replace(/\/$/, '');
    this.onEvent = hooks.onEvent || noop;
    this.onClose = hooks.onClose || noop;
    this.onHealth = hooks.onHealth || noop;
    this.pending = new Pending();
    this.token = null;
    this.after = 0;
    this.closed = false;
    this.abortPoll = null;
    this.failures = 0;
    this.pollTimeout = 25;
    this.lastInbound = Date.now();
  }

  _url(path) {
    return `${this.base}/sessions/${encodeURIComponent(this.token)}${path}`;
  }

  async open() {
    const res = await fetch(`${this.base}/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
      cache: 'no-store',
    });
    if (res.status !== 201 && res.status !== 200) {
      const err = new Error(`Starting a long-poll session failed (HTTP ${res.status}).`);
      err.status = res.status;
      throw err;
    }
    const data = await res.json();
    if (!data || typeof data.session !== 'string') throw new Error('The server did not give a session.');
    this.token = data.session;
    this._loop();
    return data.welcome || { type: 'welcome', transport: 'longpoll', limits: {} };
  }

  async _loop() {
    while (!this.closed) {
      let data;
      try {
        data = await this._poll();
      } catch (e) {
        if (this.closed) return;
        await this._backOff(e);
        continue;
      }
      if (data === EXPIRED || this.closed) return;
      this._healthy();
      if (!this._deliver(Array.isArray(data && data.events) ? data.events : [])) return;
    }
  }

  /** One poll: its JSON body, or EXPIRED. Throws if it failed (the loop retries). */
  async _poll() {
    const ctrl = new AbortController();
    this.abortPoll = ctrl;
    const guard = setTimeout(() => ctrl.abort(), (this.pollTimeout + 15) * 1000);
    // After a failure, ask for an answer at once: the page learns without
    // waiting a whole hold that the server answers again.
    const timeout = this.failures ? 0 : this.pollTimeout;
    try {
      const res = await fetch(this._url(`/events?after=${this.after}&timeout=${timeout}`), {
        signal: ctrl.signal,
        cache: 'no-store',
      });
      if (res.status === 404 || res.status === 410) {
        this._expired('The long-poll session expired.');
        return EXPIRED;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return await res.json();
    } finally {
      clearTimeout(guard);
    }
  }

  async _backOff(error) {
    const delay = backoffDelay(this.failures++);
    this.onHealth({ ok: false, retryAt: Date.now() + delay, error: error.message });
    await sleep(delay);
  }

  _healthy() {
    this.lastInbound = Date.now();
    if (this.failures) {
      this.failures = 0;
      this.onHealth({ ok: true });
    }
  }

  /** Hand a poll's events on, each once; false if the session ended. */
  _deliver(events) {
    for (const ev of events) {
      if (this.closed) return false;
      if (!ev || typeof ev !== 'object') continue;
      if (typeof ev.seq === 'number') {
        if (ev.seq <= this.after) continue; // already processed
        this.after = ev.seq;
      }
      if (ev.type === 'error' && ev.code === 'overflow') {
        // Events were dropped: this session cannot resume without a gap.
        this.onEvent(ev);
        this._expired(ev.message || 'The session fell too far behind.', true);
        return false;
      }
      if ((ev.type === 'ok' || ev.type === 'error') && this.pending.settle(ev)) continue;
      if (ev.type === 'ok') continue;
      try {
        this.onEvent(ev);
      } catch (e) {
        console.error('chatd: event handler failed', e, ev);
      }
    }
    return true;
  }

  _expired(reason, discard = false) {
    if (this.closed) return;
    this.closed = true;
    if (this.abortPoll) this.abortPoll.abort();
    this.pending.failAll(new OfflineError(reason));
    if (discard) this._delete();
    this.onClose({ expired: true, reason });
  }

  async send(cmd) {
    if (this.closed) throw new OfflineError('Not connected.', true);
    const p = this.pending.add(cmd);
    let res;
    try {
      res = await fetch(this._url('/commands'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(cmd),
        cache: 'no-store',
      });
    } catch (e) {
      this.pending.drop(cmd.ref, new OfflineError(`The command could not be sent: ${e.message}`));
      return p;
    }
    if (res.status === 404 || res.status === 410) {
      this.pending.drop(cmd.ref, new OfflineError('The long-poll session expired.'));
      this._expired('The long-poll session expired.');
      return p;
    }
    if (res.status === 503) {
      // The server node holding the session did not answer (a cluster), or
      // could not reach its store: the command may or may not have run.
      // As when a connection drops before the reply: a say is resent with
      // its cid. The session goes on; the poll starts again after a short
      // backoff, and once it is answered the connection is well again
      // (onHealth), which resends what is queued.
      this.pending.drop(cmd.ref, new OfflineError('The server did not answer the command (HTTP 503).'));
      this.failures = Math.max(this.failures, 1);
      if (this.abortPoll) this.abortPoll.abort();
      return p;
    }
    let reply = null;
    try {
      reply = await res.json();
    } catch {
      reply = null;
    }
    if (!reply || (reply.type !== 'ok' && reply.type !== 'error')) {
      reply = {
        type: 'error',
        code: res.status === 413 ? 'too-long' : res.status === 429 ? 'rate-limited' : 'internal',
        message: `The server answered HTTP ${res.status}.`,
      };
    }
    if (reply.ref === undefined || reply.ref === null) reply.ref = cmd.ref;
    if (!this.pending.settle(reply)) this.pending.drop(cmd.ref, new OfflineError('No reply.'));
    return p;
  }

  _delete() {
    if (!this.token) return;
    try {
      fetch(this._url(''), { method: 'DELETE', keepalive: true, cache: 'no-store' }).catch(noop);
    } catch {
      /* page is going away */
    }
  }

  /** Close on purpose (and DELETE the session); onClose is not called. */
  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.abortPoll) this.abortPoll.abort();
    this.pending.failAll(new OfflineError('The connection was closed.'));
    this._delete();
  }

  abort(reason) {
    this._expired(reason, true);
  }
}
