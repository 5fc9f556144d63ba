// What the page remembers: the nick and rooms between visits (local
// storage), and across a reload of the tab the room it showed and each
// room's resume cursor (session storage). Storage may be full, disabled or
// missing: the client still works, it only forgets.

const K_NICK = 'chatd.nick';
const K_ROOMS = 'chatd.rooms';
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

  active() {
    return read(this.session, K_ACTIVE, null);
  }

  setActive(key) {
    write(this.session, K_ACTIVE, key);
  }
}
