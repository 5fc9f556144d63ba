// Slash commands typed in the message box: the same set as the telnet
// front end (docs/protocol.md, "Lines protocol"; docs/accounts.md for
// accounts and moderation, parsed in modparse.js). Parsing only; slash.js
// runs them.

import { NAMES } from './modparse.js';

export const HELP = [
  ['/join #room [key]', 'join a room and switch to it (with its key, if it has one)'],
  ['/part [#room] [reason]', 'leave a room (default: the current one); closes a private conversation'],
  ['/me text', 'an action in the current room'],
  ['/msg nick [text]', 'a private message (opens a conversation with nick)'],
  ['/nick name', 'change your nick'],
  ['/topic [#room] [text]', 'show, or set, the topic'],
  ['/who [#room]', 'list the members of a room'],
  ['/rooms', 'list the rooms on the server'],
  ['/history [N]', 'show the last N messages of the current room'],
  ['/whois nick', 'who a nick is: its account and rooms'],
  ['/help [accounts|moderation]', 'this list, or the commands for accounts or moderation'],
  ['/quit [reason]', 'leave the chat'],
  ['//text', 'send text that starts with a /'],
];

export const HELP_TOPICS = {
  accounts: [
    ['/register password [email]', 'register your nick as an account, and log in (nobody else may use it)'],
    ['/login account password', 'log in (also /identify [account] password)'],
    ['/logout', 'log out, on every tab'],
    ['/passwd old new', 'change your password'],
    ['/ghost nick', 'disconnect a connection holding your nick'],
    ['/drop password', 'delete your account'],
    ['/whois nick', 'who a nick is: its account and rooms'],
  ],
  moderation: [
    ['/room register', 'register the room, you its founder (/room transfer account, /room drop)'],
    ['/op nick, /deop nick', 'give or take operator (the founder)'],
    ['/voice nick, /devoice nick', 'let a member speak in a moderated room'],
    ['/kick nick [reason]', 'put a member out'],
    ['/ban mask [duration] [reason]', 'ban ~a:account, a nick pattern (spam*) or an address; /unban mask, /bans'],
    ['/mute nick [duration]', 'the member reads but cannot speak; /unmute nick'],
    ['/invite nick', 'let a nick into an invite-only room'],
    ['/mode [+flags|-flags [arg]]', 'show or set modes: +m +i +t +k key +l N'],
    ['/delete id', 'delete a message (the ✕ on a line does it too)'],
    ['/kill, /announce, /gban, /gunban, /gbans', 'server operators: disconnect, notice all, server bans'],
    ['durations', '30s, 10m, 2h, 7d, or a number of minutes; put #room first to name another room'],
  ],
};

const ALIASES = {
  j: 'join',
  leave: 'part',
  query: 'msg',
  exit: 'quit',
  list: 'rooms',
  names: 'who',
};

export const COMMANDS = new Set([
  'join', 'part', 'me', 'msg', 'nick', 'topic', 'who', 'rooms', 'history', 'help', 'quit', ...NAMES,
]);

/**
 * Parse what the user typed.
 * @returns {{kind:'text', text:string}|{kind:'command', name:string, args:string, raw:string}|{kind:'unknown', name:string}}
 */
export function parseInput(input) {
  if (input.startsWith('//')) return { kind: 'text', text: input.slice(1) };
  if (!input.startsWith('/')) return { kind: 'text', text: input };
  const m = /^\/(\S*)\s*([\s\S]*)$/u.exec(input);
  const typed = m[1].toLowerCase();
  const name = ALIASES[typed] || typed;
  if (!COMMANDS.has(name)) return { kind: 'unknown', name: m[1] };
  return { kind: 'command', name, args: m[2], raw: input };
}

/** Split "first rest of it" into ["first", "rest of it"]. */
export function firstWord(args) {
  const m = /^(\S*)\s*([\s\S]*)$/u.exec(args.trim());
  return [m[1], m[2]];
}
