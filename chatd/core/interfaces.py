# -*- test-case-name: tests.core.test_hub -*-
"""
The two seams of the core: the sink a front end gives each session, and the
store that numbers and keeps room messages.
"""

from zope.interface import Attribute, Interface


class ISink(Interface):
    """
    Where the core sends one session's events: implemented by each front end
    (a line connection, a WebSocket connection, a long-poll queue).

    The core never calls a transport; it calls these two methods and nothing
    else, so every front end gets the same events in the same order.
    """

    def deliver(event):
        """
        Deliver one L{chatd.core.events.Event} to this session's client.

        Must not block and must not raise: a sink that cannot keep up
        (its outgoing buffer is over its bound) closes its own connection,
        which ends the session through L{chatd.core.session.Session.close}.
        Called for room events, private messages, notices, and the
        C{members} and C{history} events that follow a join.
        """

    def disconnect(reason):
        """
        The server ends this session (shutdown, kick, flood): tell the
        client C{reason} (a short sentence for people) and close.
        """


class IStore(Interface):
    """
    Keeps room messages and room records, and hands out message ids.

    Ids come from the store, not from the core, so that several chatd
    processes behind one shared store (Redis, PostgreSQL) can never hand out
    the same id twice.  For the same reason every read and write returns a
    Deferred, even where one store could answer at once: what the store
    knows may have been written by another process.  Results fire in the
    order the calls were made.

    A room is a L{chatd.store.records.RoomRecord} that exists from the first
    time anything about it is stored (a message, a topic, a record) and
    stays while the room is empty.
    """

    def open():
        """Open the store; Deferred firing when it can be used."""

    def close():
        """Flush pending writes and close; Deferred firing when done."""

    def append(room, type, nick, text, ts, identity, cid, via=None, account=None, extra=None):
        """
        Store a message, an action, or a reaction (C{type} C{react} or
        C{unreact}, C{text} the reaction), and give it the room's next id.

        @param room: the room's display name (the name of its record, if
            this is the first thing stored about the room).
        @param identity: who sent it, stable for the idempotency window
            (the sender's folded nick).
        @param cid: client message id, or C{None}.
        @param via: the serial of the sending connection; a store that
            publishes the message itself (Redis) carries it on the bus in
            the event; others ignore it.
        @param account: the sender's account (as registered), or C{None};
            like C{via}, only carried on the bus, never kept in history.
        @param extra: None, or a small dict of plain values kept with the
            row and given back through L{chatd.core.events.stored}: a
            reply's C{reply_to}, C{reply_nick} and C{reply_text}, a
            reaction's C{message}.
        @return: Deferred firing with C{(id, ts, new)}: C{new} is false
            when C{(identity, cid)} was already stored, in which case C{id}
            and C{ts} are those of the earlier copy.  The Deferred fires
            only once the message is committed.
        """

    def recent(room, limit, before=None, after=None, oldest=False):
        """
        Read messages of C{room}, oldest first.

        @param before: only ids below this.
        @param after: only ids above this.
        @param oldest: the oldest C{limit} of the range instead of the
            newest (paging forward); ids may have holes (deleted messages).
        @return: Deferred firing with C{(rows, more)}: C{rows} a list of at
            most C{limit} L{chatd.core.events.Event}s (the newest C{limit},
            or with C{oldest} the oldest C{limit}, of those with
            C{after < id < before}); C{more}
            is true when matching messages were left out, or (for
            C{after}) when some that matched were already pruned.
        """

    def room(room):
        """
        Read a room's record.

        @param room: any spelling of the room's name (they fold alike).
        @return: Deferred firing with a L{chatd.store.records.RoomRecord},
            or C{None} if nothing about the room was ever stored.
        """

    def save_room(record):
        """
        Create or update a room's record: its C{name}, C{topic},
        C{topic_by} and C{settings}.  Its C{last_id} and C{pruned_below}
        are the store's own (only L{append} and L{prune} change them), so
        theirs in C{record} are ignored.

        @param record: a L{chatd.store.records.RoomRecord}; the room is the
            one C{record.name} folds to.
        @return: Deferred firing with C{None} once committed.
        """

    def set_topic(room, topic, nick):
        """
        Store a room's topic (C{topic_by} is C{nick}), creating its record
        if needed; Deferred firing when committed.
        """

    def prune(max_messages_per_room, max_age_seconds, now):
        """
        Retention: delete each room's oldest messages beyond the count and
        those older than the age (either may be C{None}); forget expired
        client message ids.  A store that is also an L{IAccountStore} and
        L{IModerationStore} applies the same limits to each account's
        private messages, and deletes tokens, bans and marks expired at C{now}.
        Deferred firing with the number of messages (room and private)
        deleted.
        """

    def last_id(room):
        """
        Deferred firing with the id of the newest message ever given out in
        C{room} (still counted once pruned), or 0 for a room with none.
        """

    def message(room, id):
        """
        Deferred firing with the stored message C{id} of C{room} (any
        spelling) as L{IStore.recent} gives it (a message or action event,
        with its C{cid}), or None if there is none: never stored, deleted,
        pruned, or a reaction's id (a reaction is no message to answer or
        react to).
        """

    def reactions(room, ids):
        """
        Deferred firing with the list of the C{React} and C{Unreact} rows
        of C{room} aimed at a message whose id is in C{ids} (a collection
        of ints), oldest first, for a history page to fold.  Rows aimed at
        a message that retention pruned are left out; deleted rows too.
        """

    def delete_message(room, id):
        """
        Remove message C{id} from C{room}'s history (its id is never given
        out again); Deferred firing with whether it was there (C{False} for
        an unknown, already deleted or pruned id).

        A deletion is not a gap: L{IStore.recent} simply leaves the message
        out, and C{more} is unchanged.  Its client message id is still
        remembered, so a client sending it again gets the deleted id back
        with C{new} false, and the message is not stored again.  Retention
        by count counts messages, so deleted ones do not count.
        """

    name = Attribute("A short name for logs: 'memory', 'sqlite:/path'.")


class IAccountStore(Interface):
    """
    Keeps accounts, their login tokens and their private messages.  Every
    method returns a Deferred; accounts are found by their folded name
    (C{key}, L{chatd.core.text.fold}), exactly as given: the store never
    folds an account key again.

    What names an account (a token, a role, a private message) is refused
    with L{chatd.core.errors.NoSuchAccount} when the account is not there,
    so that a name dropped and registered again by someone else inherits
    nothing of the old account.
    """

    def create_account(record):
        """
        Store a new L{chatd.store.records.AccountRecord}.

        @return: Deferred firing with C{None} once committed, or failing
            with L{chatd.core.errors.AccountExists} when an account has the
            same C{key} or the same look-alike C{look}.
        """

    def account(key):
        """Deferred firing with the L{chatd.store.records.AccountRecord} called C{key}, or None."""

    def find_account(key, look):
        """
        Deferred firing with the account whose name folds to C{key} or looks
        like C{look} (L{chatd.core.text.skeleton}), or None: the account a
        nick would impersonate.
        """

    def set_password(key, password_hash):
        """
        Replace the account's password hash; Deferred firing when
        committed, or failing with L{chatd.core.errors.NoSuchAccount}.
        """

    def drop_account(key):
        """
        Delete the account with its tokens, its roles in rooms and its
        private messages; rooms it founded stay registered to no one until
        a server operator drops or transfers them (their settings still
        name it: the core decides), and bans on it (C{~a:NAME}) stay.
        Dropping an unknown account does nothing.  Deferred firing with
        C{None} when done.
        """

    def add_token(digest, key, expires):
        """
        Keep a login token for account C{key}: only C{digest} (the SHA-256
        of the token, hex), never the token.  C{expires}: POSIX seconds.
        Deferred firing when committed, or failing with
        L{chatd.core.errors.NoSuchAccount}.
        """

    def token_account(digest, now):
        """
        Deferred firing with the account key of the token, or None if
        unknown or expired (C{expires <= now}); an expired token is deleted
        as it is found, or by L{IStore.prune}.
        """

    def remove_token(digest):
        """Forget a token (logout); Deferred firing when committed."""

    def append_private(key, nick, to, text, ts):
        """
        Keep a private message in account C{key}'s stream (both ends of a
        message between accounts keep their own copy).

        @return: Deferred firing with its id in that stream, one more than
            the last (ids are never given out again, even once pruned; an
            account registered again starts a new stream at 1), once
            committed; or failing with L{chatd.core.errors.NoSuchAccount}.
        """

    def privates(key, limit, before=None, after=None):
        """
        Read account C{key}'s private messages, oldest first, exactly like
        L{IStore.recent} (the newest C{limit} with C{after < id < before};
        C{more} when some were left out or, for C{after}, pruned):
        Deferred firing with C{(rows, more)}, rows being
        L{chatd.core.events.Private} events with C{id}, C{nick}, C{to},
        C{text} and C{ts}.  An unknown account has C{([], False)}.
        """

    def reads(key):
        """
        Deferred firing with account C{key}'s read markers, a dict
        C{{target: id}}: a target is a folded room name, or C{"@"} and a
        folded nick for a private conversation.  An unknown account has C{{}}.
        """

    def set_read(key, target, id):
        """
        Move account C{key}'s marker of C{target} to C{id} if that is
        further (never back: a device that read less changes nothing).
        Deferred firing with the marker kept, or failing with
        L{chatd.core.errors.NoSuchAccount}.
        """

    def preferences(key):
        """Deferred firing with account C{key}'s preferences, a dict of name -> text (C{{}} if none)."""

    def set_preference(key, name, value):
        """
        Keep preference C{name} (text) of account C{key}; Deferred firing
        with None, or failing with L{chatd.core.errors.NoSuchAccount}.
        Dropping the account drops its markers and preferences.
        """


class IModerationStore(Interface):
    """
    Keeps roles, bans and marks (mutes and invitations).  A ban's C{scope} is a room's name (any spelling),
    or None for the whole server.  Neither makes a room record: registered
    rooms have one already (L{IStore.save_room}).
    """

    def roles(room):
        """Deferred firing with C{{account key: role}} of a room (C{founder}, C{operator}, C{voice})."""

    def set_role(room, key, role):
        """
        Give account C{key} C{role} in the room, replacing its role there
        (None: no role; taking away a role nobody has does nothing).
        Deferred firing when committed; failing with
        L{chatd.core.errors.NoSuchAccount} for an account that is not
        there, or C{ValueError} for a role not in
        L{chatd.store.records.ROLES}.
        """

    def bans(scope):
        """
        Deferred firing with the L{chatd.store.records.BanRecord}s of
        C{scope}, in setting order: expired ones too, until
        L{IStore.prune} deletes them (C{until <= now}), so the core judges
        the time.
        """

    def add_ban(scope, record):
        """
        Keep a ban, replacing one with the same mask (masks compare by
        L{chatd.core.text.fold}: C{~a:Alice} is C{~a:alice}); a ban set
        again is set now, so it moves last in the setting order.
        Deferred firing when committed.
        """

    def remove_ban(scope, mask):
        """Lift the ban on C{mask} (compared as in L{add_ban}); Deferred firing with whether there was one."""

    def marks(room):
        """
        Deferred firing with the L{chatd.store.records.MarkRecord}s of a
        room (any spelling): who is muted in it and who is invited to it,
        in setting order; expired ones too, until L{IStore.prune} deletes
        them (C{until <= now}), so the core judges the time.  They live in
        the store, not in a node's memory, so that every node of a cluster
        (and a restarted one) knows them.
        """

    def set_mark(room, record):
        """
        Keep a mark, replacing the room's mark of the same C{kind} and
        C{who} (compared exactly: the core gives C{who} already folded).
        Deferred firing when committed.
        """

    def remove_mark(room, kind, who):
        """Forget the room's mark of C{kind} on C{who}; Deferred firing with whether there was one."""


class IPasswordHasher(Interface):
    """
    Hashes and checks account passwords (argon2id) for the core, which never
    hashes itself: a hash takes tens of MiB and a good fraction of a second,
    so implementations run it away from the reactor thread, a bounded number
    at a time (L{chatd.passwords.ThreadedHasher}).
    """

    def hash(password):
        """
        Hash a password for storing.

        @param password: the password, a C{str}.
        @return: Deferred firing with argon2's encoded hash, a C{str}
            (C{$argon2id$v=19$m=...}) that holds its own salt and costs.
        """

    def verify(password_hash, password):
        """
        Check a password against a stored hash.

        @return: Deferred firing with C{True} if it matches, C{False} if it
            does not.  A wrong password is not an error; a corrupt or
            unreadable hash is logged for the operator and answers C{False}.
        """

    def needs_rehash(password_hash):
        """
        Whether C{password_hash} was made with other costs than this
        hasher's: after a successful login the core stores a new hash, so
        raising the costs in a release upgrades accounts as they log in.
        Synchronous and cheap (it only reads the hash's header).
        """
