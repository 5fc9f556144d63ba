// What the page remembers: the nick, rooms, login and notification choice
// between visits (local storage, shared by the tabs), and across a reload
// of the tab the room it showed and each room's resume cursor (session
// storage). Storage may be full, disabled or missing: the client still
// works, it only forgets.

const K_NICK = 'chatd.nick';
const K_ROOMS = 'chatd.rooms';
/** {account, token}: the login token of the account this browser is logged in to. */
export const K_LOGIN = 'chatd.login';
const K_NOTIFY = 'chatd.notify';
const K_LAST = 'chatd.lastIds';
const K_ACTIVE = 'chatd.active';

function read(area, key, fallback) {
  if (!area) return fallback;
  try {
    const raw = area.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function write(area, key, value) {
  if (!area) return;
  try {
    if (value === undefined || value === null) area.removeItem(key);
    else area.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the client still works */
  }
}

/** window[name] (localStorage, sessionStorage), or null where the browser refuses it. */
export function browserStorage(name) {
  try {
    return globalThis[name] || null;
  } catch {
    return null;
  }
}

export class Persist {
  /** local, session: Storage-like objects (getItem, setItem, removeItem), or null. */
  constructor(local, session) {
    this.local = local;
    this.session = session;
  }

  nick() {
    return read(this.local, K_NICK, null);
  }

  setNick(nick) {
    write(this.local, K_NICK, nick);
  }

  /** The rooms to join, or null on a first visit. */
  rooms() {
    return read(this.local, K_ROOMS, null);
  }

  setRooms(names) {
    write(this.local, K_ROOMS, names);
  }

  lastIds() {
    const all = read(this.session, K_LAST, {});
    return all && typeof all === 'object' ? all : {};
  }

  /** The resume cursor of the room with this key, or null. */
  lastId(key) {
    const id = this.lastIds()[key];
    return typeof id === 'number' ? id : null;
  }

  setLastId(key, id) {
    const all = this.lastIds();
    if (id === null) delete all[key];
    else all[key] = id;
    write(this.session, K_LAST, all);
  }

  /** The stored login, {account, token}, or null. */
  login() {
    const v = read(this.local, K_LOGIN, null);
    return v && typeof v.account === 'string' && typeof v.token === 'string' && v.token ? v : null;
  }

  /** Keep {account, token} (null forgets it: a logout, or a token the server refused). */
  setLogin(login) {
    write(this.local, K_LOGIN, login ? { account: login.account, token: login.token } : null);
  }

  /** Whether the user asked for desktop notifications. */
  notify() {
    return read(this.local, K_NOTIFY, false) === true;
  }

  setNotify(on) {
    write(this.local, K_NOTIFY, on ? true : null);
  }

  active() {
    return read(this.session, K_ACTIVE, null);
  }

  setActive(key) {
    write(this.session, K_ACTIVE, key);
  }
}
