// A WAMP client on autobahn-js (with Node's ws as the WebSocket), for
// tests/e2e/test_wamp_*.py: a test drives it line by line.
//
//   node wamp_client.mjs URL SERIALIZER [AUTHID TICKET]
//
// SERIALIZER is json or msgpack; with AUTHID and TICKET it authenticates by
// ticket, else it joins anonymously. It reads commands as JSON lines on
// stdin and writes what happens as JSON lines on stdout, the same protocol
// as ../wamp_py_client.py (Autobahn|Python; see there): ops call,
// subscribe, publish, register and leave; events open, result, error,
// subscribed, event, published, registered, invoked, closed. A registered
// procedure answers its string arguments upper-cased, with kwargs
// {by: "autobahn-js", got: KWARGS}, or fails with the error it was given,
// or (hold) never answers.
// Autobahn's own log goes to stderr.

import { createRequire } from 'node:module';
import readline from 'node:readline';
import WebSocket from 'ws';

// autobahn-js uses the global WebSocket (Node 22 has one; Node 20 does not).
globalThis.WebSocket = WebSocket;
const require = createRequire(import.meta.url);
const autobahn = require('autobahn');

const LIB = 'autobahn-js';
const [url, serializerName, authid, ticket] = process.argv.slice(2);

function out(event) {
    process.stdout.write(JSON.stringify(event) + '\n');
}

// msgpack5 decodes Buffers: ws hands autobahn-js an ArrayBuffer.
function serializer(name) {
    if (name === 'json') {
        return new autobahn.serializer.JSONSerializer();
    }
    const msgpack = new autobahn.serializer.MsgpackSerializer();
    const unserialize = msgpack.unserialize.bind(msgpack);
    msgpack.unserialize = (payload) => unserialize(Buffer.from(payload));
    return msgpack;
}

function refusal(id, e) {
    if (e instanceof autobahn.Error) {
        out({ event: 'error', id, error: e.error, args: e.args, kwargs: e.kwargs });
    } else {
        process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
        out({ event: 'failed', id, error: String(e && e.message ? e.message : e) });
    }
}

function callee(procedure, error, hold) {
    return (args, kwargs) => {
        out({ event: 'invoked', procedure, args: args || [], kwargs: kwargs || {} });
        if (hold) {
            return new Promise(() => {});
        }
        if (error) {
            throw new autobahn.Error(error, [`${LIB} refuses ${procedure}`], { by: LIB });
        }
        const upper = (args || []).map((a) => (typeof a === 'string' ? a.toUpperCase() : a));
        return new autobahn.Result(upper, { by: LIB, got: kwargs || {} });
    };
}

async function run(session, command) {
    const { op, id } = command;
    const args = command.args || [];
    const kwargs = command.kwargs || {};
    try {
        if (op === 'call') {
            const options = command.timeout ? { timeout: command.timeout } : {};
            const got = await session.call(command.procedure, args, kwargs, options);
            if (got instanceof autobahn.Result) {
                out({ event: 'result', id, args: got.args, kwargs: got.kwargs });
            } else {
                out({ event: 'result', id, args: got === undefined || got === null ? [] : [got], kwargs: {} });
            }
        } else if (op === 'subscribe') {
            const topic = command.topic;
            await session.subscribe(topic, (a, kw, details) => {
                out({ event: 'event', topic, publication: details.publication, args: a || [], kwargs: kw || {} });
            });
            out({ event: 'subscribed', id });
        } else if (op === 'publish') {
            const options = { acknowledge: Boolean(command.acknowledge) };
            if (command.exclude_me !== undefined) {
                options.exclude_me = command.exclude_me;
            }
            const published = await session.publish(command.topic, args, kwargs, options);
            if (options.acknowledge) {
                out({ event: 'published', id, publication: published.id });
            }
        } else if (op === 'register') {
            await session.register(command.procedure, callee(command.procedure, command.error, command.hold));
            out({ event: 'registered', id });
        } else if (op === 'leave') {
            connection.close();
        }
    } catch (e) {
        refusal(id, e);
    }
}

const options = {
    url,
    realm: 'chatd',
    serializers: [serializer(serializerName)],
    max_retries: 0,
    retry_if_unreachable: false,
};
if (authid) {
    options.authmethods = ['ticket'];
    options.authid = authid;
    options.onchallenge = () => ticket;
}
const connection = new autobahn.Connection(options);

connection.onopen = (session, details) => {
    out({
        event: 'open',
        session: session.id,
        authid: details.authid === undefined ? null : details.authid,
        authrole: details.authrole,
        authmethod: details.authmethod,
        authextra: details.authextra || {},
    });
    const commands = readline.createInterface({ input: process.stdin });
    commands.on('line', (line) => run(session, JSON.parse(line)));
    commands.on('close', () => connection.close());
};

connection.onclose = (reason, details) => {
    out({ event: 'closed', reason: details.reason || reason, message: details.message || null });
    process.exit(0);
};

connection.open();
