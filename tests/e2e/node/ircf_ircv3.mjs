// An IRCv3 user on irc-framework (the library behind Kiwi IRC) that asks
// for draft/multiline and uses client tags, for
// tests/e2e/test_irc_conversation18_e2e.py.
//
//   node ircf_ircv3.mjs PORT NICK
//
// irc-framework collects batches and hands their lines over when a batch
// ends; as an application built on it does, this script joins a
// draft/multiline batch's lines into one message (a line feed between
// lines, none before a draft/multiline-concat line).
//
// It writes JSON lines on stdout: registered, join, message (a PRIVMSG
// outside a multiline batch), multiline (a whole batch), tagmsg, fail,
// close. It reads JSON commands on stdin:
//   {"join": ROOM}
//   {"multiline": [TARGET, [LINE, ...]], "tags": {...}}   one batch, tags on its BATCH line
//   {"say": [TARGET, TEXT], "tags": {...}}                one PRIVMSG with client tags
//   {"tagmsg": [TARGET, {...}]}                           a TAGMSG
//   {"quit": REASON}
// Every raw line goes to stderr, so a failing test can show the conversation.

import readline from 'node:readline';
import IRC from 'irc-framework';

const [port, nick] = process.argv.slice(2);

function out(event) {
    process.stdout.write(JSON.stringify(event) + '\n');
}

const client = new IRC.Client();
client.requestCap(['draft/multiline']);

client.on('raw', (event) => {
    process.stderr.write((event.from_server ? '<< ' : '>> ') + event.line.trimEnd() + '\n');
});
client.on('registered', (event) => {
    const caps = client.network.cap.enabled;
    out({ event: 'registered', nick: event.nick, caps: caps });
});
client.on('join', (event) => out({ event: 'join', nick: event.nick, channel: event.channel }));
client.on('privmsg', (event) => {
    if (event.batch && event.batch.type === 'draft/multiline') {
        return; // told whole, at the batch's end
    }
    out({
        event: 'message', nick: event.nick, target: event.target, message: event.message,
        tags: event.tags || {},
    });
});
client.on('batch end draft/multiline', (batch) => {
    let text = '';
    let first = true;
    let from = null;
    for (const line of batch.commands) {
        const part = line.params[line.params.length - 1];
        from = from || line.nick;
        if (first) {
            text = part;
        } else if (line.getTag('draft/multiline-concat') !== undefined) {
            text += part;
        } else {
            text += '\n' + part;
        }
        first = false;
    }
    out({ event: 'multiline', nick: from, target: batch.params[0], message: text, lines: batch.commands.length });
});
client.on('batch start draft/multiline', () => {});
client.on('tagmsg', (event) => {
    out({ event: 'tagmsg', nick: event.nick, target: event.target, tags: event.tags || {} });
});
client.on('unknown command', (command) => {
    if (command.command === 'FAIL') {
        out({ event: 'fail', params: command.params });
    }
});
client.on('close', () => {
    out({ event: 'close' });
    process.exit(0);
});

function tagged(command, params, tags) {
    const message = new IRC.Message(command, ...params);
    message.tags = tags || {};
    client.raw(message);
}

let batches = 0;

readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const command = JSON.parse(line);
    if (command.join) {
        client.join(command.join);
    } else if (command.multiline) {
        const [target, lines] = command.multiline;
        const ref = 'ml' + (++batches);
        tagged('BATCH', ['+' + ref, 'draft/multiline', target], command.tags);
        for (const text of lines) {
            tagged('PRIVMSG', [target, text], { batch: ref });
        }
        client.raw('BATCH', '-' + ref);
    } else if (command.say) {
        tagged('PRIVMSG', command.say, command.tags);
    } else if (command.tagmsg) {
        tagged('TAGMSG', [command.tagmsg[0]], command.tagmsg[1]);
    } else if (command.quit !== undefined) {
        client.quit(command.quit);
    }
});

client.connect({
    host: '127.0.0.1',
    port: Number(port),
    nick: nick,
    username: nick,
    gecos: 'irc-framework in a test',
    auto_reconnect: false,
});
