'use strict';
/*
 * chatd load generator: one Node.js process, real sockets on 127.0.0.1.
 *
 *   node loadgen.js SPEC.json
 *
 * bench/run.py writes the spec and reads the result: progress goes to
 * stderr, machine-readable lines to stdout ("EVENT name" while running,
 * then one "RESULT {json}").
 *
 * Every measured message carries its identity and send time in its text:
 *   "@@<gid>:<t_ns>:xxxx..."   padded to spec.msg_bytes
 * gid is a global message number, t_ns process.hrtime.bigint() at send
 * (CLOCK_MONOTONIC). A receiver finds "@@" in whatever the server framed
 * around the text (a chat line, an IRC PRIVMSG, a JSON event, a raw
 * frame), so latency is end to end and every delivery is checked off
 * against the exact set of members that should get it: loss and
 * duplicates are counted per message and per receiver.
 *
 * Load modes:
 *   flat: "saturated": each sender keeps spec.window / senders messages
 *         in flight; a message is in flight until every receiver has it.
 *   rate: spec.rate messages per second in total, each written on its own
 *         when it is due (open loop: a slow server does not slow the load).
 *   idle: connect and join in stages, read the server's memory after each.
 */

const fs = require('fs');
const net = require('net');
const http = require('http');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const HOST = '127.0.0.1';
const dialect = spec.dialect; // 'chatd' | 'ref' | 'irc' (how lines and WebSocket clients talk)
// Front end 'irc' always speaks IRC (NICK, USER, JOIN, PRIVMSG) on the
// server's IRC port: chatd's IRC front end and ngIRCd take the same path.
// Several chatd nodes (a cluster): client i talks to nodes[i % n], and the
// server's CPU is summed over server_pids (every node and Redis).
const NODES = spec.nodes || [{ lines_port: spec.lines_port, web_port: spec.web_port, irc_port: spec.irc_port }];
const SERVER_PIDS = spec.server_pids || [spec.server_pid];
const MARK = Buffer.from('@@');
const RING = 1 << 21;
const MASK = RING - 1;

function log(...args) { process.stderr.write(`[loadgen] ${args.join(' ')}\n`); }
function nowNs() { return Number(process.hrtime.bigint()); }
function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
function emit(name) { process.stdout.write(`EVENT ${name}\n`); }

// ---------------------------------------------------------------- /proc

function readProc(pid, name) {
  try { return fs.readFileSync(`/proc/${pid}/${name}`, 'utf8'); } catch (e) { return null; }
}
function procStatus(pid, key) {
  const text = readProc(pid, 'status');
  if (!text) return null;
  const m = text.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : null;
}
/* Server CPU: utime+stime from /proc/PID/stat (clock ticks, every thread),
 * and the sum of /proc/PID/task/TID/schedstat run times (nanoseconds). */
function serverCpu(pid) {
  const stat = readProc(pid, 'stat');
  let ticks = null;
  if (stat) {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks = Number(f[11]) + Number(f[12]); // fields 14 and 15 of stat
  }
  let ns = 0; let haveNs = false;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const s = readProc(pid, `task/${tid}/schedstat`);
      if (s) { ns += Number(s.split(' ')[0]); haveNs = true; }
    }
  } catch (e) { /* gone */ }
  return { stat_s: ticks === null ? null : ticks / 100, sched_s: haveNs ? ns / 1e9 : null };
}
function serversCpu() {
  const all = SERVER_PIDS.map(serverCpu);
  const sum = (key) => (all.some((c) => c[key] === null) ? null : all.reduce((t, c) => t + c[key], 0));
  return { stat_s: sum('stat_s'), sched_s: sum('sched_s'), each: all };
}
function cpuSeconds(a, b) {
  // Prefer the nanosecond schedstat sums; /proc/PID/stat ticks are 10 ms.
  if (a.sched_s !== null && b.sched_s !== null) return b.sched_s - a.sched_s;
  return b.stat_s - a.stat_s;
}
/* Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineBusy() {
  const text = fs.readFileSync('/proc/stat', 'utf8');
  const f = text.split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal
  return (total - f[3] - f[4]) / 100; // less idle and iowait
}
function selfCpu() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

// ---------------------------------------------------------------- state

const gidOf = new Int32Array(RING).fill(-1);
const pending = new Int32Array(RING);
const senderOf = new Int32Array(RING);
const sentAt = new Float64Array(RING);
let nextGid = 0;
let completed = 0;
let unexpected = 0;   // a marker for no message in flight (stale or bogus)
let duplicates = 0;   // more copies of a message than it had receivers
let sending = false;
let measuring = false;
let lastProgress = 0;

// Latency histogram: 1 us buckets up to 2 s, exact values above.
const HIST_MAX = 2000000;
function newHist() { return { h: new Uint32Array(HIST_MAX), overflow: [], count: 0, max: 0 }; }
const all = newHist();
const byFe = {};
for (const fe of new Set(spec.receiver_fes)) byFe[fe] = newHist();
function record(H, us) {
  if (us > H.max) H.max = us;
  H.count++;
  if (us < HIST_MAX) H.h[us < 0 ? 0 : us | 0]++;
  else H.overflow.push(us);
}
let measuredDeliveries = 0;
let measuredPolls = 0;    // long-poll responses received by counted receivers in the window
let totalDeliveries = 0;

const clients = [];
const rooms = []; // rooms[r] = { name, members: [client], counted: n }
const senders = [];

const echo = spec.echo || {}; // fe -> does the server send a message back to its sender?
const padding = 'x'.repeat(Math.max(0, spec.msg_bytes || 64));

function roomName(r) { return spec.rooms === 1 ? spec.room_prefix : `${spec.room_prefix}${r}`; }

function makeText(gid, t) {
  const head = `@@${gid}:${t}:`;
  const n = (spec.msg_bytes || 64) - head.length;
  return n > 0 ? head + padding.slice(0, n) : head;
}

function got(c, gid, t, now) {
  const slot = gid & MASK;
  if (gidOf[slot] !== gid) { unexpected++; return; }
  c.recv++;
  totalDeliveries++;
  const left = --pending[slot];
  if (left === 0) {
    completed++;
    lastProgress = now;
    if (sending && spec.mode === 'flat') sendFrom(senders[senderOf[slot]]);
  } else if (left < 0) {
    duplicates++;
  }
  if (measuring) {
    measuredDeliveries++;
    const us = (now - t) / 1000;
    record(all, us);
    if (c.hist !== all) record(c.hist, us);
  }
}

/* Find every "@@gid:t:" in buf[start, end) and check it off. */
function scan(c, buf, start, end, now) {
  if (!c.counted) return; // a sender's own copies and acks are not measured
  let i = buf.indexOf(MARK, start);
  while (i >= 0 && i < end) {
    let p = i + 2; let gid = 0; let ch = buf[p];
    while (ch >= 48 && ch <= 57) { gid = gid * 10 + (ch - 48); ch = buf[++p]; }
    if (ch === 58) {
      let t = 0; ch = buf[++p];
      while (ch >= 48 && ch <= 57) { t = t * 10 + (ch - 48); ch = buf[++p]; }
      got(c, gid, t, now);
    }
    i = buf.indexOf(MARK, p);
  }
}

function percentile(H, q) {
  if (H.count === 0) return null;
  const target = Math.ceil(q * H.count);
  let seen = 0;
  for (let i = 0; i < HIST_MAX; i++) {
    seen += H.h[i];
    if (seen >= target) return i + 0.5;
  }
  H.overflow.sort((a, b) => a - b);
  return H.overflow[Math.min(H.overflow.length - 1, target - seen - 1)];
}
function latency(H) {
  if (H.count === 0) return { deliveries: 0, p50_ms: null, p99_ms: null, max_ms: null };
  return { deliveries: H.count, p50_ms: percentile(H, 0.5) / 1000, p99_ms: percentile(H, 0.99) / 1000, max_ms: H.max / 1000 };
}

// ---------------------------------------------------------------- sending

function sendFrom(s) {
  if (nextGid - completed >= RING - 1) throw new Error('too many messages in flight for the ring');
  const gid = nextGid++;
  const slot = gid & MASK;
  const room = rooms[s.room];
  let expect = room.counted;
  if (s.counted && !echo[s.fe]) expect -= 1;
  gidOf[slot] = gid;
  pending[slot] = expect;
  senderOf[slot] = s.sidx;
  const t = nowNs();
  sentAt[slot] = t;
  room.sent++;
  s.sent++;
  s.send(makeText(gid, t));
  if (expect === 0) completed++;
}

// ---------------------------------------------------------------- clients

/* Sockets read into one shared buffer (net's onread option): no Buffer
 * and no stream event per read. A handler must finish with the bytes
 * before it returns (it copies what it keeps). */
const readBuffer = Buffer.allocUnsafe(256 * 1024);
function connectReading(port, onChunk, localAddress) {
  return net.connect({ host: HOST, port, localAddress, onread: { buffer: readBuffer, callback: (n, buf) => { onChunk(buf.subarray(0, n)); } } });
}

function lineCommon(c, sock) {
  c.sock = sock;
  sock.setNoDelay(true);
  c.rest = null;
}

const PING = Buffer.from('PING ');
function onLineBytes(c, irc) {
  return (chunk) => {
    let buf = chunk;
    if (c.rest) { buf = Buffer.concat([c.rest, chunk]); c.rest = null; }
    const nl = buf.lastIndexOf(10);
    if (nl < 0) { c.rest = Buffer.from(buf); return; }
    if (nl + 1 < buf.length) c.rest = Buffer.from(buf.subarray(nl + 1));
    c.lastData = Date.now();
    if (!c.ready) c.onSetup(buf.toString('utf8', 0, nl + 1));
    else if (irc && buf[0] === 80 && buf.indexOf(PING) === 0) c.onSetup(buf.toString('utf8', 0, nl + 1));
    if (c.ready) scan(c, buf, 0, nl + 1, nowNs());
  };
}

/* A line connection: chatd's line port ('chatd' dialect), the Twisted
 * reference ('ref'), or IRC (front end 'irc', or a server whose dialect is
 * 'irc'). IRC clients send JOIN once welcomed (001), as irssi does: a
 * JOIN sent with NICK and USER may reach the server before it finished
 * registering the client. A receiver that has joined only looks for
 * markers, except that an IRC chunk starting with PING (a silent client's
 * keep-alive) is answered. */
function openLines(c) {
  const talk = c.fe === 'irc' ? 'irc' : dialect;
  const port = c.fe === 'irc' ? c.node.irc_port : c.node.lines_port;
  if (!port) throw new Error(`the server has no ${c.fe === 'irc' ? 'IRC' : 'lines'} port in the spec`);
  const sock = connectReading(port, onLineBytes(c, talk === 'irc'));
  lineCommon(c, sock);
  sock.on('error', (e) => c.fail(`socket error: ${e.message}`));
  sock.on('close', () => c.lost());
  const room = roomName(c.room);
  sock.on('connect', () => {
    if (talk === 'chatd') sock.write(`${c.nick}\n/join ${room}\n`);
    else if (talk === 'ref') sock.write(`${room}\n`);
    else sock.write(`NICK ${c.nick}\r\nUSER ${c.nick} 0 * :bench\r\n`);
  });
  c.onSetup = (text) => {
    if (talk === 'chatd') {
      if (text.includes('Your current room is')) c.markReady();
      else if (/^! /m.test(text)) c.fail(`chatd refused: ${text.match(/^! .*$/m)[0]}`);
    } else if (talk === 'ref') {
      if (/^ok$/m.test(text)) c.markReady();
    } else {
      if (!c.joining && /^:\S+ 001 /m.test(text)) { c.joining = true; sock.write(`JOIN ${room}\r\n`); }
      if (/ 366 /.test(text)) c.markReady();
      const ping = text.match(/^PING (.*)$/m);
      if (ping) sock.write(`PONG ${ping[1]}\r\n`);
      const err = text.match(/^:\S+ (4\d\d|ERROR) .*$/m);
      if (err) c.fail(`IRC error: ${err[0]}`);
    }
  };
  if (talk === 'irc') {
    c.send = (text) => sock.write(`PRIVMSG ${room} :${text}\r\n`);
  } else {
    c.send = (text) => sock.write(`${text}\n`);
  }
  c.close = () => sock.destroy();
}

/* A lean WebSocket client (RFC 6455) for the generator's receivers: the
 * handshake, then a frame parser that hands each text frame's payload to
 * scan() in place, answers pings, and sends masked frames.  The ws
 * package does the same with more allocation and events per frame;
 * --ws-client ws uses it instead, to cross-check. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const crypto = require('crypto');
const maskPool = Buffer.alloc(4096);
let maskAt = maskPool.length;

function wsFrame(opcode, payload) {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(hdr + 4 + len);
  frame[0] = 0x80 | opcode;
  if (hdr === 2) frame[1] = 0x80 | len;
  else if (hdr === 4) { frame[1] = 0x80 | 126; frame.writeUInt16BE(len, 2); }
  else { frame[1] = 0x80 | 127; frame.writeUInt32BE(0, 2); frame.writeUInt32BE(len, 6); }
  if (maskAt + 4 > maskPool.length) { crypto.randomFillSync(maskPool); maskAt = 0; }
  const m0 = maskPool[maskAt]; const m1 = maskPool[maskAt + 1]; const m2 = maskPool[maskAt + 2]; const m3 = maskPool[maskAt + 3];
  maskAt += 4;
  frame[hdr] = m0; frame[hdr + 1] = m1; frame[hdr + 2] = m2; frame[hdr + 3] = m3;
  const off = hdr + 4;
  for (let i = 0; i < len; i++) frame[off + i] = payload[i] ^ (i & 3 ? (i & 3) === 1 ? m1 : (i & 3) === 2 ? m2 : m3 : m0);
  return frame;
}

function openWsRaw(c, onOpen, onText) {
  const port = dialect === 'chatd' ? c.node.web_port : spec.ws_port;
  const path = dialect === 'chatd' ? '/ws' : '/';
  const key = crypto.randomBytes(16).toString('base64');
  const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
  let open = false;
  let rest = null;
  const sock = connectReading(port, (chunk) => {
    let buf = chunk;
    if (rest) { buf = Buffer.concat([rest, chunk]); rest = null; }
    let pos = 0;
    if (!open) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) { rest = Buffer.from(buf); return; }
      const head = buf.toString('latin1', 0, end);
      if (!/^HTTP\/1\.1 101 /.test(head) || !head.includes(accept)) {
        return c.fail(`WebSocket handshake refused: ${head.split('\r\n', 1)[0]}`);
      }
      open = true;
      pos = end + 4;
      onOpen();
    }
    c.lastData = Date.now();
    const now = nowNs();
    const n = buf.length;
    while (pos + 2 <= n) {
      const b0 = buf[pos]; const b1 = buf[pos + 1];
      let len = b1 & 0x7f; let hdr = 2;
      if (len === 126) { if (pos + 4 > n) break; len = buf.readUInt16BE(pos + 2); hdr = 4; }
      else if (len === 127) { if (pos + 10 > n) break; len = buf.readUInt32BE(pos + 6); hdr = 10; }
      if (b1 & 0x80) return c.fail('the server sent a masked frame');
      const start = pos + hdr; const end = start + len;
      if (end > n) break;
      const opcode = b0 & 0x0f;
      if (opcode === 1 || opcode === 0 || opcode === 2) onText(buf, start, end, now);
      else if (opcode === 9) sock.write(wsFrame(10, buf.subarray(start, end)));
      else if (opcode === 8) { if (!closing) c.fail(`the server closed the WebSocket: ${buf.toString('utf8', start + 2, end)}`); sock.end(); return; }
      pos = end;
    }
    if (pos < n) rest = Buffer.from(buf.subarray(pos));
  });
  sock.setNoDelay(true);
  sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\n`
    + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
  sock.on('error', (e) => c.fail(`socket error: ${e.message}`));
  sock.on('close', () => c.lost());
  c.close = () => sock.destroy();
  return (text) => sock.write(wsFrame(1, Buffer.from(text)));
}

function openWs(c) {
  const room = roomName(c.room);
  if (spec.ws_client === 'ws') return openWsLib(c);
  const sendText = openWsRaw(c, () => {
    if (dialect === 'chatd') {
      sendText(JSON.stringify({ type: 'nick', nick: c.nick, ref: 1 }));
      sendText(JSON.stringify({ type: 'join', room, ref: 2 }));
    } else {
      sendText(room);
    }
  }, (buf, start, end, now) => {
    if (!c.ready) {
      const text = buf.toString('utf8', start, end);
      if (dialect === 'chatd') {
        if (text.includes('"type":"error"')) c.fail(`chatd refused: ${text}`);
        else if (text.includes('"type":"ok"') && text.includes('"ref":2')) c.markReady();
      } else if (text === 'ok') {
        c.markReady();
      }
      return;
    }
    scan(c, buf, start, end, now);
  });
  if (dialect === 'chatd') {
    c.send = (text) => sendText(`{"type":"say","room":${JSON.stringify(room)},"text":"${text}"}`);
  } else {
    c.send = sendText;
  }
}

function openWsLib(c) {
  const WebSocket = require('ws'); // only for --ws-client ws: `npm ci` in bench/node
  const url = dialect === 'chatd' ? `ws://${HOST}:${c.node.web_port}/ws` : `ws://${HOST}:${spec.ws_port}/`;
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 16 << 20 });
  c.ws = ws;
  const room = roomName(c.room);
  ws.on('open', () => {
    if (dialect === 'chatd') {
      ws.send(JSON.stringify({ type: 'nick', nick: c.nick, ref: 1 }));
      ws.send(JSON.stringify({ type: 'join', room, ref: 2 }));
    } else {
      ws.send(room);
    }
  });
  ws.on('message', (data) => {
    c.lastData = Date.now();
    if (!c.ready) {
      const text = data.toString('utf8');
      if (dialect === 'chatd') {
        if (text.includes('"type":"error"')) c.fail(`chatd refused: ${text}`);
        else if (text.includes('"type":"ok"') && text.includes('"ref":2')) c.markReady();
      } else if (text === 'ok') {
        c.markReady();
      }
      return;
    }
    scan(c, data, 0, data.length, nowNs());
  });
  ws.on('error', (e) => c.fail(`websocket error: ${e.message}`));
  ws.on('close', () => c.lost());
  if (dialect === 'chatd') {
    c.send = (text) => ws.send(`{"type":"say","room":${JSON.stringify(room)},"text":"${text}"}`);
  } else {
    c.send = (text) => ws.send(text);
  }
  c.close = () => ws.terminate();
}

/* Long-poll: each session binds its connections to its own 127.0.0.x
 * source address (chatd allows 32 sessions per address). Creating the
 * session and its commands (nick, join, a sender's says) are rare and go
 * through Node's http module on a keep-alive agent; the polls, one per
 * delivery at fixed rates, go over a raw socket of their own
 * (openPollSocket): http's request and response objects, their streams
 * and a promise per poll cost the generator about a core with 333
 * long-poll members at 50 messages/s. */
function httpJson(c, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port: c.node.web_port, method, path, agent: c.cmdAgent,
      headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function openPoll(c) {
  const third = 2 + Math.floor(c.pollIndex / 30);
  // One connection holds the poll, another carries commands, so a queue
  // of commands never delays the next poll.
  const localAddress = `127.0.${third >> 8}.${third & 255}`;
  c.cmdAgent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });
  c.cmdAgent.on('free', (sock) => sock.setNoDelay(true));
  const room = roomName(c.room);
  c.last = 0;
  c.pollSock = null;
  (async () => {
    const made = await httpJson(c, 'POST', '/api/sessions');
    if (made.status !== 201) return c.fail(`POST /api/sessions: ${made.status} ${made.body}`);
    c.token = JSON.parse(made.body).session;
    for (const cmd of [{ type: 'nick', nick: c.nick }, { type: 'join', room }]) {
      const r = await httpJson(c, 'POST', `/api/sessions/${c.token}/commands`, JSON.stringify(cmd));
      if (r.status !== 200 || !r.body.includes('"type":"ok"')) return c.fail(`${cmd.type}: ${r.status} ${r.body}`);
    }
    c.markReady();
    if (!c.closed) openPollSocket(c, localAddress);
  })().catch((e) => c.fail(`long-poll: ${e.message}`));
  c.send = (text) => {
    httpJson(c, 'POST', `/api/sessions/${c.token}/commands`, `{"type":"say","room":${JSON.stringify(room)},"text":"${text}"}`)
      .then((r) => { if (r.status !== 200 || !r.body.includes('"type":"ok"')) c.fail(`say: ${r.status} ${r.body}`); })
      .catch((e) => c.fail(`say: ${e.message}`));
  };
  c.close = () => { c.closed = true; if (c.pollSock) c.pollSock.destroy(); c.cmdAgent.destroy(); };
}

const HEAD_END = Buffer.from('\r\n\r\n');
const OVERFLOW = Buffer.from('"code":"overflow"');
const LAST = Buffer.from('"last":');

/* The body length of a poll response whose header block is head (status
 * line and headers, without the blank line), or a string saying why the
 * generator will not read it: it reads Content-Length bodies on a
 * connection kept alive, nothing else. */
function pollBodyLength(head) {
  if (!head.startsWith('HTTP/1.1 ')) return `not an HTTP/1.1 response: ${head.split('\r\n', 1)[0]}`;
  const h = head.toLowerCase();
  if (h.includes('\r\ntransfer-encoding:')) return `a response with Transfer-Encoding (the generator reads Content-Length bodies only): ${head}`;
  const conn = h.indexOf('\r\nconnection:');
  const connEnd = conn < 0 ? -1 : h.indexOf('\r\n', conn + 2);
  if (conn >= 0 && h.slice(conn, connEnd < 0 ? h.length : connEnd).includes('close')) return `the server closes the connection after this response: ${head}`;
  const at = h.indexOf('\r\ncontent-length:');
  if (at < 0 || h.indexOf('\r\ncontent-length:', at + 2) >= 0) return `no single Content-Length in the response: ${head}`;
  const eol = h.indexOf('\r\n', at + 2);
  const value = h.slice(at + 17, eol < 0 ? h.length : eol).trim();
  if (!/^\d+$/.test(value)) return `a Content-Length that is not a number: ${head}`;
  return Number(value);
}

/* The poll connection: one poll at a time, as a browser's client does.
 * It writes "GET .../events?after=N&timeout=20" in one piece (chatd
 * answers such a request on its lean path), reads the response (a
 * response split across reads is kept until whole), scans the body for
 * markers as soon as it is whole (the receipt time is then, as it was
 * with the http module's client), and polls again from the body's "last". A status other
 * than 200, a body not framed by Content-Length, Connection: close,
 * bytes nobody asked for (a second response in the same read: there is
 * one poll outstanding at most) or the connection closing fail the
 * client. */
function openPollSocket(c, localAddress) {
  const port = c.node.web_port;
  const tail = ` HTTP/1.1\r\nHost: ${HOST}:${port}\r\n\r\n`;
  let waiting = false; // a poll is written and its response not yet whole
  let rest = null;     // the start of a response, copied out of the shared read buffer
  let dead = false;
  const stop = (why) => { dead = true; rest = null; c.fail(`poll: ${why}`); };
  const poll = () => {
    waiting = true;
    sock.write(`GET /api/sessions/${c.token}/events?after=${c.last}&timeout=20${tail}`);
  };
  const sock = connectReading(port, (chunk) => {
    if (dead || c.closed) return;
    let buf = chunk;
    if (rest) { buf = Buffer.concat([rest, chunk]); rest = null; }
    const n = buf.length;
    let pos = 0;
    while (pos < n) {
      if (!waiting) return stop(`the server sent ${n - pos} bytes with no poll outstanding`);
      const end = buf.indexOf(HEAD_END, pos);
      if (end < 0) break;
      const head = buf.latin1Slice(pos, end);
      const len = pollBodyLength(head);
      if (typeof len === 'string') return stop(len);
      const start = end + 4;
      const stopAt = start + len;
      if (stopAt > n) break;
      pos = stopAt;
      waiting = false;
      if (!head.startsWith('HTTP/1.1 200 ')) return stop(`${head.split('\r\n', 1)[0]} ${buf.toString('utf8', start, stopAt)}`);
      c.lastData = Date.now();
      if (measuring && c.counted) measuredPolls++;
      const o = buf.indexOf(OVERFLOW, start);
      if (o >= 0 && o + OVERFLOW.length <= stopAt) c.fail('long-poll overflow: events dropped');
      scan(c, buf, start, stopAt, nowNs());
      const at = buf.lastIndexOf(LAST, stopAt - LAST.length);
      if (at >= start) c.last = parseInt(buf.latin1Slice(at + 7, Math.min(at + 27, stopAt)), 10);
    }
    if (pos < n) rest = Buffer.from(buf.subarray(pos));
    if (!waiting) poll();
  }, localAddress);
  c.pollSock = sock;
  sock.setNoDelay(true);
  sock.on('connect', poll);
  sock.on('error', (e) => { if (!c.closed) c.fail(`poll: socket error: ${e.message}`); });
  sock.on('close', () => { if (!c.closed) c.lost(); });
}

let failures = [];
let lostConnections = 0;
let readyCount = 0;
let closing = false;

function makeClient(idx, fe, room, nick, counted) {
  const c = { idx, fe, room, nick, counted, ready: false, recv: 0, sent: 0, lastData: 0, failed: null };
  c.node = NODES[idx % NODES.length];
  c.hist = Object.keys(byFe).length > 1 && byFe[fe] ? byFe[fe] : all;
  c.markReady = () => { if (!c.ready) { c.ready = true; readyCount++; if (c.onReady) c.onReady(); } };
  c.fail = (why) => {
    if (c.failed) return;
    c.failed = why;
    if (failures.length < 20) failures.push(`${c.nick} (${c.fe}): ${why}`);
    if (!c.ready && c.onReady) c.onReady();
  };
  c.lost = () => { if (!closing) { lostConnections++; c.fail(c.failed || 'connection closed by the server'); } };
  return c;
}

function open(c) {
  return new Promise((resolve) => {
    c.onReady = resolve;
    if (c.fe === 'lines' || c.fe === 'irc') openLines(c);
    else if (c.fe === 'ws') openWs(c);
    else if (c.fe === 'poll') openPoll(c);
    else throw new Error(`unknown front end ${c.fe}`);
  });
}

async function openAll(list, concurrency) {
  let i = 0;
  async function worker() {
    while (i < list.length) {
      const c = list[i++];
      const timer = setTimeout(() => c.fail('no join confirmation within 60 s'), 60000);
      await open(c);
      clearTimeout(timer);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
}

/* Wait until no client has received anything for quietMs (join notices
 * still flowing), at most maxMs. */
async function quiet(quietMs, maxMs) {
  const start = Date.now();
  for (;;) {
    let last = 0;
    for (const c of clients) if (c.lastData > last) last = c.lastData;
    if (Date.now() - last >= quietMs || Date.now() - start > maxMs) return;
    await sleep(50);
  }
}

// ---------------------------------------------------------------- plan

function build() {
  const fes = spec.receiver_fes;
  let pollIndex = 0;
  for (let r = 0; r < spec.rooms; r++) rooms.push({ name: roomName(r), members: [], counted: 0, sent: 0 });
  let idx = 0;
  for (let i = 0; i < spec.rooms * spec.per_room; i++) {
    const fe = fes[i % fes.length];
    const c = makeClient(idx++, fe, i % spec.rooms, `r${i}`, true);
    if (fe === 'poll') c.pollIndex = pollIndex++;
    clients.push(c);
    rooms[c.room].members.push(c);
    rooms[c.room].counted++;
  }
  if (spec.sender_mode === 'dedicated') {
    for (let s = 0; s < spec.senders; s++) {
      const fe = spec.sender_fes[s % spec.sender_fes.length];
      const c = makeClient(idx++, fe, s % spec.rooms, `s${s}`, false);
      if (fe === 'poll') c.pollIndex = pollIndex++;
      c.sidx = senders.length;
      senders.push(c);
      clients.push(c);
      rooms[c.room].members.push(c);
    }
  } else {
    // Members talk: sender k is member k of each room in turn.
    for (let m = 0; m < spec.per_room; m++) {
      for (let r = 0; r < spec.rooms; r++) {
        const c = rooms[r].members[m];
        c.sidx = senders.length;
        senders.push(c);
      }
    }
  }
}

// ---------------------------------------------------------------- runs

async function runIdle() {
  const pid = spec.server_pid;
  const base = procStatus(pid, 'VmRSS');
  const points = [];
  let done = 0;
  for (const target of spec.checkpoints) {
    const t0 = Date.now();
    await openAll(clients.slice(done, target), spec.concurrency);
    done = target;
    await quiet(500, 10000);
    await sleep(spec.idle_settle_ms || 1000);
    const rss = procStatus(pid, 'VmRSS');
    const connected = clients.slice(0, target).filter((c) => c.ready && !c.failed).length;
    points.push({ connections: target, connected, rss_kib: rss, per_conn_kib: (rss - base) / target, seconds: (Date.now() - t0) / 1000 });
    log(`${target} connections: server RSS ${(rss / 1024).toFixed(1)} MiB, ${((rss - base) / target).toFixed(2)} KiB per connection`);
  }
  return { base_rss_kib: base, points };
}

async function runLoad() {
  const t0 = Date.now();
  await openAll(clients, spec.concurrency);
  const joinS = (Date.now() - t0) / 1000;
  log(`${readyCount}/${clients.length} clients joined in ${joinS.toFixed(1)} s`);
  if (failures.length) return { join_s: joinS, aborted: 'clients failed during setup' };
  await quiet(300, 60000);

  // Warm up, then measure a steady window, then stop and drain.
  sending = true;
  lastProgress = nowNs();
  const start = nowNs();
  let rateTimer = null;
  if (spec.mode === 'flat') {
    const per = Math.max(1, Math.floor(spec.window / senders.length));
    for (let k = 0; k < per; k++) for (const s of senders) sendFrom(s);
  } else {
    let k = 0;
    const step = () => {
      if (!sending) return;
      const due = Math.floor(((nowNs() - start) / 1e9) * spec.rate);
      while (k < due) { sendFrom(senders[k % senders.length]); k++; }
      const next = start + ((k + 1) / spec.rate) * 1e9;
      rateTimer = setTimeout(step, Math.max(0, (next - nowNs()) / 1e6));
    };
    step();
  }
  await sleep(spec.warmup_s * 1000);
  emit('measure_start');
  const cpu0 = serversCpu(); const usage0 = process.cpuUsage(); const self0 = selfCpu(); const busy0 = machineBusy(); const t1 = nowNs();
  const sent0 = nextGid;
  measuring = true;
  let stalled = false;
  const end = t1 + spec.measure_s * 1e9;
  while (nowNs() < end) {
    await sleep(Math.min(100, Math.max(1, (end - nowNs()) / 1e6)));
    if (spec.mode === 'flat' && nowNs() - lastProgress > spec.stall_s * 1e9) { stalled = true; break; }
    if (failures.length) break;
  }
  const t2 = nowNs(); const cpu1 = serversCpu(); const self1 = selfCpu(); const usage1 = process.cpuUsage(usage0); const busy1 = machineBusy();
  measuring = false;
  const sentMeasured = nextGid - sent0;
  emit('measure_end');
  sending = false;
  if (rateTimer) clearTimeout(rateTimer);

  // Drain: wait for every message in flight to reach every receiver.
  const drainEnd = Date.now() + spec.drain_s * 1000;
  while (completed < nextGid && Date.now() < drainEnd) await sleep(20);

  const seconds = (t2 - t1) / 1e9;
  const serverCpuS = cpuSeconds(cpu0, cpu1);
  const genCpuS = self1 - self0;
  let lostMessages = 0; let lostDeliveries = 0;
  for (let g = Math.max(0, nextGid - RING); g < nextGid; g++) {
    const slot = g & MASK;
    if (gidOf[slot] === g && pending[slot] > 0) { lostMessages++; lostDeliveries += pending[slot]; }
  }
  // Per receiver: expected = messages sent into its room, less its own
  // when the server does not echo to the sender.
  let receiversShort = 0; let worst = null;
  for (const c of clients) {
    if (!c.counted) continue;
    const expected = rooms[c.room].sent - (echo[c.fe] ? 0 : c.sent);
    if (c.recv < expected) {
      receiversShort++;
      if (!worst || expected - c.recv > worst.missing) worst = { nick: c.nick, fe: c.fe, expected, received: c.recv, missing: expected - c.recv };
    }
  }
  return {
    join_s: joinS,
    seconds,
    messages_sent: nextGid,
    messages_measured: sentMeasured,
    deliveries: measuredDeliveries,
    // Long-poll responses to counted receivers in the window: a poll that
    // comes late finds several events waiting and takes them in one
    // response, which costs the server less per delivery.
    poll_responses: measuredPolls,
    deliveries_total: totalDeliveries,
    deliveries_per_s: measuredDeliveries / seconds,
    offered_deliveries_per_s: spec.mode === 'rate' ? spec.rate * expectedPerMessage() : null,
    server_cpu_s: serverCpuS,
    // Each server process's share (a cluster: every node, then Redis).
    server_cpu_each_s: cpu0.each.map((c, i) => cpuSeconds(c, cpu1.each[i])),
    server_cpu_stat_s: cpu1.stat_s - cpu0.stat_s,
    server_cpu_util: serverCpuS / seconds,
    server_us_per_delivery: measuredDeliveries ? (serverCpuS * 1e6) / measuredDeliveries : null,
    gen_cpu_s: genCpuS,
    gen_cpu_util: genCpuS / seconds,
    gen_user_s: usage1.user / 1e6,
    gen_system_s: usage1.system / 1e6,
    // CPU used by everything else on the machine during the window
    // (other processes, interrupts): a noisy neighbour shows up here.
    other_cpu_util: Math.max(0, (busy1 - busy0) - serverCpuS - genCpuS) / seconds,
    gen_us_per_delivery: measuredDeliveries ? (genCpuS * 1e6) / measuredDeliveries : null,
    lat_p50_ms: latency(all).p50_ms,
    lat_p99_ms: latency(all).p99_ms,
    lat_max_ms: latency(all).max_ms,
    by_fe: Object.keys(byFe).length > 1 ? Object.fromEntries(Object.entries(byFe).map(([fe, H]) => [fe, latency(H)])) : undefined,
    lost_messages: lostMessages,
    lost_deliveries: lostDeliveries,
    receivers_short: receiversShort,
    worst_receiver: worst,
    duplicates,
    unexpected,
    stalled,
  };
}

function expectedPerMessage() {
  // Average receivers per message over the senders' rotation.
  let sum = 0;
  for (const s of senders) sum += rooms[s.room].counted - (s.counted && !echo[s.fe] ? 1 : 0);
  return sum / senders.length;
}

async function main() {
  build();
  const pid = spec.server_pid;
  const result = { spec_name: spec.name, clients: clients.length, receivers: clients.filter((c) => c.counted).length, senders: senders.length };
  try {
    Object.assign(result, spec.mode === 'idle' ? await runIdle() : await runLoad());
  } catch (e) {
    result.aborted = `load generator error: ${e.stack || e}`;
  }
  result.server_rss_kib = procStatus(pid, 'VmRSS');
  result.server_hwm_kib = procStatus(pid, 'VmHWM');
  result.gen_hwm_kib = procStatus(process.pid, 'VmHWM');
  result.failures = failures;
  result.lost_connections = lostConnections;
  result.ready = readyCount;
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  closing = true;
  // bench/run.py kills the server once it has the result; closing our
  // sockets first would make it send every member a quit notice.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  setTimeout(() => process.exit(0), 30000).unref();
}

process.on('uncaughtException', (e) => {
  process.stdout.write(`RESULT ${JSON.stringify({ aborted: `load generator crashed: ${e.stack || e}`, failures })}\n`);
  process.exit(1);
});

main();
