// The WebSocket transport for the chatd JSON protocol (docs/protocol.md).
//
// Both transports (this one and longpoll.js) present the same interface:
//   open()      -> Promise<welcome>
//   send(cmd)   -> Promise<reply>: the `ok` or `error` object whose `ref`
//                  matches; rejects with an OfflineError if the connection
//                  is lost before the reply arrives (the command may or may
//                  not have run).
//   close()
//   hooks: onEvent(event), onClose(info), onHealth({ok, retryAt})

import { OfflineError, Pending, noop } from './pending.js';

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
      const attempt = { opened: false, settled: false, timer: null, resolve, reject };
      attempt.timer = setTimeout(() => this._failOpen(attempt, 'The WebSocket did not get a welcome in time.'), timeoutMs);
      try {
        this.ws = new WebSocket(this.url);
      } catch (e) {
        this.ws = null;
        this._failOpen(attempt, `The WebSocket could not be created: ${e.message}`);
        return;
      }
      this._listen(this.ws, attempt);
    });
  }

  /** The attempt to open failed before the welcome: reject open() once. */
  _failOpen(attempt, why) {
    if (attempt.settled) return;
    attempt.settled = true;
    clearTimeout(attempt.timer);
    this.closed = true;
    try {
      this.ws.close();
    } catch {
      /* already closed */
    }
    const err = new Error(why);
    err.beforeWelcome = true;
    err.opened = attempt.opened;
    attempt.reject(err);
  }

  _listen(ws, attempt) {
    ws.onopen = () => {
      attempt.opened = true;
    };
    ws.onerror = () => {
      if (!this.welcomed) {
        this._failOpen(attempt, attempt.opened ? 'The WebSocket failed before the welcome.' : 'The WebSocket could not connect.');
      }
    };
    ws.onclose = (e) => {
      if (!this.welcomed) {
        this._failOpen(attempt, `The WebSocket closed before the welcome (code ${e.code}).`);
        return;
      }
      this._closed({ code: e.code, reason: e.reason, clean: e.wasClean });
    };
    ws.onmessage = (e) => this._message(e, attempt);
  }

  _message(e, attempt) {
    this.lastInbound = Date.now();
    if (typeof e.data !== 'string') return; // binary frames are not part of the protocol
    let obj;
    try {
      obj = JSON.parse(e.data);
    } catch {
      return;
    }
    if (!obj || typeof obj !== 'object') return;
    if (!this.welcomed && obj.type === 'welcome') {
      this.welcomed = true;
      attempt.settled = true;
      clearTimeout(attempt.timer);
      attempt.resolve(obj);
      return;
    }
    // Anything before the welcome is unexpected; pass it on anyway.
    this._inbound(obj);
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
