// The accounts and moderation commands typed in the message box
// (docs/accounts.md), parsed into the JSON commands the server takes: the
// same forms a terminal types (chatd/wire/slash.py), so one manual serves
// both. Parsing only; modslash.js runs them.
//
// A room command acts on the room shown unless its first word names one
// (/kick #den bob spam). Durations are typed as 30s, 10m, 2h, 7d or a
// number of minutes, and sent in seconds.

export const USAGE = {
  register: '/register PASSWORD [EMAIL]',
  login: '/login ACCOUNT PASSWORD',
  identify: '/identify [ACCOUNT] PASSWORD',
  logout: '/logout',
  passwd: '/passwd OLD NEW',
  ghost: '/ghost NICK',
  drop: '/drop PASSWORD',
  whois: '/whois NICK',
  room: '/room [#room] register|transfer ACCOUNT|drop',
  op: '/op [#room] NICK',
  deop: '/deop [#room] NICK',
  voice: '/voice [#room] NICK',
  devoice: '/devoice [#room] NICK',
  kick: '/kick [#room] NICK [reason]',
  ban: '/ban [#room] MASK [duration] [reason]',
  unban: '/unban [#room] MASK',
  bans: '/bans [#room]',
  mute: '/mute [#room] NICK [duration]',
  unmute: '/unmute [#room] NICK',
  invite: '/invite [#room] NICK',
  mode: '/mode [#room] [+FLAGS|-FLAGS [ARG]]',
  delete: '/delete [#room] ID',
  kill: '/kill NICK [reason]',
  announce: '/announce text',
  gban: '/gban MASK [duration] [reason]',
  gunban: '/gunban MASK',
  gbans: '/gbans',
};

export const DURATIONS = 'durations: 30s, 10m, 2h, 7d, or a number of minutes';

/** Commands whose words include a password: never kept in the composer's history. */
export const SECRET = new Set(['register', 'login', 'identify', 'passwd', 'drop']);

const words = (s) => s.trim().split(/\s+/u).filter(Boolean);

/** ["first", "the rest"] of s. */
function split(s) {
  const m = /^(\S*)\s*([\s\S]*)$/u.exec(s.trim());
  return [m[1], m[2].trim()];
}

const UNITS = { s: 1, m: 60, h: 3600, d: 86400 };

/** 30s, 10m, 2h, 7d or minutes, in seconds; null for anything else (zero included). */
export function parseDuration(text) {
  let unit = 60;
  let digits = text;
  if (Object.hasOwn(UNITS, text.slice(-1))) {
    unit = UNITS[text.slice(-1)];
    digits = text.slice(0, -1);
  }
  if (!/^[0-9]{1,6}$/.test(digits)) return null;
  return Number(digits) * unit || null;
}

/** One word of argument (a nick, a mask, a password), or null. */
const one = (make) => (rest) => {
  const w = words(rest);
  return w.length === 1 ? make(w[0]) : null;
};

/** A nick or mask, then optional text (a reason). */
const withText = (make) => (rest) => {
  const [head, tail] = split(rest);
  return head ? make(head, tail || null) : null;
};

/** MASK [duration] [reason]: a word starting with a digit after the mask is the duration. */
function banning(make) {
  return (rest, room) => {
    const [mask, tail] = split(rest);
    if (!mask) return null;
    const cmd = make(room, mask);
    let reason = tail;
    const [first, after] = split(tail);
    if (/^[0-9]/.test(first)) {
      const duration = parseDuration(first);
      if (duration === null) return null;
      cmd.duration = duration;
      reason = after;
    }
    if (reason) cmd.reason = reason;
    return cmd;
  };
}

const onNick = (type) => (rest, room) => one((nick) => ({ type, room, nick }))(rest);

const PLAIN = {
  register(rest) {
    const w = words(rest);
    if (w.length < 1 || w.length > 2) return null;
    return w.length === 2 ? { type: 'register', password: w[0], email: w[1] } : { type: 'register', password: w[0] };
  },
  login(rest) {
    const w = words(rest);
    return w.length === 2 ? { type: 'login', account: w[0], password: w[1] } : null;
  },
  identify(rest) {
    const w = words(rest);
    return w.length === 1 ? { type: 'login', password: w[0] } : PLAIN.login(rest);
  },
  logout: (rest) => (rest.trim() ? null : { type: 'logout' }),
  passwd(rest) {
    const w = words(rest);
    return w.length === 2 ? { type: 'passwd', old: w[0], new: w[1] } : null;
  },
  ghost: one((nick) => ({ type: 'ghost', nick })),
  drop: one((password) => ({ type: 'drop', password })),
  whois: one((nick) => ({ type: 'whois', nick })),
  kill: withText((nick, reason) => (reason ? { type: 'kill', nick, reason } : { type: 'kill', nick })),
  announce: (rest) => (rest.trim() ? { type: 'announce', text: rest.trim() } : null),
  gban: (rest) => banning((room, mask) => ({ type: 'gban', mask }))(rest, null),
  gunban: one((mask) => ({ type: 'gunban', mask })),
  gbans: (rest) => (rest.trim() ? null : { type: 'gbans' }),
};

const IN_ROOM = {
  room(rest, room) {
    const w = words(rest);
    const action = (w[0] || '').toLowerCase();
    if ((action === 'register' || action === 'drop') && w.length === 1) return { type: 'room', room, action };
    if (action === 'transfer' && w.length === 2) return { type: 'room', room, action, account: w[1] };
    return null;
  },
  op: onNick('op'),
  deop: onNick('deop'),
  voice: onNick('voice'),
  devoice: onNick('devoice'),
  unmute: onNick('unmute'),
  invite: onNick('invite'),
  kick: (rest, room) => withText((nick, reason) => (reason ? { type: 'kick', room, nick, reason }
    : { type: 'kick', room, nick }))(rest),
  ban: banning((room, mask) => ({ type: 'ban', room, mask })),
  unban: (rest, room) => one((mask) => ({ type: 'unban', room, mask }))(rest),
  bans: (rest, room) => (rest.trim() ? null : { type: 'bans', room }),
  mute(rest, room) {
    const w = words(rest);
    if (w.length === 1) return { type: 'mute', room, nick: w[0] };
    const duration = w.length === 2 ? parseDuration(w[1]) : null;
    return duration ? { type: 'mute', room, nick: w[0], duration } : null;
  },
  mode(rest, room) {
    const w = words(rest);
    if (!w.length) return { type: 'mode', room };
    if (!/^[+-]/.test(w[0]) || w.length > 2) return null;
    return w.length === 2 ? { type: 'mode', room, modes: w[0], arg: w[1] } : { type: 'mode', room, modes: w[0] };
  },
  delete(rest, room) {
    const w = words(rest);
    return w.length === 1 && /^[0-9]{1,15}$/.test(w[0]) ? { type: 'delete', room, id: Number(w[0]) } : null;
  },
};

/** The names parseModeration knows. */
export const NAMES = [...Object.keys(PLAIN), ...Object.keys(IN_ROOM)];

function usage(name) {
  const form = USAGE[name];
  return `Usage: ${form}${form.includes('duration') ? ` (${DURATIONS})` : ''}`;
}

/**
 * /name args as a JSON command: {cmd}, or {error} saying the right form.
 * room: the room shown, or null (a room command must then name one).
 */
export function parseModeration(name, args, room) {
  if (Object.hasOwn(PLAIN, name)) {
    const cmd = PLAIN[name](args);
    return cmd ? { cmd } : { error: usage(name) };
  }
  if (!Object.hasOwn(IN_ROOM, name)) return { error: `There is no /${name} command.` };
  const [first, rest] = split(args);
  const named = first.startsWith('#');
  const target = named ? first : room;
  if (!target) return { error: `${usage(name)}: name a room, or use it in the room itself.` };
  const cmd = IN_ROOM[name](named ? rest : args, target);
  return cmd ? { cmd } : { error: usage(name) };
}
