// Slash commands typed in the message box: the same set as the telnet
// front end (docs/protocol.md, "Lines protocol"). Parsing only; slash.js runs
// them.

export const HELP = [
  ['/join #room', 'join a room and switch to it'],
  ['/part [#room] [reason]', 'leave a room (default: the current one); closes a private conversation'],
  ['/me text', 'an action in the current room'],
  ['/msg nick [text]', 'a private message (opens a conversation with nick)'],
  ['/nick name', 'change your nick'],
  ['/topic [#room] [text]', 'show, or set, the topic'],
  ['/who [#room]', 'list the members of a room'],
  ['/rooms', 'list the rooms on the server'],
  ['/history [N]', 'show the last N messages of the current room'],
  ['/help', 'this list'],
  ['/quit [reason]', 'leave the chat'],
  ['//text', 'send text that starts with a /'],
];

const ALIASES = {
  j: 'join',
  leave: 'part',
  query: 'msg',
  exit: 'quit',
  list: 'rooms',
  names: 'who',
};

export const COMMANDS = new Set([
  'join', 'part', 'me', 'msg', 'nick', 'topic', 'who', 'rooms', 'history', 'help', 'quit',
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
