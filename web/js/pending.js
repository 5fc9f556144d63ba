// What both transports share: the error for a lost connection, the table
// of commands waiting for their reply, and the reconnect backoff.

export class OfflineError extends Error {
  /** notSent: the command certainly did not leave this page. */
  constructor(message = 'Not connected.', notSent = false) {
    super(message);
    this.name = 'OfflineError';
    this.offline = true;
    this.notSent = notSent;
  }
}

/** Pending commands, matched to their reply by ref. */
export class Pending {
  constructor() {
    this.map = new Map();
    this.counter = 0;
  }
  add(cmd) {
    if (cmd.ref === undefined || cmd.ref === null) cmd.ref = `r${Date.now().toString(36)}.${++this.counter}`;
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

export const noop = () => {};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff with jitter: half the ceiling, plus up to as much again. */
export function backoffDelay(attempt, base = 500, max = 30000) {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
