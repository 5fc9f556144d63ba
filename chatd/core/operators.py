# -*- test-case-name: tests.core.test_moderation -*-
"""
What server operators (the accounts in tap.cfg's C{[server] operators})
do to the whole server: disconnect a user, tell everyone something, and
ban accounts and addresses from the server.
"""

from typing import Optional

from twisted.internet.defer import Deferred

from chatd.core import directives as dv
from chatd.core import events as ev
from chatd.core.errors import InvalidMask, NoSuchNick, NotOperator
from chatd.core.masks import parse as parse_mask
from chatd.core.text import check_nick, clean_text, fold


class ServerOps:
    """Server operator commands, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    def need_operator(self, what: str) -> None:
        if not self.is_operator:
            raise NotOperator(f"Only server operators may {what}.")

    def kill(self, nick: str, reason: Optional[str] = None) -> Deferred:
        """Disconnect every connection of C{nick}; its rooms see it quit with the reason."""
        self.need_operator("disconnect users")
        why = f"Killed by {self.nick}" + (f": {self._reason(reason)}" if self._reason(reason) else "")

        def found(target):
            if target is None:
                raise NoSuchNick(f"Nobody is called {nick} right now.")
            self.hub.reach(target, dv.Disconnect(uid=target.uid, reason=why))
            return None

        return self.hub.presence.find(check_nick(nick)).addCallback(found)

    def announce(self, text: str) -> ev.Notice:
        """A notice from this operator to every session on the server (every node)."""
        self.need_operator("send notices to everyone")
        text = clean_text(text, "notice", self.hub.rules.max_message).strip()
        event = ev.Notice(text=text, nick=self.nick, ts=self.hub.now())
        self.hub.tell_all(dv.Announce(event=event))
        return event

    def server_ban(self, mask: str, duration: Optional[int] = None, reason: Optional[str] = None) -> Deferred:
        """Ban an account or an address from the server; its sessions are disconnected."""
        from chatd.store.records import BanRecord

        self.need_operator("ban from the server")
        parsed = parse_mask(mask)
        if parsed.pattern is not None:
            raise InvalidMask(f"{mask!r}: a server ban names an account (~a:NAME) or an address, not a nick pattern.")
        now = self.hub.now()
        reason = self._reason(reason) or ""
        record = BanRecord(mask=parsed.text, by=self.nick, since=now, reason=reason,
                           until=now + duration if duration else None)

        def saved(_):
            hub = self.hub
            farewell = "Banned from this server" + (f": {reason}" if reason else ".")
            hub.server_bans = [b for b in hub.server_bans if fold(b.mask) != fold(record.mask)] + [record]
            for session in tuple(hub.sessions):
                if session.user is not self.user and session.banned_by([record]) is not None:
                    hub.disconnect(session, farewell)
            hub.nodes.tell(None, dv.ServerBansChanged(reason=farewell))
            return ev.BanSet(room=None, mask=record.mask, by=self.nick, reason=reason or None, until=record.until,
                             ts=now)

        return self.hub.store.add_ban(None, record).addCallback(saved)

    def server_unban(self, mask: str) -> Deferred:
        self.need_operator("lift server bans")
        text = parse_mask(mask).text

        def removed(found: bool):
            if not found:
                raise InvalidMask(f"{text} is not banned from the server.")
            self.hub.server_bans = [b for b in self.hub.server_bans if fold(b.mask) != fold(text)]
            self.hub.nodes.tell(None, dv.ServerBansChanged(reason="Banned from this server."))
            return ev.BanLifted(room=None, mask=text, by=self.nick, ts=self.hub.now())

        return self.hub.store.remove_ban(None, text).addCallback(removed)

    def server_bans(self) -> ev.BanList:
        self.need_operator("list server bans")
        now = self.hub.now()
        rows = tuple(ev.BanInfo(b.mask, b.by, b.reason or None, b.since, b.until)
                     for b in self.hub.server_bans if b.until is None or b.until > now)
        return ev.BanList(room=None, bans=rows, ts=now)
