// An IRC user on irc-framework (the library behind Kiwi IRC), for
// tests/e2e/test_irc_framework_e2e.py.
//
//   node ircf_client.mjs PORT NICK [ACCOUNT PASSWORD]
//
// It connects to 127.0.0.1:PORT (SASL PLAIN when given an account), and
// writes what happens as JSON lines on stdout: registered, loggedin,
// sasl-failed, join, message (privmsg, notice, action), close. It reads
// commands as JSON lines on stdin: {"join": ROOM}, {"say": [TARGET, TEXT]},
// {"action": [TARGET, TEXT]}, {"quit": REASON}. Every raw line goes to
// stderr, so a failing test can show the conversation.

import readline from 'node:readline';
import IRC from 'irc-framework';

const [port, nick, account, password] = process.argv.slice(2);

function out(event) {
    process.stdout.write(JSON.stringify(event) + '\n');
}

const client = new IRC.Client();
const options = {
    host: '127.0.0.1',
    port: Number(port),
    nick: nick,
    username: nick,
    gecos: 'irc-framework in a test',
    auto_reconnect: false,
};
if (account) {
    options.account = { account: account, password: password };
}

client.on('raw', (event) => {
    process.stderr.write((event.from_server ? '<< ' : '>> ') + event.line.trimEnd() + '\n');
});
client.on('registered', (event) => out({ event: 'registered', nick: event.nick }));
client.on('loggedin', (event) => out({ event: 'loggedin', account: event.account }));
client.on('sasl failed', (event) => out({ event: 'sasl-failed', reason: event.reason }));
client.on('join', (event) => out({ event: 'join', nick: event.nick, channel: event.channel }));
client.on('message', (event) => {
    out({
        event: 'message',
        type: event.type,
        nick: event.nick,
        ident: event.ident,
        hostname: event.hostname,
        target: event.target,
        message: event.message,
        msgid: (event.tags || {}).msgid || null,
        time: event.time || null,
        batch: event.batch ? event.batch.type : null,
    });
});
client.on('irc error', (event) => out({ event: 'irc-error', error: event.error, reason: event.reason }));
client.on('close', () => {
    out({ event: 'close' });
    process.exit(0);
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const command = JSON.parse(line);
    if (command.join) {
        client.join(command.join);
    } else if (command.say) {
        client.say(command.say[0], command.say[1]);
    } else if (command.action) {
        client.action(command.action[0], command.action[1]);
    } else if (command.quit !== undefined) {
        client.quit(command.quit);
    }
});

client.connect(options);
