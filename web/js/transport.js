// Transports for the chatd JSON protocol (docs/protocol.md).
//
// WebSocketTransport and LongPollTransport present the same interface:
//   open()      -> Promise<welcome>
//   send(cmd)   -> Promise<reply>: the `ok` or `error` object whose `ref`
//                  matches; rejects with an OfflineError if the connection
//                  is lost before the reply arrives (the command may or may
//                  not have run).
//   close()
//   hooks: onEvent(event), onClose(info), onHealth({ok, retryAt})
//
// Connection picks a transport (WebSocket first, long-poll if the
// WebSocket cannot get as far as the welcome), reconnects with exponential
// backoff and jitter, and tells the UI about every state change.

export class OfflineError extends Error {
  /** notSent: the command certainly did not leave this page. */
  constructor(message = 'Not connected.', notSent = false) {
    super(message);
    this.name = 'OfflineError';
    this.offline = true;
    this.notSent = notSent;
  }
}

let refCounter = 0;
const nextRef = () => `r${Date.now().toString(36)}.${++refCounter}`;

/** Pending commands, matched to their reply by ref. */
class Pending {
  constructor() {
    this.map = new Map();
  }
  add(cmd) {
    if (cmd.ref === undefined || cmd.ref === null) cmd.ref = nextRef();
    return new Promise((resolve, reject) => this.map.set(cmd.ref, { resolve, reject }));
  }
  settle(reply) {
    if (reply.ref === undefined || reply.ref === null) return false;
    const p = this.map.get(reply.ref);
    if (!p) return false;
    this.map.delete(reply.ref);
    p.resolve(reply);
    return true;
  }
  drop(ref, err) {
    const p = this.map.get(ref);
    if (p) {
      this.map.delete(ref);
      p.reject(err);
    }
  }
  failAll(err) {
    const all = [...this.map.values()];
    this.map.clear();
    for (const p of all) p.reject(err);
  }
}

const noop = () => {};

export function websocketUrl(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws`;
}

export class WebSocketTransport {
  constructor(url, hooks = {}) {
    this.kind = 'websocket';
    this.url = url;
    this.onEvent = hooks.onEvent || noop;
    this.onClose = hooks.onClose || noop;
    this.onHealth = noop;
    this.pending = new Pending();
    this.ws = null;
    this.closed = false;
    this.welcomed = false;
    this.lastInbound = Date.now();
  }

  /** Resolves with the welcome; rejects with err.beforeWelcome = true. */
  open(timeoutMs = 8000) {
    return new Promise((resolve, reject) => {
      let opened = false;
      let settled = false;
      const fail = (why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.closed = true;
        try {
          this.ws.close();
        } catch {
          /* already closed */
        }
        const err = new Error(why);
        err.beforeWelcome = true;
        err.opened = opened;
        reject(err);
      };
      const timer = setTimeout(() => fail('The WebSocket did not get a welcome in time.'), timeoutMs);
      let ws;
      try {
        ws = this.ws = new WebSocket(this.url);
      } catch (e) {
        this.ws = null;
        fail(`The WebSocket could not be created: ${e.message}`);
        return;
      }
      ws.onopen = () => {
        opened = true;
      };
      ws.onerror = () => {
        if (!this.welcomed) fail(opened ? 'The WebSocket failed before the welcome.' : 'The WebSocket could not connect.');
      };
      ws.onclose = (e) => {
        if (!this.welcomed) {
          fail(`The WebSocket closed before the welcome (code ${e.code}).`);
          return;
        }
        this._closed({ code: e.code, reason: e.reason, clean: e.wasClean });
      };
      ws.onmessage = (e) => {
        this.lastInbound = Date.now();
        if (typeof e.data !== 'string') return; // binary frames are not part of the protocol
        let obj;
        try {
          obj = JSON.parse(e.data);
        } catch {
          return;
        }
        if (!obj || typeof obj !== 'object') return;
        if (!this.welcomed) {
          if (obj.type === 'welcome') {
            this.welcomed = true;
            settled = true;
            clearTimeout(timer);
            resolve(obj);
            return;
          }
          // Anything before the welcome is unexpected; pass it on anyway.
        }
        this._inbound(obj);
      };
    });
  }

  _inbound(obj) {
    if ((obj.type === 'ok' || obj.type === 'error') && this.pending.settle(obj)) return;
    if (obj.type === 'ok') return;
    this.onEvent(obj);
  }

  _closed(info) {
    if (this.closed) return;
    this.closed = true;
    this.pending.failAll(new OfflineError('The connection was lost.'));
    this.onClose(info);
  }

  send(cmd) {
    if (this.closed || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new OfflineError('Not connected.', true));
    }
    const p = this.pending.add(cmd);
    try {
      this.ws.send(JSON.stringify(cmd));
    } catch (e) {
      this.pending.drop(cmd.ref, new OfflineError(e.message, true));
    }
    return p;
  }

  /** Close on purpose; onClose is not called. */
  close(code = 1000, reason = '') {
    if (this.closed) return;
    this.closed = true;
    this.pending.failAll(new OfflineError('The connection was closed.'));
    try {
      this.ws.close(code, reason);
    } catch {
      /* ignore */
    }
  }

  /** Treat the connection as dead (a heartbeat went unanswered). */
  abort(reason) {
    try {
      this.ws.close(4000, reason);
    } catch {
      /* ignore */
    }
    this._closed({ code: 4000, reason, clean: false });
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function backoffDelay(attempt, base = 500, max = 30000) {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

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
      const ctrl = new AbortController();
      this.abortPoll = ctrl;
      const guard = setTimeout(() => ctrl.abort(), (this.pollTimeout + 15) * 1000);
      let res;
      let data;
      try {
        res = await fetch(this._url(`/events?after=${this.after}&timeout=${this.pollTimeout}`), {
          signal: ctrl.signal,
          cache: 'no-store',
        });
        if (res.status === 404 || res.status === 410) {
          clearTimeout(guard);
          this._expired('The long-poll session expired.');
          return;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        data = await res.json();
      } catch (e) {
        clearTimeout(guard);
        if (this.closed) return;
        const delay = backoffDelay(this.failures++);
        this.onHealth({ ok: false, retryAt: Date.now() + delay, error: e.message });
        await sleep(delay);
        continue;
      }
      clearTimeout(guard);
      if (this.closed) return;
      this.lastInbound = Date.now();
      if (this.failures) {
        this.failures = 0;
        this.onHealth({ ok: true });
      }
      const events = Array.isArray(data && data.events) ? data.events : [];
      for (const ev of events) {
        if (this.closed) return;
        if (!ev || typeof ev !== 'object') continue;
        if (typeof ev.seq === 'number') {
          if (ev.seq <= this.after) continue; // already processed
          this.after = ev.seq;
        }
        if (ev.type === 'error' && ev.code === 'overflow') {
          // Events were dropped: this session cannot resume without a gap.
          this.onEvent(ev);
          this._expired(ev.message || 'The session fell too far behind.', true);
          return;
        }
        if ((ev.type === 'ok' || ev.type === 'error') && this.pending.settle(ev)) continue;
        if (ev.type === 'ok') continue;
        try {
          this.onEvent(ev);
        } catch (e) {
          console.error('chatd: event handler failed', e, ev);
        }
      }
    }
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

/** Flood control mirror (chatd.core.flood): what each command costs. */
const COSTS = { join: 2, nick: 3, msg: 2 };

/**
 * Owns the current transport and reconnects.
 *
 * options.mode: 'auto' | 'websocket' | 'longpoll'
 * hooks: onEvent(ev), onState(state), onSession(welcome, transportKind)
 *
 * state: {state: 'idle'|'connecting'|'connected'|'reconnecting'|'offline',
 *         transport, retryAt, fallback, resumed}
 */
export class Connection {
  constructor(options = {}, hooks = {}) {
    this.mode = options.mode || 'auto';
    this.wsUrl = options.wsUrl || websocketUrl();
    this.apiBase = options.apiBase || 'api';
    this.onEvent = hooks.onEvent || noop;
    this.onState = hooks.onState || noop;
    this.onSession = hooks.onSession || noop;
    this.transport = null;
    this.running = false;
    this.attempt = 0;
    this.timer = null;
    this.wsBroken = this.mode === 'longpoll';
    this.connectedAt = 0;
    this.state = { state: 'idle', transport: null };
    this.generation = 0;
    this.heartbeat = null;
    // Pace commands below the server's flood limit (3/s, bursts of 12 by
    // default), so a resync that rejoins many rooms is never refused.
    this.rate = 2.7;
    this.burst = 10;
    this.tokens = this.burst;
    this.stamp = Date.now();
    this.paceChain = Promise.resolve();
  }

  _setLimits(welcome) {
    const l = (welcome && welcome.limits) || {};
    const rate = Number(l.flood_rate ?? l.rate);
    const burst = Number(l.flood_burst ?? l.burst);
    if (rate > 0) this.rate = rate * 0.9;
    if (burst > 0) this.burst = Math.max(1, burst - 2);
    this.tokens = this.burst; // a new server session starts with a full bucket
    this.stamp = Date.now();
  }

  /** Wait (in order) until cost tokens are available, and take them. */
  _acquire(cost) {
    const slot = this.paceChain.then(async () => {
      for (;;) {
        const t = Date.now();
        this.tokens = Math.min(this.burst, this.tokens + ((t - this.stamp) / 1000) * this.rate);
        this.stamp = t;
        if (this.tokens >= cost) {
          this.tokens -= cost;
          return;
        }
        await sleep(Math.ceil(((cost - this.tokens) / this.rate) * 1000) + 10);
      }
    });
    this.paceChain = slot.catch(noop);
    return slot;
  }

  get connected() {
    return this.state.state === 'connected' && !!this.transport;
  }

  _setState(s) {
    this.state = s;
    this.onState(s);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this._connect();
    this.heartbeat = setInterval(() => this._beat(), 15000);
  }

  stop() {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
    this.timer = null;
    clearInterval(this.heartbeat);
    const t = this.transport;
    this.transport = null;
    if (t) t.close();
    this._setState({ state: 'offline', transport: null });
  }

  /** Skip the backoff wait. */
  retryNow() {
    if (!this.running || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this._connect();
  }

  /**
   * Send one command, paced; a `rate-limited` refusal (the command did not
   * run) is retried after the wait the server names.
   */
  async send(cmd) {
    if (!this.transport) throw new OfflineError('Not connected.', true);
    const cost = COSTS[cmd.type] || 1;
    for (let attempt = 0; ; attempt++) {
      await this._acquire(cost);
      const t = this.transport;
      if (!t) throw new OfflineError('Not connected.', true);
      const reply = await t.send(cmd);
      if (reply && reply.type === 'error' && reply.code === 'rate-limited' && attempt < 4) {
        const m = /wait ([\d.]+)\s*s/.exec(reply.message || '');
        this.tokens = 0;
        this.stamp = Date.now();
        await sleep(Math.max(300, m ? Number(m[1]) * 1000 + 100 : 1000));
        continue;
      }
      return reply;
    }
  }

  async _connect() {
    const gen = ++this.generation;
    this.timer = null;
    const wantWs = this.mode === 'websocket' || (this.mode === 'auto' && !this.wsBroken);
    this._setState({ state: 'connecting', transport: wantWs ? 'websocket' : 'longpoll', attempt: this.attempt });
    let t = null;
    let welcome = null;
    let fellBack = false;
    if (wantWs) {
      const ws = new WebSocketTransport(this.wsUrl, {});
      try {
        welcome = await ws.open();
        t = ws;
      } catch (e) {
        if (gen !== this.generation) return;
        if (this.mode !== 'auto' || !e.beforeWelcome) {
          this._retry();
          return;
        }
        fellBack = true;
        this._setState({ state: 'connecting', transport: 'longpoll', attempt: this.attempt, fallback: true });
      }
    }
    if (gen !== this.generation) {
      if (t) t.close();
      return;
    }
    if (!t) {
      const lp = new LongPollTransport(this.apiBase, {});
      try {
        welcome = await lp.open();
        t = lp;
      } catch (e) {
        if (gen !== this.generation) return;
        this._retry();
        return;
      }
      // The WebSocket failed but plain HTTP works: something between us
      // and the server kills upgrades. Stay on long-poll from now on.
      if (fellBack) this.wsBroken = true;
    }
    if (gen !== this.generation || !this.running) {
      t.close();
      return;
    }
    t.onEvent = (ev) => {
      if (this.transport === t) this.onEvent(ev);
    };
    t.onClose = (info) => this._lost(t, info);
    t.onHealth = (h) => {
      if (this.transport !== t) return;
      if (h.ok) this._setState({ state: 'connected', transport: t.kind, fallback: this.wsBroken, resumed: true });
      else this._setState({ state: 'reconnecting', transport: t.kind, retryAt: h.retryAt, fallback: this.wsBroken, sameSession: true });
    };
    this.transport = t;
    this._setLimits(welcome);
    this.connectedAt = Date.now();
    this._setState({ state: 'connected', transport: t.kind, fallback: this.wsBroken, fresh: true });
    this.onSession(welcome, t.kind);
  }

  _lost(t, info) {
    if (this.transport !== t) return;
    this.transport = null;
    if (!this.running) return;
    if (Date.now() - this.connectedAt > 10000) this.attempt = 0;
    // A long-poll session that expired can be replaced at once.
    if (info && info.expired && this.attempt === 0) {
      this.attempt = 1;
      this._connect();
      return;
    }
    this._retry(info);
  }

  _retry(info) {
    if (!this.running) return;
    const delay = backoffDelay(this.attempt++);
    const retryAt = Date.now() + delay;
    this._setState({
      state: 'reconnecting',
      transport: this.wsBroken || this.mode === 'longpoll' ? 'longpoll' : 'websocket',
      retryAt,
      reason: info && info.reason,
    });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), delay);
  }

  /** A WebSocket can die silently; probe it when it has been quiet. */
  _beat() {
    const t = this.transport;
    if (!t || t.kind !== 'websocket' || t.probing) return;
    if (Date.now() - t.lastInbound < 45000) return;
    t.probing = true;
    const timer = setTimeout(() => t.abort('No answer from the server.'), 15000);
    t.send({ type: 'rooms', ref: `hb.${Date.now()}` })
      .catch(noop)
      .finally(() => {
        clearTimeout(timer);
        t.probing = false;
      });
  }
}
