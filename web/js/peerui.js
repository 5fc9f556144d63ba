// The member panel of a private conversation: the other person, online
// or not, away or not (peers.js keeps what is known), asked with `whois`
// when the conversation is shown and kept up to date by the events.

import { renderMembers } from './chrome.js';
import { h, syncList } from './dom.js';
import { iso } from './lines.js';
import { notePeer, peerOf, peerStatus } from './peers.js';
import { currentConv, refFor, takeRef } from './state.js';
import { fold, nickClass } from './text.js';

/** Redraw the panel if it shows nick. */
function redraw(app, nick) {
  const conv = currentConv(app.state);
  if (conv.kind === 'pm' && fold(conv.name) === fold(nick)) renderMembers(app);
}

/** Learn fields of nick ({online, away}) and show them. */
export function learnPeer(app, nick, fields) {
  if (notePeer(app.state, nick, fields)) redraw(app, nick);
}

/** Ask the server whether nick is online and away (a private conversation was shown). */
export async function askPeer(app, nick) {
  const { state, conn } = app;
  if (!conn.connected || state.needNick) return;
  const ref = refFor(state, { kind: 'peer', resolve: (ev) => learnPeer(app, nick, { online: true, away: ev.away || null }) });
  const r = await conn.request({ type: 'whois', nick, ref });
  if (!r || r.type !== 'error') return;
  takeRef(state, ref);
  if (r.code === 'no-such-nick') learnPeer(app, nick, { online: false });
}

/** `away`: nick went away (with a message) or came back. */
export function onAway(app, ev) {
  if (typeof ev.nick === 'string') learnPeer(app, ev.nick, { online: true, away: ev.away || null });
}

/** The panel's one row: the person this private conversation is with. */
export function renderPeerPanel(app, conv) {
  const peer = peerOf(app.state, conv.name);
  const { status, text } = peerStatus(peer);
  syncList(app.el.members, [conv.name], (n) => `peer:${fold(n)}`, () => h('li', { class: 'member-row peer-row' },
    h('span', { class: 'avatar-mini', 'aria-hidden': 'true' }),
    h('span', { class: 'peer-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'peer-who' }, h('bdi', { class: 'member-name' }), h('span', { class: 'peer-status' }))), (li, n) => {
    li.dataset.nick = n;
    li.dataset.status = status;
    li.querySelector('.avatar-mini').className = `avatar-mini ${nickClass(n)}`;
    li.querySelector('.member-name').textContent = n;
    const line = li.querySelector('.peer-status');
    if (status === 'away') line.replaceChildren('away: ', iso(peer.away));
    else line.textContent = text;
  });
}
