# -*- test-case-name: tests.core.test_moderation -*-
"""
What operators do in a room: register it, give roles, kick, ban, mute,
invite, set modes, delete messages (docs/accounts.md).  Each is an event
to the room through the bus, so every front end shows it.
"""

from typing import Optional

from twisted.internet.defer import Deferred, DeferredList, succeed

from chatd.core import directives as dv
from chatd.core import events as ev
from chatd.core.errors import (
    InvalidMask, NoSuchAccount, NoSuchMessage, NoSuchNick, NotInRoom, NotLoggedIn, NotOperator, RoomRegistered, Usage,
)
from chatd.core.masks import parse as parse_mask
from chatd.core.moderation import FLAGS, invited_as, modes_of, muted_as, registered
from chatd.core.presence import person_of
from chatd.core.text import check_nick, clean_text, fold

#: How long an invitation lets its guest in (until it is used).
INVITE_SECONDS = 86400.0

#: The role each role command gives (None: takes it away), and the role needed to give it.
ROLE_COMMANDS = {"op": ("operator", "founder"), "deop": (None, "founder"),
                 "voice": ("voice", "operator"), "devoice": (None, "operator")}


class RoomOps:
    """Room commands, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    def _publish(self, room, event):
        self.hub.bus.publish(room.key, event)
        return event

    def _member(self, room, nick: str) -> Deferred:
        """Deferred firing with the L{Person} called C{nick} in C{room}, on any node."""
        key = check_nick(nick)
        for member in room.members:
            if member.key == key:
                return succeed(person_of(member.user, self.hub.node))

        def found(person):
            if person is None:
                raise NotInRoom(f"{nick} is not in {room.name}.")
            return person

        return self.hub.presence.member(room.key, key).addCallback(found)

    # -- registration -----------------------------------------------------------------------

    def room_command(self, name: Optional[str], action: str, account: Optional[str] = None) -> Deferred:
        """C{register}, C{transfer ACCOUNT} or C{drop} the room."""
        room = self._joined(name)
        if action == "register":
            return self._register_room(room)
        if action == "transfer":
            self.need_level(room, "founder", "transfer it")
            if not account:
                raise Usage("Usage: /room transfer ACCOUNT")
            return self.hub.store.account(check_nick(account)).addCallback(self._transfer_room, room)
        if action == "drop":
            self.need_level(room, "founder", "drop its registration")
            return self._save_room(room, {}, {}, "dropped", None)
        raise Usage("Usage: /room register | /room transfer ACCOUNT | /room drop")

    def _register_room(self, room) -> Deferred:
        user = self.user
        if registered(room):
            raise RoomRegistered(f"{room.name} is registered already (founder: {room.settings.get('founder')}).")
        if user.account is None:
            raise NotLoggedIn("Log in to register a room: its founder is an account.")
        def counted(members):
            others = [m for m in members or () if m.nick != self.nick]
            if not self.is_operator and room.creator is not user and others:
                raise RoomRegistered(f"You did not create {room.name} and others are in it; only its creator, "
                                     "or a server operator, may register it.")
            settings = {"registered": True, "founder": user.account_name}
            return self._save_room(room, settings, {user.account: "founder"}, "registered", user.account_name)

        return self.hub.presence.members(room.key).addCallback(counted)

    def _transfer_room(self, record, room) -> Deferred:
        if record is None:
            raise NoSuchAccount("No account has that name.")
        settings = dict(room.settings, founder=record.name)
        roles = dict(room.roles)
        old = fold(room.settings.get("founder", ""))
        if roles.get(old) == "founder":
            roles[old] = "operator"
        roles[record.key] = "founder"
        return self._save_room(room, settings, roles, "transferred", record.name)

    def _save_room(self, room, settings, roles, action: str, founder: Optional[str]) -> Deferred:
        from chatd.store.records import RoomRecord

        store = self.hub.store
        record = RoomRecord(room.name, topic=room.topic, topic_by=room.topic_by, settings=settings)
        d = store.save_room(record)
        for key in set(room.roles) | set(roles):
            if room.roles.get(key) != roles.get(key):
                d.addCallback(lambda _, key=key: store.set_role(room.name, key, roles.get(key)))

        changed = {key: roles.get(key) for key in set(room.roles) | set(roles) if room.roles.get(key) != roles.get(key)}

        def saved(_):
            room.settings, room.roles = record.settings, roles
            event = self._publish(room, ev.RoomChanged(room=room.name, action=action, by=self.nick, founder=founder,
                                                       ts=self.hub.now()))
            return self.hub.presence.members(room.key).addCallback(self._roles_changed, room, changed, event)

        return d.addCallback(saved)

    def _roles_changed(self, members, room, changed, event):
        """Each member whose role the registration changed: the room sees a C{role} event (as /op would show)."""
        for member in members or ():
            if member.account in changed:
                self._publish(room, ev.Role(room=room.name, nick=member.nick, role=changed[member.account] or "member",
                                            by=self.nick, ts=self.hub.now()))
        return event

    # -- roles -------------------------------------------------------------------------------

    def give_role(self, command: str, name: Optional[str], nick: str) -> Deferred:
        """C{op}, C{deop}, C{voice} or C{devoice} C{nick} (its account keeps the role)."""
        room = self._joined(name)
        role, needed = ROLE_COMMANDS[command]
        self.need_level(room, needed, f"/{command} members")

        def found(target) -> Deferred:
            account = target.account
            if account is None:
                raise NotLoggedIn(f"{target.nick} is not logged in to an account, and roles belong to accounts.")
            if room.roles.get(account) == "founder" and role != "founder":
                raise NotInRoom(f"{target.nick} is the founder of {room.name}; /room transfer first.")

            def saved(_):
                if role is None:
                    room.roles.pop(account, None)
                else:
                    room.roles[account] = role
                return self._publish(room, ev.Role(room=room.name, nick=target.nick, role=role or "member",
                                                   by=self.nick, ts=self.hub.now()))

            return self.hub.store.set_role(room.name, account, role).addCallback(saved)

        return self._member(room, nick).addCallback(found)

    # -- kick, ban, mute, invite ---------------------------------------------------------------

    def kick(self, name: Optional[str], nick: str, reason: Optional[str] = None) -> Deferred:
        """Put C{nick} out of the room, whichever node it is on: the room hears a C{kick}."""
        room = self._joined(name)
        self.need_level(room, "operator", "kick members")

        def found(target) -> None:
            self.hub.reach(target, dv.KickOut(uid=target.uid, room=room.name, by=self.nick, reason=reason))

        return self._member(room, nick).addCallback(found)

    def ban(self, name: Optional[str], mask: str, duration: Optional[int] = None,
            reason: Optional[str] = None) -> Deferred:
        """Ban C{mask} from the room (for C{duration} seconds) and put out the members it matches."""
        from chatd.store.records import BanRecord

        room = self._joined(name)
        self.need_level(room, "operator", "ban")
        parsed = parse_mask(mask)
        founder = room.settings.get("founder")
        if founder and parsed.account == fold(founder):
            raise NotOperator(f"{founder} founded {room.name}; nobody can ban its founder from it.")
        reason = self._reason(reason) or ""
        now = self.hub.now()
        record = BanRecord(mask=parsed.text, by=self.nick, since=now, reason=reason,
                           until=now + duration if duration else None)

        def saved(_):
            room.bans = [b for b in room.bans if fold(b.mask) != fold(record.mask)] + [record]
            # Every node puts out its own members the ban covers, as the event reaches it (Hub.refresh).
            return self._publish(room, ev.BanSet(room=room.name, mask=record.mask, by=self.nick,
                                                 reason=reason or None, until=record.until, ts=now))

        return self.hub.store.add_ban(room.name, record).addCallback(saved)

    def unban(self, name: Optional[str], mask: str) -> Deferred:
        room = self._joined(name)
        self.need_level(room, "operator", "lift bans")
        text = parse_mask(mask).text

        def removed(found: bool):
            if not found:
                raise InvalidMask(f"{text} is not banned from {room.name}.")
            room.bans = [b for b in room.bans if fold(b.mask) != fold(text)]
            return self._publish(room, ev.BanLifted(room=room.name, mask=text, by=self.nick, ts=self.hub.now()))

        return self.hub.store.remove_ban(room.name, text).addCallback(removed)

    def list_bans(self, name: Optional[str]) -> Deferred:
        """A room's bans in force: anyone may read them (a banned user may see why), member or not."""
        name = self._named(name)
        room = self.hub.room(name)
        bans = succeed(room.bans) if room is not None else self.hub.store.bans(name)
        now = self.hub.now()

        def listed(rows) -> ev.BanList:
            return ev.BanList(room=room.name if room is not None else name, ts=now, bans=tuple(
                ev.BanInfo(b.mask, b.by, b.reason or None, b.since, b.until)
                for b in rows if b.until is None or b.until > now))

        return bans.addCallback(listed)

    def mute(self, name: Optional[str], nick: str, duration: Optional[int] = None) -> Deferred:
        from chatd.store.records import MarkRecord

        room = self._joined(name)
        self.need_level(room, "operator", "mute members")
        now = self.hub.now()
        until = now + duration if duration else None

        def found(target) -> Deferred:
            who = muted_as(target)
            record = MarkRecord(kind="mute", who=who, by=self.nick, since=now, until=until)

            def saved(_):
                room.mutes[who] = until
                return self._publish(room, ev.Muted(room=room.name, nick=target.nick, by=self.nick, until=until,
                                                    ts=now))

            return self.hub.store.set_mark(room.name, record).addCallback(saved)

        return self._member(room, nick).addCallback(found)

    def unmute(self, name: Optional[str], nick: str) -> Deferred:
        room = self._joined(name)
        self.need_level(room, "operator", "unmute members")

        def found(target) -> Deferred:
            names = {muted_as(target), "~u:" + target.uid}
            for who in names:
                room.mutes.pop(who, None)
            removed = [self.hub.store.remove_mark(room.name, "mute", who) for who in names]
            return DeferredList(removed, fireOnOneErrback=True, consumeErrors=True).addCallback(
                lambda _: self._publish(room, ev.Unmuted(room=room.name, nick=target.nick, by=self.nick,
                                                         ts=self.hub.now())))

        return self._member(room, nick).addCallback(found)

    def invite(self, name: Optional[str], nick: str) -> Deferred:
        """Let C{nick} into the room (past C{+i}) for a day, and tell it so."""
        from chatd.store.records import MarkRecord

        room = self._joined(name)
        self.need_level(room, "operator", "invite")
        hub = self.hub

        def found(target) -> Deferred:
            if target is None:
                raise NoSuchNick(f"Nobody is called {nick} right now.")
            now = hub.now()
            until = now + INVITE_SECONDS
            whos = invited_as(target)
            saved = [hub.store.set_mark(room.name, MarkRecord(kind="invite", who=who, by=self.nick, since=now,
                                                                until=until)) for who in whos]

            def told(_) -> ev.Invited:
                room.invites.update(dict.fromkeys(whos, until))
                event = ev.Invited(room=room.name, nick=self.nick, to=target.nick, ts=now)
                hub.send_to(target, event)
                if target.uid != self.user.uid:
                    hub.deliver_to_user(self.user, event)
                return event

            return DeferredList(saved, fireOnOneErrback=True, consumeErrors=True).addCallback(told)

        return hub.presence.find(check_nick(nick)).addCallback(found)

    # -- modes and deletion ---------------------------------------------------------------------

    def mode(self, name: Optional[str], modes: Optional[str] = None, arg: Optional[str] = None):
        """Show the room's modes, or change them (C{+t}, C{-i}, C{+k KEY}, C{+l N}, C{+mt})."""
        room = self._joined(name)
        if not modes:
            settings = room.settings
            return succeed(ev.Modes(room=room.name, modes=modes_of(room), key=settings.get("k") or None,
                                    limit=settings.get("l") or None, founder=settings.get("founder"),
                                    ts=self.hub.now()))
        self.need_level(room, "operator", "change its modes")
        settings = dict(room.settings)
        sign = None
        for flag in modes:
            if flag in "+-":
                sign = flag
                continue
            if sign is None or flag not in FLAGS:
                raise Usage(f"Usage: /mode [#room] +FLAGS|-FLAGS [ARG], with the flags {''.join(FLAGS)} "
                            "(moderated, invite-only, topic-locked, key, limit).")
            settings[flag] = self._mode_value(flag, sign, arg)
            if not settings[flag]:
                del settings[flag]
        return self._save_modes(room, settings, modes, arg if "k" in modes or "l" in modes else None)

    @staticmethod
    def _mode_value(flag: str, sign: str, arg: Optional[str]):
        if sign == "-":
            return None
        if flag == "k":
            if not arg:
                raise Usage("Usage: /mode +k KEY")
            return clean_text(arg, "key", 32).strip() or None
        if flag == "l":
            if not arg or not arg.isdecimal() or not 1 <= int(arg) <= 100000:
                raise Usage("Usage: /mode +l N (a number of members from 1)")
            return int(arg)
        return True

    def _save_modes(self, room, settings, modes: str, arg: Optional[str]) -> Deferred:
        from chatd.store.records import RoomRecord

        record = RoomRecord(room.name, topic=room.topic, topic_by=room.topic_by, settings=settings)

        def saved(_):
            room.settings = record.settings
            return self._publish(room, ev.ModeChange(room=room.name, nick=self.nick, modes=modes, arg=arg,
                                                     ts=self.hub.now()))

        return self.hub.store.save_room(record).addCallback(saved)

    def delete(self, name: Optional[str], id: int) -> Deferred:
        """Delete message C{id} of the room: its author may, and operators."""
        room = self._joined(name)
        store = self.hub.store

        def found(message):
            if message is None:
                raise NoSuchMessage(f"{room.name} keeps no message {id}.")
            key = fold(message.nick)
            # The author is whoever has its nick now, unless that nick is an
            # account's: then only that account (not someone holding the
            # nick in its grace period).
            d = store.find_account(key, key) if key == self.user.key else succeed(None)
            return d.addCallback(author_or_operator, key)

        def author_or_operator(account, key):
            is_author = key == self.user.key and (account is None or account.key == self.user.account)
            if not is_author:
                self.need_level(room, "operator", "delete other people's messages")
            return store.delete_message(room.name, id)

        def deleted(_):
            return self._publish(room, ev.Deleted(room=room.name, message=id, by=self.nick, ts=self.hub.now()))

        return store.message(room.name, id).addCallback(found).addCallback(deleted)
