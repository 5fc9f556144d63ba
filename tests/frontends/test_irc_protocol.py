"""
The IRC front end driven in memory: registration, capabilities, SASL,
keep-alive, leaving, flood control and bad input (ircworld.py has the
clients and the hub).
"""

import base64

import irctokens

from ircworld import ALL_TAGS, PASSWORD, SERVER, World, commands, only, plain, texts, world  # noqa: F401


# -- registration -------------------------------------------------------------------------------------


def test_cap_ls_302_req_end_and_welcome(world):
    """CAP LS 302 lists every capability (with values), REQ is all or nothing, END completes registration."""
    c = world.client()
    c.send("CAP LS 302")
    ls = c.read()
    assert all(line.command == "CAP" and line.params[:2] == ["*", "LS"] for line in ls)
    assert all(line.params[2] == "*" for line in ls[:-1]) and len(ls[-1].params) == 3
    offered = " ".join(line.params[-1] for line in ls).split()
    for cap in ("message-tags", "server-time", "batch", "draft/chathistory", "echo-message",
                "labeled-response", "sasl=PLAIN", "multi-prefix", "userhost-in-names"):
        assert cap in offered
    c.send("NICK alice", "USER alice 0 * :Alice")
    assert c.read() == []  # still negotiating: no welcome before CAP END
    c.send("CAP REQ :message-tags server-time")
    ack = c.read()
    assert [(line.command, line.params) for line in ack] == [("CAP", ["*", "ACK", "message-tags server-time"])]
    c.send("CAP REQ :batch no-such-cap")
    assert [line.params for line in c.read()] == [["*", "NAK", "batch no-such-cap"]]
    c.send("CAP LIST")
    assert c.read()[0].params[-1].split() == ["message-tags", "server-time"]
    c.send("CAP END")
    welcome = c.read()
    numerics = commands(welcome)
    assert numerics[:4] == ["001", "002", "003", "004"]
    assert welcome[0].params[0] == "alice" and welcome[0].source == SERVER


def test_cap_ls_continues_over_several_lines_when_long(world, monkeypatch):
    """A capability list longer than one line is sent as CAP * LS * ... lines, each within 512 bytes."""
    from chatd.frontends.irc import caps

    monkeypatch.setattr(caps, "CAPABILITIES", {**caps.CAPABILITIES,
                                                **{f"vendor.example/cap-{n:03d}": "" for n in range(60)}})
    c = world.client()
    c.send("CAP LS 302")
    raw = c.raw()
    ls = [irctokens.tokenise(line.decode()) for line in raw]
    assert len(ls) > 1
    assert all(len(line) + 2 <= 512 for line in raw)
    assert [line.params[2] for line in ls[:-1]] == ["*"] * (len(ls) - 1)
    assert len(ls[-1].params) == 3
    offered = " ".join(line.params[-1] for line in ls).split()
    assert "vendor.example/cap-059" in offered and "sasl=PLAIN" in offered
    assert len(offered) == len(set(offered))


def test_cap_ls_without_302_has_no_values(world):
    c = world.client()
    c.send("CAP LS")
    offered = " ".join(line.params[-1] for line in c.read()).split()
    assert "sasl" in offered and "sasl=PLAIN" not in offered


def test_welcome_isupport_lusers_and_motd(world):
    """001-004, 005 lines of at most 13 tokens with chatd's real limits, LUSERS, then the MOTD."""
    world.terminal("bob", "#lobby")
    c = world.client()
    welcome = c.register("alice")
    numerics = commands(welcome)
    assert numerics[:4] == ["001", "002", "003", "004"]
    isupport = only(welcome, "005")
    assert isupport
    tokens = []
    for line in isupport:
        assert line.params[0] == "alice" and line.params[-1] == "are supported by this server"
        assert len(line.params[1:-1]) <= 13
        tokens += line.params[1:-1]
    for token in ("CASEMAPPING=ascii", "CHANTYPES=#", "NICKLEN=32", "CHANNELLEN=50", "TOPICLEN=390",
                  "PREFIX=(ov)@+", "LINELEN=512", "UTF8ONLY", "WHOX", "CHATHISTORY=200",
                  "MSGREFTYPES=msgid,timestamp", "NETWORK=TestNet"):
        assert token in tokens
    names = {token.partition("=")[0] for token in tokens}
    assert {"CHANMODES", "TARGMAX"} <= names
    chanmodes = dict(t.partition("=")[::2] for t in tokens)["CHANMODES"].split(",")
    assert chanmodes[0] == "b" and set("imnt") <= set(chanmodes[3])
    for number in ("251", "254", "255", "265", "266"):
        assert number in numerics
    assert only(welcome, "251")[0].params[-1].startswith("There are 2 users")
    assert only(welcome, "254")[0].params[1] == "1"
    assert numerics.index("266") < numerics.index("375")
    assert numerics[-3:] == ["375", "372", "376"]
    assert "Be nice." in only(welcome, "372")[0].params[-1]


def test_an_empty_motd_is_422(world):
    world.motd = ""
    welcome = world.client().register("alice")
    assert commands(welcome)[-1] == "422"
    assert "375" not in commands(welcome)


def test_commands_before_registration_get_451(world):
    c = world.client()
    c.send("JOIN #lobby", "PRIVMSG #lobby :hi")
    assert [(line.command, line.params[0]) for line in c.read()] == [("451", "*"), ("451", "*")]
    c.send("PING :still-there")
    assert only(c.read(), "PONG")[0].params[-1] == "still-there"
    c.register("alice")


def test_nick_in_use_is_433_and_a_second_nick_registers(world):
    world.terminal("alice")
    c = world.client()
    c.send("NICK alice", "USER alice 0 * :Alice")
    refused = c.read()
    assert [(line.command, line.params[:2]) for line in refused] == [("433", ["*", "alice"])]
    c.send("NICK alice2")
    welcome = c.read()
    assert welcome[0].command == "001" and welcome[0].params[0] == "alice2"


def test_invalid_nick_is_432(world):
    c = world.client()
    c.send("NICK #no", "USER x 0 * :X")
    refused = c.read()
    assert [(line.command, line.params[:2]) for line in refused] == [("432", ["*", "#no"])]
    c.send("NICK fine")
    assert c.read()[0].command == "001"


def test_registration_timeout_closes_with_error(world):
    c = world.client()
    c.send("NICK alice")
    world.clock.advance(59)
    assert c.connected
    world.clock.advance(1)
    last = c.read()[-1]
    assert last.command == "ERROR" and "60 seconds" in last.params[0]
    assert not c.connected


def test_ping_pong_both_ways(world):
    """The client's PING is answered; a silent client is PINGed, then closed without an answer."""
    c = world.irc_user("alice")
    c.send("PING :token-1")
    pong = c.read()
    assert [(line.source, line.command, line.params) for line in pong] == [(SERVER, "PONG", [SERVER, "token-1"])]
    world.clock.advance(89)
    c.send("NAMES")  # any input is a sign of life
    c.read()
    world.clock.advance(89)
    assert c.read() == []
    world.clock.advance(1)
    ping = c.read()
    assert commands(ping) == ["PING"]
    c.send(f"PONG :{ping[0].params[0]}")
    world.clock.advance(89)
    assert c.read() == [] and c.connected
    world.clock.advance(1)
    assert commands(c.read()) == ["PING"]
    world.clock.advance(59)
    assert c.connected
    world.clock.advance(1)
    error = c.read()
    assert commands(error) == ["ERROR"] and "Ping timeout" in error[0].params[0]
    assert not c.connected


# -- accounts, leaving, bad input ------------------------------------------------------------------------


def test_sasl_plain_success(world):
    world.account("alice")
    c = world.client()
    c.send("CAP LS 302", "CAP REQ :sasl", "NICK alice", "USER alice 0 * :Alice")
    c.read()
    c.send("AUTHENTICATE PLAIN")
    assert [(line.command, line.params) for line in c.read()] == [("AUTHENTICATE", ["+"])]
    c.send("AUTHENTICATE " + plain("alice", PASSWORD))
    seen = c.read()
    assert commands(seen) == ["900", "903"]
    assert seen[0].params[1:3] == [f"alice!~alice@user/alice", "alice"]
    c.send("CAP END")
    assert c.read()[0].params[0] == "alice"


def test_sasl_plain_failure(world):
    world.account("alice")
    c = world.client()
    c.send("CAP LS 302", "CAP REQ :sasl", "NICK someone", "USER s 0 * :S", "AUTHENTICATE PLAIN")
    c.read()
    c.send("AUTHENTICATE " + plain("alice", "wrong password"))
    refused = c.read()
    assert commands(refused)[-1] == "904"
    assert not {"900", "903"} & set(commands(refused))
    c.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + base64.b64encode(b"no nul bytes").decode())
    assert commands(c.read()) == ["AUTHENTICATE", "904"]
    c.send("CAP END")
    welcome = c.read()
    assert welcome[0].command == "001" and welcome[0].params[0] == "someone"
    assert "900" not in commands(welcome)


def test_sasl_into_an_account_online_on_a_terminal_is_the_same_user(world):
    """An IRC client logging in to an account used on a terminal takes its nick and rooms, and both see each other's messages."""
    world.account("carol")
    t = world.terminal("carol")
    t.type(f"/identify {PASSWORD}", "/join #den", "hello from the terminal")
    t.output()
    c = world.client()
    seen = c.register("elsewhere", caps=ALL_TAGS, sasl=("carol", PASSWORD))
    assert seen[0].params[0] == "carol"
    assert [line.params[0] for line in only(seen, "JOIN")] == ["#den"]
    assert texts(seen) == ["hello from the terminal"]
    c.send("PRIVMSG #den :hello from irc")
    assert t.output() == ["[#den] <carol> hello from irc"]


def test_a_registered_nick_without_login_becomes_a_guest(world):
    world.account("alice")
    c = world.irc_user("alice")
    world.clock.advance(31)
    renamed = only(c.read(), "NICK")
    assert [(line.source, line.params[0][:6]) for line in renamed] == [(f"alice!~alice@user/alice", "Guest-")]


def test_pass_account_password_logs_in(world):
    world.account("alice")
    c = world.client()
    c.send(f"PASS alice:{PASSWORD}", "NICK alice", "USER alice 0 * :Alice")
    seen = c.read()
    assert "900" in commands(seen) and "001" in commands(seen)
    assert commands(seen).index("900") < commands(seen).index("001")
    assert only(seen, "001")[0].params[0] == "alice"


def test_quit_is_told_once_and_closes_with_error(world):
    alice = world.irc_user("alice", "#one", "#two")
    bob = world.irc_user("bob", "#one", "#two")
    carol = world.terminal("carol", "#one")
    alice.read()
    bob.send("QUIT :see you")
    last = bob.read()[-1]
    assert last.command == "ERROR" and "see you" in last.params[0]
    assert not bob.connected
    quits = alice.read()
    assert [(line.source, line.command, line.params) for line in quits] == [
        (f"bob!~bob@user/bob", "QUIT", ["Quit: see you"])]
    assert carol.output() == ["[#one] -!- bob has quit (see you)"]


def test_a_dropped_connection_is_a_quit_and_shutdown_is_an_error(world):
    alice = world.irc_user("alice", "#lobby")
    bob = world.irc_user("bob", "#lobby")
    alice.read()
    bob.transport.loseConnection()
    assert [(line.source, line.command, line.params) for line in alice.read()] == [
        (f"bob!~bob@user/bob", "QUIT", ["Quit: Connection closed"])]
    world.hub.shutdown("Going down for maintenance")
    assert [(line.command, line.params) for line in alice.read()] == [
        ("ERROR", ["Closing link: Going down for maintenance"])]
    assert not alice.connected


def test_nick_change_and_part_are_seen_by_others(world):
    alice = world.irc_user("alice", "#lobby")
    bob = world.irc_user("bob", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    bob.read()
    bob.send("NICK bob")
    assert bob.read() == []
    bob.send("NICK alice")
    assert [(line.command, line.params[:2]) for line in bob.read()] == [("433", ["bob", "alice"])]
    bob.send("NICK robert")
    assert [(line.source, line.command, line.params) for line in alice.read()] == [
        (f"bob!~bob@user/bob", "NICK", ["robert"])]
    assert only(bob.read(), "NICK")[0].params == ["robert"]
    assert carol.output() == ["-!- bob is now known as robert"]
    bob.send("PART #lobby :lunch")
    assert [(line.source, line.command, line.params) for line in alice.read()] == [
        (f"robert!~robert@user/robert", "PART", ["#lobby", "lunch"])]
    assert carol.output() == ["[#lobby] -!- robert has left (lunch)"]


def test_labeled_replies_come_in_a_batch(world):
    alice = world.irc_user("alice", "#lobby", caps=("labeled-response", "batch", "message-tags"))
    alice.send("@label=n1 NAMES #lobby")
    seen = alice.read()
    assert commands(seen) == ["BATCH", "353", "366", "BATCH"]
    assert seen[0].tags == {"label": "n1"} and seen[0].params[1] == "labeled-response"
    ref = seen[0].params[0][1:]
    assert all(line.tags == {"batch": ref} for line in seen[1:3]) and seen[3].params == ["-" + ref]
    alice.send("@label=n2 MOTD")
    assert only(alice.read(), "BATCH")[0].tags == {"label": "n2"}
    alice.send("@label=n3 TOPIC #lobby")
    single = alice.read()
    assert [(line.command, line.tags) for line in single] == [("331", {"label": "n3"})]


def test_flood_is_held_and_run_late_in_order():
    """Past the flood rate, input waits (fakelag): nothing is refused, and order is kept."""
    world = World(flood_rate=3, flood_burst=12)
    alice = world.client()
    alice.send("NICK alice", "USER alice 0 * :Alice", "JOIN #lobby")
    world.clock.advance(10)
    carol = world.terminal("carol", "#lobby")
    world.clock.advance(10)  # the burst refills
    alice.read()
    alice.send(*[f"PRIVMSG #lobby :line {n}" for n in range(20)])
    first = carol.output()
    assert 0 < len(first) < 20
    seen = list(first)
    for _ in range(30):
        world.clock.advance(1)
        seen += carol.output()
    assert seen == [f"[#lobby] <alice> line {n}" for n in range(20)]
    assert alice.read() == []  # no error, no notice
    assert alice.connected


def test_invalid_utf8_is_fail_and_not_relayed(world):
    alice = world.irc_user("alice", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    alice.proto.dataReceived(b"PRIVMSG #lobby :caf\xe9\r\n")
    seen = alice.read()
    assert [(line.command, line.params[:2]) for line in seen] == [("FAIL", ["*", "INVALID_UTF8"])]
    assert carol.output() == []
    alice.send("PRIVMSG #lobby :café")
    assert carol.output() == ["[#lobby] <alice> café"]


def test_an_over_long_line_is_417(world):
    alice = world.irc_user("alice", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    alice.send("PRIVMSG #lobby :" + "x" * 600)
    assert [(line.command, line.params[0]) for line in alice.read()] == [("417", "alice")]
    assert carol.output() == []
    alice.send("PRIVMSG #lobby :short")
    assert carol.output() == ["[#lobby] <alice> short"]


def test_unknown_command_is_421(world):
    alice = world.irc_user("alice")
    alice.send("FROBNICATE now")
    assert [(line.command, line.params) for line in alice.read()] == [
        ("421", ["alice", "FROBNICATE", "Unknown command"])]


def test_commands_sent_with_nick_and_user_run_once_registered():
    """
    A script writes NICK, USER and JOIN at once; the nick is checked against
    the store, which answers later: the JOIN runs after 001, not refused 451.
    """
    from twisted.internet.defer import Deferred

    from chatd.store.memory import MemoryStore

    class SlowAccounts(MemoryStore):
        """A store whose account lookups (is this nick an account's?) wait until the test releases them."""

        def __init__(self):
            super().__init__()
            self.waiting = []
            self.holding = True

        def find_account(self, *args):
            if not self.holding:
                return MemoryStore.find_account(self, *args)
            d = Deferred()
            self.waiting.append((d, args))
            return d

        def release(self):
            self.holding = False
            while self.waiting:
                d, args = self.waiting.pop(0)
                MemoryStore.find_account(self, *args).chainDeferred(d)

    store = SlowAccounts()
    world = World(store=store)
    c = world.client()
    c.send("NICK scripted", "USER s 0 * :s", "JOIN #lobby", "PRIVMSG #lobby :hello")
    assert "451" not in commands(c.read())
    store.release()
    seen = commands(c.read())
    assert "451" not in seen and "001" in seen
    assert seen.index("001") < seen.index("JOIN") < seen.index("366")
    assert texts(c.read()) == []
    bob = world.terminal("bob", "#lobby")
    c.send("PRIVMSG #lobby :after")
    assert "[#lobby] <scripted> after" in bob.output()


def test_a_reload_changes_the_motd_and_network_irc_clients_are_told():
    """build()'s reload applies [server] motd and [irc] network to the next registration."""
    from dataclasses import replace

    from chatd.config import Config, IrcConfig
    from chatd.frontends.irc import build
    from chatd.frontends.registry import Shared

    world = World()
    old = Config(motd="Old news.")
    built = build(old, Shared(hub=world.hub, reactor=world.clock, gate=None, turn=None, bans=None,
                              reload=lambda: []))
    new = replace(old, motd="Fresh news.", irc=IrcConfig(network="NewNet"))
    assert built.reload(old, new) == ["irc settings updated"]
    world.irc = built.factory
    seen = world.client().register("alice")
    assert [line.params[-1] for line in only(seen, "372")] == ["- Fresh news."]
    assert any("NETWORK=NewNet" in line.params for line in only(seen, "005"))
