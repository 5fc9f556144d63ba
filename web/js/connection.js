// Connection picks a transport (WebSocket first, long-poll if the
// WebSocket cannot get as far as the welcome), reconnects with exponential
// backoff and jitter, and tells the UI about every state change.

import { LongPollTransport } from './longpoll.js';
import { OfflineError, backoffDelay, noop, sleep } from './pending.js';
import { WebSocketTransport, websocketUrl } from './websocket.js';

/** Flood control mirror (chatd.core.flood, the commands' cost): what each command costs. */
const COSTS = { join: 2, nick: 3, msg: 2, ghost: 2, register: 5, login: 5, passwd: 5, drop: 5 };

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

  _refill() {
    const t = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.stamp) / 1000) * this.rate);
    this.stamp = t;
  }

  /** Wait (in order) until cost tokens are available, and take them. */
  _acquire(cost) {
    const slot = this.paceChain.then(async () => {
      for (;;) {
        this._refill();
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

  /**
   * Send a command that is news only now (a typing notice) if the pace
   * has room for it and reserve more, without waiting: never ahead of, or
   * at the cost of, what the user sends. Resolves with the reply, or null
   * (not sent, or offline).
   */
  spare(cmd, reserve = 3) {
    const t = this.transport;
    const cost = COSTS[cmd.type] || 1;
    if (!t) return Promise.resolve(null);
    this._refill();
    if (this.tokens < cost + reserve) return Promise.resolve(null);
    this.tokens -= cost;
    return t.send(cmd).catch((e) => {
      if (e && e.offline) return null;
      throw e;
    });
  }

  /** send(), but resolves with null when offline (the command may or may not have run). */
  async request(cmd) {
    try {
      return await this.send(cmd);
    } catch (e) {
      if (e && e.offline) return null;
      throw e;
    }
  }

  async _connect() {
    const gen = ++this.generation;
    this.timer = null;
    const wantWs = this.mode === 'websocket' || (this.mode === 'auto' && !this.wsBroken);
    this._setState({ state: 'connecting', transport: wantWs ? 'websocket' : 'longpoll', attempt: this.attempt });
    let opened = wantWs ? await this._openWebSocket(gen) : { t: null, fellBack: false };
    if (!opened) return;
    if (gen !== this.generation) {
      if (opened.t) opened.t.close();
      return;
    }
    if (!opened.t) {
      const fellBack = opened.fellBack;
      opened = await this._openLongPoll(gen);
      if (!opened) return;
      // The WebSocket failed but plain HTTP works: something between us
      // and the server kills upgrades. Stay on long-poll from now on.
      if (fellBack) this.wsBroken = true;
    }
    if (gen !== this.generation || !this.running) {
      opened.t.close();
      return;
    }
    this._adopt(opened.t, opened.welcome);
  }

  /**
   * {t, welcome} once welcomed; {t: null, fellBack: true} when long-poll
   * should be tried instead; null when it will retry later, or a newer
   * attempt has taken over.
   */
  async _openWebSocket(gen) {
    const ws = new WebSocketTransport(this.wsUrl, {});
    try {
      return { t: ws, welcome: await ws.open() };
    } catch (e) {
      if (gen !== this.generation) return null;
      if (this.mode !== 'auto' || !e.beforeWelcome) {
        this._retry();
        return null;
      }
      this._setState({ state: 'connecting', transport: 'longpoll', attempt: this.attempt, fallback: true });
      return { t: null, fellBack: true };
    }
  }

  /** {t, welcome} once welcomed; null when it will retry later, or a newer attempt has taken over. */
  async _openLongPoll(gen) {
    const lp = new LongPollTransport(this.apiBase, {});
    try {
      return { t: lp, welcome: await lp.open() };
    } catch {
      if (gen === this.generation) this._retry();
      return null;
    }
  }

  /** t is welcomed: make it the connection's transport. */
  _adopt(t, welcome) {
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
