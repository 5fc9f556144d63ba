// The outbox: what the user typed that the server has not acknowledged.
// No DOM here; the page draws an entry through the hooks it gives pump().
//
// An entry goes queued -> sending -> (acknowledged | failed), and back to
// queued when the connection is lost before the reply. A say or action
// carries a cid (docs/protocol.md, "Idempotent sends"), so resending it
// after a reconnect can never store it twice; a private message has none,
// so it is resent only if it certainly never left the page.

import { fold, newCid } from './text.js';

/** How long a private message, acknowledged but not echoed yet, waits for its echo. */
const PM_ECHO_MS = 60000;

const LOST = 'The connection was lost; this message may not have been delivered.';

export class Outbox {
  constructor() {
    this.entries = new Map(); // id -> entry, in send order
    this.failed = new Map(); // id -> entry refused or lost, until retried or dismissed
    this.pmSent = []; // private messages acknowledged, waiting for their echo
    this.pumping = false;
    this.again = false;
  }

  /**
   * Queue a say/action (idempotent by cid) or a private message ('msg');
   * reply: {id, nick, text}, the message of the room a say/action answers.
   */
  add(convKey, type, text, { id = newCid(), reply = null } = {}) {
    const entry = {
      id, type, text, convKey,
      cid: type === 'msg' ? null : id,
      reply: type === 'msg' ? null : reply,
      state: 'queued', tries: 0, sentAs: null, delivered: false,
    };
    this.entries.set(id, entry);
    return entry;
  }

  /** The command that sends entry to target (a room, or a nick for 'msg'), as nick me. */
  command(entry, me, target) {
    entry.state = 'sending';
    entry.tries++;
    if (!entry.sentAs) entry.sentAs = me;
    if (entry.type === 'msg') return { type: 'msg', to: target, text: entry.text };
    const cmd = { type: entry.type, room: target, text: entry.text, cid: entry.cid };
    if (entry.reply) cmd.reply_to = entry.reply.id;
    return cmd;
  }

  /** The server has it (its echo came, or a replay holds it): nothing more to send. */
  settle(entry) {
    entry.delivered = true;
    entry.state = 'done';
    this.entries.delete(entry.id);
  }

  /** The ok came back. */
  acknowledge(entry) {
    this.entries.delete(entry.id);
    if (!entry.delivered) entry.state = 'done';
  }

  fail(entry) {
    entry.state = 'failed';
    this.entries.delete(entry.id);
    this.failed.set(entry.id, entry);
  }

  /** Queue a failed entry again, with the same cid; null if there is none by that id. */
  retry(id) {
    const entry = this.failed.get(id);
    if (!entry) return null;
    this.failed.delete(id);
    entry.state = 'queued';
    entry.tries = 0;
    entry.delivered = false;
    this.entries.set(entry.id, entry);
    return entry;
  }

  dismiss(id) {
    this.failed.delete(id);
  }

  /** Forget a conversation that was closed. */
  dropConv(convKey) {
    for (const map of [this.entries, this.failed]) {
      for (const e of [...map.values()]) if (e.convKey === convKey) map.delete(e.id);
    }
    this.pmSent = this.pmSent.filter((p) => p.convKey !== convKey);
  }

  /** A conversation changed its key (a rename, or the server's spelling). */
  rekey(oldKey, newKey) {
    for (const map of [this.entries, this.failed]) {
      for (const e of map.values()) if (e.convKey === oldKey) e.convKey = newKey;
    }
    for (const p of this.pmSent) if (p.convKey === oldKey) p.convKey = newKey;
  }

  /** A message event (live or from history) that is our own say/action, by cid: its entry, settled. */
  settleByEcho(convKey, m) {
    if (!m.cid) return null;
    const entry = this.entries.get(m.cid);
    if (!entry || entry.convKey !== convKey) return null;
    this.settle(entry);
    return entry;
  }

  /**
   * After a resume, a message we sent (and are about to resend) may be in
   * the replay already, without its cid if we sent it under another nick:
   * the entries it settles.
   */
  settleByReplay(convKey, messages) {
    const settled = [];
    for (const entry of [...this.entries.values()]) {
      if (entry.convKey !== convKey || entry.tries === 0 || entry.state !== 'queued' || !entry.sentAs) continue;
      const type = entry.type === 'action' ? 'action' : 'message';
      const hit = messages.find((m) => m.from && fold(m.from) === fold(entry.sentAs) && m.text === entry.text
        && m.type === type && (!m.cid || m.cid === entry.cid));
      if (hit) {
        this.settle(entry);
        settled.push(entry);
      }
    }
    return settled;
  }

  /** The echo of our private message while it is still queued or sending: its entry, settled. */
  settlePrivateEcho(convKey, text) {
    const entry = [...this.entries.values()].find((e) => e.type === 'msg' && e.convKey === convKey
      && e.text === text && (e.state === 'sending' || e.state === 'queued'));
    if (entry) this.settle(entry);
    return entry || null;
  }

  /** A private message acknowledged before its echo: remember it to pair with the echo. */
  awaitPrivateEcho(entry, now = Date.now()) {
    this.pmSent.push({ convKey: entry.convKey, text: entry.text, id: entry.id, at: now });
  }

  /** The acknowledged private message this echo belongs to, or null. */
  pairPrivateEcho(convKey, text, now = Date.now()) {
    this.pmSent = this.pmSent.filter((p) => now - p.at < PM_ECHO_MS);
    const i = this.pmSent.findIndex((p) => p.convKey === convKey && p.text === text);
    return i >= 0 ? this.pmSent.splice(i, 1)[0] : null;
  }

  /**
   * Send every queued entry that io.ready() allows, in order, one at a
   * time. A call while a pump runs makes that pump go round once more.
   *
   * io: hasConv(key), ready(entry), connected(), send(cmd) -> reply,
   *     target(entry), me(), acked(entry, reply), failed(entry, message),
   *     held(entry, reply), sleep(ms)
   */
  async pump(io) {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        await this.pumpOnce(io);
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  async pumpOnce(io) {
    for (const entry of [...this.entries.values()]) {
      if (entry.state !== 'queued') continue;
      if (!io.hasConv(entry.convKey)) {
        this.entries.delete(entry.id);
        continue;
      }
      if (!io.ready(entry)) continue;
      const result = await this.transmit(entry, io);
      if (result === 'stop' || !io.connected()) break;
    }
  }

  /** Send one entry: 'ok', 'failed', or 'stop' (offline, or held by flood control). */
  async transmit(entry, io) {
    const cmd = this.command(entry, io.me(), io.target(entry));
    let reply;
    try {
      reply = await io.send(cmd);
    } catch (e) {
      if (!e || !e.offline) throw e;
      this.lost(entry, e, io);
      return 'stop';
    }
    if (reply.type === 'ok') {
      this.acknowledge(entry);
      io.acked(entry, reply);
      return 'ok';
    }
    if (reply.code === 'rate-limited' && entry.tries < 6) {
      entry.state = 'queued';
      io.held(entry, reply);
      await io.sleep(1000 * entry.tries);
      this.again = true;
      return 'stop';
    }
    this.fail(entry);
    io.failed(entry, reply.message || reply.code);
    return 'failed';
  }

  /**
   * Lost before the reply. A say/action is retried with the same cid; a
   * private message has no cid, so retrying could deliver it twice: unless
   * it never left, the user decides.
   */
  lost(entry, error, io) {
    if (entry.type === 'msg' && !error.notSent) {
      this.fail(entry);
      io.failed(entry, LOST);
    } else if (entry.state === 'sending') {
      entry.state = 'queued';
    }
  }
}
