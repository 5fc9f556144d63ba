"""
End to end, as users see it: accounts on every front end (docs/accounts.md).

A registered nick cannot be used from telnet, WebSocket or long-poll
without its password; accounts, tokens, registered rooms, roles, bans and
stored private messages survive a restart and a kill -9; connections
logged in to one account are one user; a password never travels in clear
from another machine.
"""

import re
import time
from typing import Optional

import pytest

from chatclients import LineClient, PollClient, WSUser, bare, first, need_outside_address, of

PASSWORD = "correct-horse"
#: The nick grace, in seconds: short, so that tests wait little.
GRACE = 1
SETTINGS = {("accounts", "nick_grace"): str(GRACE)}


def register(client, password: str = PASSWORD) -> dict:
    """Register a JSON client's nick as an account; the ok, with its token."""
    answer = client.command(type="register", password=password)
    assert answer["type"] == "ok", answer
    return answer


# -- nick protection ------------------------------------------------------------------------


def alice_registered(d) -> LineClient:
    """alice registers over WebSocket and leaves; the telnet watcher in #lobby that saw her go."""
    watcher = LineClient(d.lines_port).login("watcher", "#lobby")
    alice = WSUser(d.ws_url, "alice")
    answer = register(alice)
    assert (answer["account"], answer["nick"]) == ("alice", "alice") and len(answer["token"]) >= 43, answer
    assert alice.command(type="join", room="#lobby")["type"] == "ok"
    alice.close()
    watcher.shows("[#lobby] -!- alice has quit (Connection closed)")
    return watcher


class Telnet:
    """A telnet user seen through the actions of the tests below."""

    kind = "telnet"

    def __init__(self, d) -> None:
        self.client = LineClient(d.lines_port)
        self.client.expect("Choose a nick")
        self.notices = 0

    def take(self, nick: str) -> Optional[str]:
        """Take a first nick: None, or the refusal's code and message."""
        self.client.send(nick)
        got = self.client.expect(f"^-!- You are now {re.escape(nick)}\\.|^! ")
        return None if got.startswith("-!-") else got

    def join(self, room: str) -> None:
        self.client.send(f"/join {room}")
        self.client.expect(f"Your current room is {re.escape(room)}")

    def notice(self) -> str:
        """The next notice from the server (perhaps shown already, before the answer that was awaited)."""
        prefix = "-!- Notice from chatd: "
        shown = [row for row in self.client.seen if row.startswith(prefix)]
        got = shown[self.notices] if len(shown) > self.notices else self.client.expect("^" + re.escape(prefix))
        self.notices += 1
        return got[len(prefix):]

    def renamed(self) -> str:
        """The nick change a user sees of itself: the new nick."""
        return re.fullmatch(r"-!- alice is now known as (\S+)", self.client.expect("is now known as")).group(1)

    def login(self, account: str, password: str) -> Optional[str]:
        got = self.client.identify(account, password)
        return None if got.startswith("-!-") else got


class JSONUser:
    """A WebSocket or long-poll user seen through the same actions."""

    def __init__(self, client, kind: str) -> None:
        self.client = client
        self.kind = kind
        self.notices = 0

    def take(self, nick: str) -> Optional[str]:
        answer = self.client.command(type="nick", nick=nick)
        return None if answer["type"] == "ok" else f"! {answer['code']}: {answer['message']}"

    def join(self, room: str) -> None:
        assert self.client.command(type="join", room=room)["type"] == "ok"

    def notice(self) -> str:
        """The next notice from the server (perhaps read already, before the answer that was awaited)."""
        shown = [e for e in self.client.seen if e["type"] == "notice"]
        notice = shown[self.notices] if len(shown) > self.notices else self.client.wait(of("notice"))
        self.notices += 1
        assert notice["from"] == "chatd", notice
        return notice["text"]

    def renamed(self) -> str:
        change = self.client.wait(of("nick", old="alice"))
        return change["new"]

    def login(self, account: str, password: str) -> Optional[str]:
        answer = self.client.login(account, password)
        return None if answer["type"] == "ok" else f"! {answer['code']}: {answer['message']}"


def user(d, kind: str):
    if kind == "telnet":
        return Telnet(d)
    if kind == "websocket":
        return JSONUser(WSUser(d.ws_url), kind)
    return JSONUser(PollClient(d.web_url), kind)


FRONT_ENDS = ("telnet", "websocket", "longpoll")


@pytest.mark.parametrize("kind", FRONT_ENDS)
def test_a_registered_nick_taken_without_its_password_becomes_a_guest(make_daemon, kind):
    """Taking alice: told whose it is, renamed Guest-NNNN after the grace; the room sees the nick change."""
    d = make_daemon(SETTINGS)
    watcher = alice_registered(d)
    squatter = user(d, kind)
    took = time.monotonic()
    assert squatter.take("alice") is None
    assert squatter.notice() == (f"The nick alice belongs to the account alice. Log in within {GRACE} second{'s' if GRACE != 1 else ''} "
                                 "(/identify PASSWORD; from an IRC client, SASL or PASS alice:PASSWORD) or you will be renamed.")
    squatter.join("#lobby")
    watcher.shows("[#lobby] -!- alice has joined")
    guest = squatter.renamed()
    assert time.monotonic() - took >= GRACE - 0.1, "renamed before the grace was over"
    assert re.fullmatch(r"Guest-\d{4,5}", guest), guest
    assert squatter.notice() == f"You are now {guest}: you did not log in to the account alice in time."
    watcher.shows(f"-!- alice is now known as {guest}")
    # The nick is free for its owner again.
    owner = WSUser(d.ws_url)
    assert owner.login("alice", PASSWORD)["nick"] == "alice"


@pytest.mark.parametrize("kind", FRONT_ENDS)
def test_logging_in_within_the_grace_keeps_the_nick(make_daemon, kind):
    """alice takes her nick, then logs in: nobody renames her."""
    d = make_daemon(SETTINGS)
    watcher = alice_registered(d)
    alice = user(d, kind)
    took = time.monotonic()
    assert alice.take("alice") is None
    assert alice.notice().startswith("The nick alice belongs to the account alice.")
    alice.join("#lobby")
    assert alice.login("alice", PASSWORD) is None
    time.sleep(max(0.0, took + GRACE - time.monotonic()) + 0.1)  # past the grace: a rename would have come
    watcher.send("/who")
    watcher.shows("[#lobby] -!- 2 members: alice, watcher")


@pytest.mark.parametrize("kind", FRONT_ENDS)
def test_a_look_alike_of_a_registered_nick_is_refused(make_daemon, kind):
    """аlice (Cyrillic а) and A1ice look like alice: refused with nick-registered, as a first nick or a rename."""
    d = make_daemon(SETTINGS)
    alice_registered(d)
    someone = user(d, kind)
    refusal = "! nick-registered: The nick {} looks like the account alice; choose another."
    for nick in ("\u0430lice", "A1ice"):
        assert someone.take(nick) == refusal.format(nick)
    assert someone.take("carol") is None
    if kind == "telnet":
        someone.client.send("/nick A1ice")
        assert "! nick-registered: " + someone.client.refused("nick-registered") == refusal.format("A1ice")
    else:
        assert someone.take("A1ice") == refusal.format("A1ice")


def test_wrong_passwords_are_refused_then_throttled_on_every_front_end(make_daemon):
    """/login alice WRONG: bad-password on each front end; after three, too-many-attempts even with the right one."""
    d = make_daemon(SETTINGS)
    alice_registered(d)
    telnet = LineClient(d.lines_port).login("tel")
    web, poll = WSUser(d.ws_url), PollClient(d.web_url)
    assert telnet.identify("alice", "WRONG") == "! bad-password: That is not the password of alice."
    for client in (web, poll):
        answer = client.login("alice", "WRONG")
        assert bare(answer) == {"type": "error", "code": "bad-password",
                                "message": "That is not the password of alice."}
    throttled = re.compile(r"Too many failed logins for this account; try again in \d+ seconds\.")
    assert throttled.fullmatch(telnet.identify("alice", PASSWORD)[len("! too-many-attempts: "):])
    for client in (web, poll):
        answer = client.login("alice", PASSWORD)
        assert answer["code"] == "too-many-attempts" and throttled.fullmatch(answer["message"]), answer
    telnet.send("/whois tel")
    telnet.shows("-!- tel is not logged in")


def test_a_squatter_in_the_grace_cannot_delete_the_accounts_messages(make_daemon):
    """Holding alice's nick for the grace does not make one alice: her messages are not the squatter's to delete."""
    d = make_daemon(SETTINGS)
    alice = WSUser(d.ws_url, "alice")
    register(alice)
    assert alice.command(type="join", room="#den")["type"] == "ok"
    assert alice.command(type="room", room="#den", action="register")["type"] == "ok"
    said = alice.command(type="say", room="#den", text="my words")
    watcher = LineClient(d.lines_port).login("watcher", "#den")
    alice.close()
    watcher.shows("[#den] -!- alice has quit (Connection closed)")

    squatter = LineClient(d.lines_port).login("alice", "#den")  # within the grace
    squatter.send(f"/delete {said['id']}")
    got = squatter.expect(r"^! |deleted message")
    assert got == "! not-operator: You need to be an operator of #den to delete other people's messages.", (
        f"someone holding alice's nick without her password deleted her message: {got!r}")
    reader = WSUser(d.ws_url, "reader", "#den")
    assert [m["text"] for m in first(reader, of("history", room="#den"))["messages"]] == ["my words"]


def test_logout_ends_the_token_for_every_tab(make_daemon):
    """A second tab logged in with the token logs out: the token stops working; the first tab stays logged in."""
    d = make_daemon(SETTINGS)
    tab1 = WSUser(d.ws_url, "alice")
    token = register(tab1)["token"]
    tab2 = WSUser(d.ws_url)
    assert tab2.login(token=token)["nick"] == "alice"
    assert tab2.command(type="logout")["type"] == "ok"
    tab3 = WSUser(d.ws_url)
    assert bare(tab3.login(token=token)) == {
        "type": "error", "code": "bad-password",
        "message": "That login token is unknown or has expired; log in with your password."}
    whois = tab3.ask(type="whois", nick="alice")
    assert (whois["nick"], whois["account"]) == ("alice", "alice")


# -- persistence ----------------------------------------------------------------------------


class Before:
    """What is set up before the daemon goes down, on every front end."""

    def __init__(self, d) -> None:
        ann = LineClient(d.lines_port).login("ann")
        assert ann.register(PASSWORD).startswith("-!- You registered the account ann")
        ann.send("/join #den")
        ann.expect("Your current room is #den")
        ann.send("/room register")
        ann.shows("[#den] -!- ann registered #den")
        for command, shown in (("/topic Welcome", "ann set the topic to: Welcome"), ("/mode +t", "ann set mode +t"),
                               ("/mode +k sekrit", "ann set mode +k sekrit"), ("/mode +l 20", "ann set mode +l 20")):
            ann.send(command)
            ann.shows(f"[#den] -!- {shown}")
        bob = WSUser(d.ws_url, "bob")
        self.bob_token = register(bob)["token"]
        assert bob.command(type="join", room="#den", key="sekrit")["type"] == "ok"
        ann.send("/op bob")
        ann.shows("[#den] -!- ann gave bob operator")
        carol = PollClient(d.web_url, "carol")
        register(carol)
        assert carol.command(type="join", room="#den", key="sekrit")["type"] == "ok"
        ann.send("/ban ~a:carol spam")
        ann.shows("[#den] -!- carol was kicked by ann (banned (spam))")
        # Private messages: two while carol reads, three while she is away.
        self.seen_by_carol = []
        for text in ("one", "two"):
            assert bob.command(type="msg", to="carol", text=text)["type"] == "ok"
            self.seen_by_carol.append(carol.wait(of("private", text=text))["id"])
        assert carol.delete().status_code in (200, 204)
        for text in ("three", "four"):
            answer = bob.command(type="msg", to="carol", text=text)
            assert answer["type"] == "ok", answer
        ann.send("/msg carol five")
        ann.shows("-> *carol* five")
        bob.close()
        ann.close()


def go_down(d, how: str) -> None:
    if how == "restart":
        d.restart()
    else:
        d.kill()
        d.start()


@pytest.mark.parametrize("how", ["restart", "kill -9"])
def test_accounts_rooms_roles_bans_and_privates_survive(make_daemon, how):
    """After a restart or a kill -9: logins and tokens work; #den keeps topic, modes, roles, bans; privates resume."""
    d = make_daemon(SETTINGS)
    before = Before(d)
    go_down(d, how)

    ann = LineClient(d.lines_port).login("ann")
    assert ann.identify("ann", PASSWORD) == "-!- You are logged in as ann; your nick is ann."
    replayed = ann.seen[ann.seen.index("-!- Stored private messages (1):"):-1]
    assert len(replayed) == 3 and re.fullmatch(r"\d\d:\d\d -> \*carol\* five", replayed[1]), replayed
    assert replayed[2] == "-!- End of private messages"
    ann.send("/join #den")  # the founder needs no key
    ann.shows("[#den] -!- 1 member: ~ann")
    ann.shows("[#den] -!- Topic: Welcome (set by ann)")
    ann.send("/mode")
    ann.shows("[#den] -!- Modes: +tkl (topic-locked, key sekrit, at most 20 members)")
    ann.shows("[#den] -!- Registered; founder: ann")

    bob = WSUser(d.ws_url)
    answer = bob.login(token=before.bob_token)
    assert (answer["type"], answer["account"], answer["nick"]) == ("ok", "bob", "bob")
    assert bob.command(type="join", room="#den")["type"] == "ok"  # an operator needs no key either
    assert first(bob, of("members", room="#den"))["roles"] == {"ann": "founder", "bob": "operator"}
    ann.shows("[#den] -!- bob has joined")
    assert bob.command(type="topic", room="#den", topic="Still ours")["type"] == "ok"  # +t: operators only
    ann.shows("[#den] -!- bob set the topic to: Still ours")

    carol = PollClient(d.web_url)
    answer = carol.login("carol", PASSWORD, since=before.seen_by_carol[-1])
    assert (answer["type"], answer["nick"]) == ("ok", "carol")
    replay = carol.wait(of("privates"))
    assert [(m["from"], m["text"]) for m in replay["messages"]] == [("bob", "three"), ("bob", "four"), ("ann", "five")]
    ids = [m["id"] for m in replay["messages"]]
    assert ids == sorted(set(ids)) and ids[0] > before.seen_by_carol[-1] and not replay["truncated"]
    assert carol.command(type="join", room="#den", key="sekrit")["code"] == "banned"
    ann.send("/bans")
    ann.shows("[#den] -!- 1 ban:")
    assert ann.expect("~a:carol").startswith("[#den] -!-   ~a:carol (spam) by ann on ")
    # And a second resume after the last one replays nothing again.
    again = PollClient(d.web_url)
    again.login("carol", PASSWORD, since=ids[-1])
    assert again.wait(of("privates"))["messages"] == []
    assert "Traceback" not in d.log()


# -- one user, several connections ------------------------------------------------------------


def test_connections_logged_in_to_one_account_are_one_user(make_daemon):
    """Two WebSocket tabs and a terminal as alice: one nick, shared rooms and messages, one join, one quit."""
    d = make_daemon(SETTINGS)
    bob = LineClient(d.lines_port).login("bob", "#den")
    tab1 = WSUser(d.ws_url, "alice")
    token = register(tab1)["token"]
    assert tab1.command(type="join", room="#den")["type"] == "ok"
    bob.shows("[#den] -!- alice has joined")
    tab2 = WSUser(d.ws_url)
    assert tab2.login(token=token)["nick"] == "alice"
    assert bare(first(tab2, of("join", room="#den"))) == {"type": "join", "room": "#den", "nick": "alice",
                                                          "account": "alice"}
    assert first(tab2, of("members"))["nicks"] == ["alice", "bob"]
    term = LineClient(d.lines_port).login("tmp")
    assert term.identify("alice", PASSWORD) == "-!- You are logged in as alice; your nick is alice."
    assert term.seen[-4:-1] == ["[#den] -!- You joined #den", "[#den] -!- 2 members: alice, bob",
                                "[#den] -!- No topic is set"]

    # A room joined on one connection is joined on all.
    assert tab1.command(type="join", room="#side")["type"] == "ok"
    assert bare(tab2.wait(of("join", room="#side"))) == {"type": "join", "room": "#side", "nick": "alice",
                                                         "account": "alice"}
    term.shows("[#side] -!- You joined #side")
    # What one says, the others see (the terminal too), and the room once.
    assert tab1.command(type="say", room="#den", text="from tab one")["type"] == "ok"
    assert tab2.wait(of("message", text="from tab one"))["from"] == "alice"
    term.shows("[#den] <alice> from tab one")
    bob.shows("[#den] <alice> from tab one")
    term.send("/join #den")
    term.expect("Your current room is #den")
    term.send("from the terminal")
    for tab in (tab1, tab2):
        assert tab.wait(of("message", text="from the terminal"))["from"] == "alice"
    bob.shows("[#den] <alice> from the terminal")
    # Private messages reach every connection, both ways.
    bob.send("/msg alice psst")
    for tab in (tab1, tab2):
        assert bare(tab.wait(of("private", text="psst"))) == {"type": "private", "from": "bob", "to": "alice",
                                                             "text": "psst"}
    term.shows("*bob* psst")
    assert tab2.command(type="msg", to="bob", text="got it")["type"] == "ok"
    bob.shows("*alice* got it")
    term.shows("-> *bob* got it")
    assert tab1.wait(of("private", text="got it"))["to"] == "bob"

    # The room saw one join, and sees no quit until the last connection goes.
    tab1.close()
    tab2.close()
    term.send("still here")
    bob.shows("[#den] <alice> still here")
    bob.send("/who")
    bob.shows("[#den] -!- 2 members: alice, bob")
    term.send("/quit")
    bob.shows("[#den] -!- alice has quit (Quit)")
    joins = [row for row in bob.seen if row.startswith("[#den] -!- alice has joined")]
    quits = [row for row in bob.seen if "alice has quit" in row]
    assert (len(joins), len(quits)) == (1, 1), bob.seen


# -- passwords in clear ------------------------------------------------------------------------


#: Listen on every address, so that clients can come from a non-loopback one.
EVERYWHERE = {("lines", "listen"): "tcp:0:interface=0.0.0.0", ("web", "listen"): "tcp:0:interface=0.0.0.0"}


def test_a_password_in_clear_from_another_machine_is_refused(make_daemon):
    """From a non-loopback address without TLS: register, login and token logins are refused with insecure."""
    outside = need_outside_address()
    d = make_daemon({**SETTINGS, **EVERYWHERE})
    local = WSUser(d.ws_url, "alice")
    token = register(local)["token"]  # from this machine: fine

    telnet = LineClient(d.lines_port, host=outside).login("telly")
    web = WSUser(f"ws://{outside}:{d.web_port}/ws", "webby")
    poll = PollClient(f"http://{outside}:{d.web_port}", "polly")
    message = ("Your password would travel in clear text: connect with TLS (or from this machine) to log in. "
               "The server does not accept it otherwise ([accounts] allow_cleartext).")
    assert telnet.register(PASSWORD) == f"! insecure: {message}"
    assert telnet.identify("alice", PASSWORD) == f"! insecure: {message}"
    for client in (web, poll):
        assert bare(client.command(type="register", password=PASSWORD)) == {
            "type": "error", "code": "insecure", "message": message}
        assert client.login("alice", PASSWORD)["message"] == message
        answer = client.login(token=token)
        assert answer["code"] == "insecure" and "login token would travel in clear" in answer["message"], answer
    telnet.send("/whois telly")
    telnet.shows("-!- telly is not logged in")


def test_allow_cleartext_lets_passwords_through(make_daemon):
    """[accounts] allow_cleartext = yes: the same logins from a non-loopback address work."""
    outside = need_outside_address()
    d = make_daemon({**SETTINGS, **EVERYWHERE, ("accounts", "allow_cleartext"): "yes"})
    telnet = LineClient(d.lines_port, host=outside).login("telly")
    assert telnet.register(PASSWORD) == "-!- You registered the account telly and are logged in to it."
    poll = PollClient(f"http://{outside}:{d.web_port}")
    assert poll.login("telly", PASSWORD)["nick"] == "telly"
