"""
End to end, as users see it: the founder of #den, on telnet, kicks, bans,
mutes, sets modes and deletes messages, and members on WebSocket and
long-poll get the same events and the same refusals as members on telnet
(docs/accounts.md); server operators kill, announce and ban across the
server; chatctl's kick still reaches every front end.

Telnet shows the notice lines of docs/accounts.md, JSON the events; a
refusal is C{! CODE: MESSAGE} on telnet and C{{"type":"error",...}} in
JSON, with the same code and message.
"""

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chatclients import LineClient, PollClient, WSUser, bare, first, need_outside_address, of

#: tap.cfg for these tests: root is a server operator.
OPERATORS = {("server", "operators"): "root"}
PASSWORD = "correct-horse"
CHATCTL = str(Path(sys.executable).with_name("chatctl"))


def registered(client, password: str = PASSWORD):
    """Register a JSON client's nick as an account."""
    answer = client.command(type="register", password=password)
    assert answer["type"] == "ok", answer
    return answer


class Den:
    """
    #den, registered by ann (telnet, so its founder), with two members on
    each front end: tom (telnet), wendy and will (WebSocket), paul and pam
    (long-poll).  wendy and paul are logged in to their own accounts.
    """

    def __init__(self, d) -> None:
        self.d = d
        self.ann = ann = LineClient(d.lines_port).login("ann")
        assert ann.register(PASSWORD) == "-!- You registered the account ann and are logged in to it."
        ann.send("/join #den")
        ann.expect("Your current room is #den")
        ann.send("/room register")
        ann.shows("[#den] -!- ann registered #den")
        self.tom = LineClient(d.lines_port).login("tom", "#den")
        self.wendy = WSUser(d.ws_url, "wendy")
        registered(self.wendy)
        assert self.wendy.command(type="join", room="#den")["type"] == "ok"
        self.will = WSUser(d.ws_url, "will", "#den")
        self.paul = PollClient(d.web_url, "paul")
        registered(self.paul)
        assert self.paul.command(type="join", room="#den")["type"] == "ok"
        self.pam = PollClient(d.web_url, "pam", "#den")
        ann.shows("[#den] -!- pam has joined")
        self.tom.shows("[#den] -!- pam has joined")

    @property
    def telnets(self):
        return (self.ann, self.tom)

    @property
    def jsons(self):
        return (self.wendy, self.will, self.paul, self.pam)

    def everyone_sees(self, text: str, event: dict, telnets=None, jsons=None) -> None:
        """Every telnet member shows C{text}, every JSON member gets C{event} (without ts)."""
        for tel in telnets if telnets is not None else self.telnets:
            tel.shows(text)
        for client in jsons if jsons is not None else self.jsons:
            got = client.wait(of(event["type"], **{k: v for k, v in event.items() if k != "type"}))
            assert bare(got) == event, (client, got)

    def newcomers(self):
        """Three users not in #den yet: nina (telnet), wes (WebSocket), polly (long-poll)."""
        return (LineClient(self.d.lines_port).login("nina"), WSUser(self.d.ws_url, "wes"),
                PollClient(self.d.web_url, "polly"))

    def said_by_ann(self, text: str) -> None:
        """ann says C{text}; every other member gets it (so everything before it has arrived)."""
        self.ann.send(text)
        self.tom.shows(f"[#den] <ann> {text}")
        for client in self.jsons:
            client.wait(of("message", text=text))


@pytest.fixture
def den(make_daemon):
    return Den(make_daemon(OPERATORS))


def same_refusal(code: str, telnet_message: str, *errors: dict) -> None:
    """One refusal, code and words, on every front end: what telnet showed, each JSON C{error} says."""
    for error in errors:
        assert bare(error) == {"type": "error", "code": code, "message": telnet_message}, error


# -- kick, ban, mute ----------------------------------------------------------------------


def test_a_kick_is_the_same_event_on_every_front_end(den):
    """The founder kicks a WebSocket and a long-poll member: all see one kick; the kicked are out, not banned."""
    den.ann.send("/kick wendy spamming")
    den.everyone_sees("[#den] -!- wendy was kicked by ann (spamming)",
                      {"type": "kick", "room": "#den", "nick": "wendy", "by": "ann", "reason": "spamming"})
    den.ann.send("/kick paul")
    den.everyone_sees("[#den] -!- paul was kicked by ann",
                      {"type": "kick", "room": "#den", "nick": "paul", "by": "ann"},
                      jsons=(den.will, den.paul, den.pam))
    for kicked in (den.wendy, den.paul):
        assert kicked.command(type="say", room="#den", text="still here?")["code"] == "not-in-room"
    # A kick is not a ban: both come back, and the room sees them.
    assert den.wendy.command(type="join", room="#den")["type"] == "ok"
    assert den.paul.command(type="join", room="#den")["type"] == "ok"
    den.tom.shows("[#den] -!- paul has joined")


def test_a_plain_member_may_not_kick(den):
    """tom, wendy and paul are no operators: each gets the same not-operator refusal."""
    den.tom.send("/kick ann")
    message = den.tom.refused("not-operator")
    assert message == "You need to be an operator of #den to kick members."
    same_refusal("not-operator", message, den.wendy.command(type="kick", room="#den", nick="ann"),
                 den.paul.command(type="kick", room="#den", nick="ann"))
    den.said_by_ann("nobody was kicked")
    assert not [e for c in den.jsons for e in c.seen if e["type"] == "kick"]


def test_an_account_ban_puts_out_and_keeps_out_whatever_the_nick(den):
    """~a:wendy and ~a:paul: each is put out, everyone sees the ban and the kick, and rejoining is refused."""
    den.ann.send("/ban ~a:wendy spam")
    den.everyone_sees("[#den] -!- ann banned ~a:wendy (spam)",
                      {"type": "ban", "room": "#den", "mask": "~a:wendy", "by": "ann", "reason": "spam",
                       "until": None})
    den.everyone_sees("[#den] -!- wendy was kicked by ann (banned (spam))",
                      {"type": "kick", "room": "#den", "nick": "wendy", "by": "ann", "reason": "banned (spam)"})
    den.ann.send("/ban ~a:paul 10m")
    for tel in den.telnets:
        tel.shows("[#den] -!- ann banned ~a:paul for 10 minutes")
    for client in (den.will, den.paul, den.pam):
        got = client.wait(of("ban", mask="~a:paul"))
        assert got["until"] is not None and got["until"] > got["ts"]
        assert bare(got) == {"type": "ban", "room": "#den", "mask": "~a:paul", "by": "ann",
                             "until": got["until"]}
    den.everyone_sees("[#den] -!- paul was kicked by ann (banned)",
                      {"type": "kick", "room": "#den", "nick": "paul", "by": "ann", "reason": "banned"},
                      jsons=(den.will, den.paul, den.pam))

    wendy = den.wendy.command(type="join", room="#den")
    paul = den.paul.command(type="join", room="#den")
    assert (wendy["code"], paul["code"]) == ("banned", "banned")
    assert wendy["message"] == "You are banned from #den: spam."
    assert paul["message"] == "You are banned from #den."
    # The ban is on the account, not the nick: another nick does not help ...
    assert den.wendy.command(type="nick", nick="wendy2")["type"] == "ok"
    assert den.wendy.command(type="join", room="#den")["code"] == "banned"
    # ... and logging in to the account from telnet does not either.
    telnet = LineClient(den.d.lines_port).login("someone")
    assert telnet.identify("paul", PASSWORD).startswith("-!- You are logged in as paul")
    telnet.send("/join #den")
    assert telnet.refused("banned") == "You are banned from #den."


def test_a_nick_pattern_ban_matches_nicks_on_every_front_end(den):
    """wend* and pa?l put out wendy and paul (and nobody else); a nick that no longer matches gets in."""
    den.ann.send("/ban wend*")
    den.everyone_sees("[#den] -!- ann banned wend*",
                      {"type": "ban", "room": "#den", "mask": "wend*", "by": "ann", "until": None})
    den.everyone_sees("[#den] -!- wendy was kicked by ann (banned)",
                      {"type": "kick", "room": "#den", "nick": "wendy", "by": "ann", "reason": "banned"})
    den.ann.send("/ban #den pa?l spamming")
    den.everyone_sees("[#den] -!- ann banned pa?l (spamming)",
                      {"type": "ban", "room": "#den", "mask": "pa?l", "by": "ann", "reason": "spamming",
                       "until": None}, jsons=(den.will, den.paul, den.pam))
    den.everyone_sees("[#den] -!- paul was kicked by ann (banned (spamming))",
                      {"type": "kick", "room": "#den", "nick": "paul", "by": "ann",
                       "reason": "banned (spamming)"}, jsons=(den.will, den.paul, den.pam))
    assert den.wendy.command(type="join", room="#den")["code"] == "banned"
    assert den.paul.command(type="join", room="#den")["code"] == "banned"
    pawl = LineClient(den.d.lines_port).login("pawl")
    pawl.send("/join #den")
    assert pawl.refused("banned") == "You are banned from #den: spamming."
    # tom, will and pam are still in: the room hears them.
    den.tom.send("still here")
    for client in (den.will, den.pam):
        client.wait(of("message", text="still here", **{"from": "tom"}))
    # The ban is on nicks: under another one, wendy is welcome.
    assert den.wendy.command(type="nick", nick="wanda")["type"] == "ok"
    assert den.wendy.command(type="join", room="#den")["type"] == "ok"
    den.ann.send("/bans")
    den.ann.shows("[#den] -!- 2 bans:")
    assert re.fullmatch(r"\[#den\] -!-   wend\* by ann on \d{4}-\d\d-\d\d \d\d:\d\d UTC", den.ann.expect("wend"))
    assert den.ann.expect("pa\\?l").startswith("[#den] -!-   pa?l (spamming) by ann on ")
    for member in (den.will, den.pam):
        bans = member.ask(type="bans", room="#den")["bans"]
        assert [(b["mask"], b["by"], b["reason"], b["until"]) for b in bans] == [
            ("wend*", "ann", None, None), ("pa?l", "ann", "spamming", None)]


def test_anyone_may_read_the_bans_of_a_room(den):
    """docs/accounts.md: /bans is for anyone; a banned user, outside the room, may read why."""
    den.ann.send("/ban ~a:paul spam")
    den.paul.wait(of("kick", nick="paul"))
    answer = den.paul.command(type="bans", room="#den")
    assert answer["type"] == "ok", f"a user outside #den may not read its bans: {answer}"
    assert [b["mask"] for b in den.paul.wait(of("bans", room="#den"))["bans"]] == ["~a:paul"]


def test_an_address_ban_puts_out_every_front_end_from_it(den):
    """Everyone here connects from 127.0.0.1: banning it puts out all but the founder, alike; unbanning lets them in."""
    den.ann.send("/ban 127.0.0.1 flood")
    den.everyone_sees("[#den] -!- ann banned 127.0.0.1 (flood)",
                      {"type": "ban", "room": "#den", "mask": "127.0.0.1", "by": "ann", "reason": "flood",
                       "until": None})
    kicked = [den.ann.expect(" was kicked by ") for _ in range(5)]
    assert sorted(kicked) == sorted(f"[#den] -!- {nick} was kicked by ann (banned (flood))"
                                    for nick in ("tom", "wendy", "will", "paul", "pam"))
    kick = {"type": "kick", "room": "#den", "by": "ann", "reason": "banned (flood)"}
    for client in den.jsons:  # each sees its own kick, at least
        nick = {den.wendy: "wendy", den.will: "will", den.paul: "paul", den.pam: "pam"}[client]
        assert bare(client.wait(of("kick", nick=nick))) == dict(kick, nick=nick)
    den.tom.shows("[#den] -!- tom was kicked by ann (banned (flood))")

    den.tom.send("/join #den")
    message = den.tom.refused("banned")
    assert message == "You are banned from #den: flood."
    same_refusal("banned", message, den.wendy.command(type="join", room="#den"),
                 den.paul.command(type="join", room="#den"))

    den.ann.send("/unban 127.0.0.1")
    den.ann.shows("[#den] -!- ann lifted the ban on 127.0.0.1")
    den.tom.send("/join #den")
    den.tom.expect("Your current room is #den")
    assert den.wendy.command(type="join", room="#den")["type"] == "ok"
    assert den.paul.command(type="join", room="#den")["type"] == "ok"
    den.ann.shows("[#den] -!- paul has joined")


def test_a_mute_is_the_same_event_and_refusal_on_every_front_end(den):
    """wendy muted for good, paul for 10 minutes: both read on, and speaking is refused alike, telnet too."""
    den.ann.send("/mute wendy")
    den.everyone_sees("[#den] -!- ann muted wendy",
                      {"type": "mute", "room": "#den", "nick": "wendy", "by": "ann", "until": None})
    den.ann.send("/mute paul 10m")
    for tel in den.telnets:
        tel.shows("[#den] -!- ann muted paul for 10 minutes")
    for client in den.jsons:
        got = client.wait(of("mute", nick="paul"))
        assert bare(got) == {"type": "mute", "room": "#den", "nick": "paul", "by": "ann", "until": got["until"]}
        assert got["until"] > got["ts"]
    den.ann.send("/mute tom 30s")
    den.tom.shows("[#den] -!- ann muted tom for 30 seconds")

    wendy = den.wendy.command(type="say", room="#den", text="let me speak")
    paul = den.paul.command(type="say", room="#den", text="let me speak")
    den.tom.send("let me speak")
    message = den.tom.refused("muted")
    assert message == "You are muted in #den: you may read, not speak."
    same_refusal("muted", message, wendy, paul)
    den.said_by_ann("they still read")  # muted members still get the room
    assert not [e for c in den.jsons for e in c.seen if e.get("text") == "let me speak"]

    den.ann.send("/unmute wendy")
    den.everyone_sees("[#den] -!- ann unmuted wendy",
                      {"type": "unmute", "room": "#den", "nick": "wendy", "by": "ann"})
    assert den.wendy.command(type="say", room="#den", text="thank you")["type"] == "ok"
    den.tom.shows("[#den] <wendy> thank you")


def test_a_muted_member_stays_muted_under_another_nick(den):
    """A mute is on the member, not on the nick it had: will renames himself and is still muted."""
    den.ann.send("/mute will")
    den.everyone_sees("[#den] -!- ann muted will",
                      {"type": "mute", "room": "#den", "nick": "will", "by": "ann", "until": None})
    assert den.will.command(type="nick", nick="wilhelm")["type"] == "ok"
    den.ann.shows("-!- will is now known as wilhelm")
    answer = den.will.command(type="say", room="#den", text="free again?")
    assert answer.get("code") == "muted", f"a muted member spoke after a nick change: {answer}"


def test_an_operator_cannot_shut_the_founder_out_of_her_room(den):
    """wendy, made an operator, bans ~a:ann: whatever happens to the ban, the founder can still be in #den."""
    den.ann.send("/op wendy")
    den.ann.shows("[#den] -!- ann gave wendy operator")
    den.wendy.wait(of("role", nick="wendy"))
    den.wendy.command(type="ban", room="#den", mask="~a:ann")
    den.ann.send("/join #den")
    got = den.ann.expect(r"^-!- Your current room is #den|^! ")
    assert got.startswith("-!- Your current room is #den"), (
        f"an operator banned the founder out of her own room, and she cannot come back to lift it: {got!r}")


# -- modes ----------------------------------------------------------------------------------


def test_moderated_lets_only_voice_speak_on_every_front_end(den):
    """+m: tom, wendy and paul are refused alike; /voice wendy lets her speak; the founder always may."""
    den.ann.send("/mode +m")
    den.everyone_sees("[#den] -!- ann set mode +m", {"type": "mode", "room": "#den", "nick": "ann", "modes": "+m"})
    den.tom.send("hello?")
    message = den.tom.refused("muted")
    assert message == "#den is moderated (+m): only members with voice speak."
    same_refusal("muted", message, den.wendy.command(type="say", room="#den", text="hello?"),
                 den.paul.command(type="say", room="#den", text="hello?"))
    den.ann.send("/voice wendy")
    den.everyone_sees("[#den] -!- ann gave wendy voice",
                      {"type": "role", "room": "#den", "nick": "wendy", "role": "voice", "by": "ann"})
    assert den.wendy.command(type="say", room="#den", text="I have a voice")["type"] == "ok"
    den.tom.shows("[#den] <wendy> I have a voice")
    den.pam.wait(of("message", text="I have a voice"))
    den.said_by_ann("and so do I")
    # will has no account, and roles belong to accounts.
    den.ann.send("/voice will")
    assert den.ann.refused("not-logged-in").startswith("will is not logged in")
    den.ann.send("/who")
    den.ann.shows("[#den] -!- 6 members: ~ann, pam, paul, tom, +wendy, will")
    for client in (den.will, den.pam):
        assert client.ask(type="who", room="#den")["roles"] == {"ann": "founder", "wendy": "voice"}


def test_a_locked_topic_is_refused_alike_and_set_by_operators(den):
    """+t: members on every front end get not-operator; the founder sets it and everyone sees it."""
    den.ann.send("/mode +t")
    den.everyone_sees("[#den] -!- ann set mode +t", {"type": "mode", "room": "#den", "nick": "ann", "modes": "+t"})
    den.tom.send("/topic mine now")
    message = den.tom.refused("not-operator")
    assert message == "You need to be an operator of #den to set its topic (it is locked with +t)."
    same_refusal("not-operator", message, den.wendy.command(type="topic", room="#den", topic="mine now"),
                 den.paul.command(type="topic", room="#den", topic="mine now"))
    den.ann.send("/topic Welcome")
    den.everyone_sees("[#den] -!- ann set the topic to: Welcome",
                      {"type": "topic", "room": "#den", "topic": "Welcome", "nick": "ann"})
    den.ann.send("/op wendy")
    den.everyone_sees("[#den] -!- ann gave wendy operator",
                      {"type": "role", "room": "#den", "nick": "wendy", "role": "operator", "by": "ann"})
    assert den.wendy.command(type="topic", room="#den", topic="Operators may")["type"] == "ok"
    den.tom.shows("[#den] -!- wendy set the topic to: Operators may")


def test_invite_only_refuses_alike_until_invited(den):
    """+i: tom, wendy and paul leave and are refused alike; each invitation is shown and lets one in."""
    den.tom.send("/part")
    den.ann.shows("[#den] -!- tom has left")
    for client in (den.wendy, den.paul):
        assert client.command(type="part", room="#den")["type"] == "ok"
    den.ann.send("/mode +i")
    den.everyone_sees("[#den] -!- ann set mode +i", {"type": "mode", "room": "#den", "nick": "ann", "modes": "+i"},
                      telnets=(den.ann,), jsons=(den.will, den.pam))
    den.tom.send("/join #den")
    message = den.tom.refused("invite-only")
    assert message == "#den is invite-only (+i); ask an operator to /invite you."
    same_refusal("invite-only", message, den.wendy.command(type="join", room="#den"),
                 den.paul.command(type="join", room="#den"))

    den.ann.send("/invite tom")
    den.ann.shows("[#den] -!- ann invited tom")
    den.tom.shows("-!- ann invited you to #den (/join #den)")
    den.ann.send("/invite wendy")
    den.ann.shows("[#den] -!- ann invited wendy")
    assert bare(den.wendy.wait(of("invite"))) == {"type": "invite", "room": "#den", "nick": "ann", "to": "wendy"}
    den.ann.send("/invite paul")
    den.ann.shows("[#den] -!- ann invited paul")
    assert bare(den.paul.wait(of("invite"))) == {"type": "invite", "room": "#den", "nick": "ann", "to": "paul"}
    den.tom.send("/join #den")
    den.tom.expect("Your current room is #den")
    assert den.wendy.command(type="join", room="#den")["type"] == "ok"
    assert den.paul.command(type="join", room="#den")["type"] == "ok"
    den.ann.shows("[#den] -!- paul has joined")
    # An invitation is good for one join.
    den.tom.send("/part")
    den.tom.expect("You left #den|Your current room")
    den.tom.send("/join #den")
    assert den.tom.refused("invite-only") == message


def test_a_key_is_asked_for_on_every_front_end(den):
    """+k: joining without the key, or with a wrong one, is refused alike; with it, everyone gets in."""
    den.ann.send("/mode +k sekrit")
    den.everyone_sees("[#den] -!- ann set mode +k sekrit",
                      {"type": "mode", "room": "#den", "nick": "ann", "modes": "+k", "arg": "sekrit"})
    telnet, web, poll = den.newcomers()
    telnet.send("/join #den")
    message = telnet.refused("bad-key")
    assert message == "#den has a key (+k): /join #den KEY."
    same_refusal("bad-key", message, web.command(type="join", room="#den"), poll.command(type="join", room="#den"))
    telnet.send("/join #den guess")
    message = telnet.refused("bad-key")
    assert message == "That is not the key of #den."
    same_refusal("bad-key", message, web.command(type="join", room="#den", key="guess"),
                 poll.command(type="join", room="#den", key="guess"))
    telnet.send("/join #den sekrit")
    telnet.expect("Your current room is #den")
    assert web.command(type="join", room="#den", key="sekrit")["type"] == "ok"
    assert poll.command(type="join", room="#den", key="sekrit")["type"] == "ok"
    den.tom.shows("[#den] -!- polly has joined")
    den.ann.send("/mode")
    den.ann.shows("[#den] -!- Modes: +k (key sekrit)")
    den.ann.shows("[#den] -!- Registered; founder: ann")
    for client in (web, poll):
        assert bare(client.ask(type="mode", room="#den")) == {
            "type": "modes", "room": "#den", "modes": "+k", "key": "sekrit", "limit": None, "founder": "ann"}


def test_a_member_limit_is_refused_alike(den):
    """+l 6 with six members: newcomers on every front end get room-full; when one leaves, one gets in."""
    den.ann.send("/mode +l 6")
    den.everyone_sees("[#den] -!- ann set mode +l 6",
                      {"type": "mode", "room": "#den", "nick": "ann", "modes": "+l", "arg": "6"})
    telnet, web, poll = den.newcomers()
    telnet.send("/join #den")
    message = telnet.refused("room-full")
    assert message == "#den is full: it takes at most 6 members (+l)."
    same_refusal("room-full", message, web.command(type="join", room="#den"), poll.command(type="join", room="#den"))
    assert den.will.command(type="part", room="#den")["type"] == "ok"
    assert web.command(type="join", room="#den")["type"] == "ok"
    assert poll.command(type="join", room="#den")["code"] == "room-full"


def test_modes_need_an_operator_and_a_registered_room(den):
    """A plain member may read the modes, not set them; an unregistered room has none to set."""
    den.tom.send("/mode +i")
    message = den.tom.refused("not-operator")
    assert message == "You need to be an operator of #den to change its modes."
    same_refusal("not-operator", message, den.wendy.command(type="mode", room="#den", modes="+i"),
                 den.paul.command(type="mode", room="#den", modes="+i"))
    den.ann.send("/join #elsewhere")
    den.ann.expect("Your current room is #elsewhere")
    den.ann.send("/mode +t")
    assert den.ann.refused("not-registered-room").startswith("#elsewhere is not registered")


# -- deleting -------------------------------------------------------------------------------


def test_a_deleted_message_is_gone_everywhere(den):
    """The founder deletes wendy's message: a delete event on every front end; a new joiner's history lacks it."""
    said = den.wendy.command(type="say", room="#den", text="regrettable")
    kept = den.paul.command(type="say", room="#den", text="keep me")
    den.tom.shows("[#den] <paul> keep me")
    den.ann.send(f"/delete {said['id']}")
    den.everyone_sees(f"[#den] -!- ann deleted message {said['id']}",
                      {"type": "delete", "room": "#den", "id": said["id"], "by": "ann"})
    for newcomer in (WSUser(den.d.ws_url, "wes", "#den"), PollClient(den.d.web_url, "polly", "#den")):
        history = first(newcomer, of("history", room="#den"))  # the scrollback of the join
        assert [m["text"] for m in history["messages"]] == ["keep me"]
        assert [m["text"] for m in newcomer.ask(type="history", room="#den")["messages"]] == ["keep me"]
    telnet = LineClient(den.d.lines_port).login("nina", "#den")
    telnet.send("/history")
    telnet.expect(r"Scrollback \(1 message\)")
    assert telnet.expect("<paul>|<wendy>").endswith("<paul> keep me")
    # An author may delete their own message; a member may not delete another's.
    den.tom.send(f"/delete {kept['id']}")
    message = den.tom.refused("not-operator")
    assert message == "You need to be an operator of #den to delete other people's messages."
    assert den.paul.command(type="delete", room="#den", id=kept["id"])["type"] == "ok"
    den.everyone_sees(f"[#den] -!- paul deleted message {kept['id']}",
                      {"type": "delete", "room": "#den", "id": kept["id"], "by": "paul"})
    den.ann.send(f"/delete {kept['id']}")
    assert den.ann.refused("no-such-message") == f"#den keeps no message {kept['id']}."


# -- server operators -----------------------------------------------------------------------


class Server:
    """root (telnet), a server operator, and a member on each front end in #lobby."""

    def __init__(self, d) -> None:
        self.d = d
        self.root = LineClient(d.lines_port).login("root")
        assert self.root.register(PASSWORD).startswith("-!- You registered the account root")
        self.root.send("/join #lobby")
        self.root.expect("Your current room is #lobby")
        self.tom = LineClient(d.lines_port).login("tom", "#lobby")
        self.wendy = WSUser(d.ws_url, "wendy", "#lobby")
        self.paul = PollClient(d.web_url, "paul", "#lobby")
        self.root.shows("[#lobby] -!- paul has joined")


@pytest.fixture
def server(make_daemon):
    return Server(make_daemon(OPERATORS))


def test_a_server_operator_kills_and_announces(server):
    """/kill ends a user's connection on any front end (the room sees it quit); /announce reaches everyone."""
    server.root.send("/announce Restarting at 21:00 UTC")
    for tel in (server.root, server.tom):
        tel.shows("-!- Notice from root: Restarting at 21:00 UTC")
    for client in (server.wendy, server.paul):
        assert bare(client.wait(of("notice"))) == {"type": "notice", "from": "root", "text": "Restarting at 21:00 UTC"}

    server.root.send("/kill wendy flooding")
    server.root.shows("-!- wendy is disconnected.")
    assert server.wendy.wait(of("shutdown")) == {"type": "shutdown", "reason": "Killed by root: flooding"}
    server.tom.shows("[#lobby] -!- wendy has quit (Killed by root: flooding)")
    assert bare(server.paul.wait(of("quit", nick="wendy"))) == {
        "type": "quit", "room": "#lobby", "nick": "wendy", "reason": "Killed by root: flooding"}
    server.root.send("/kill paul")
    assert server.paul.wait(of("shutdown"))["reason"] == "Killed by root"
    server.tom.shows("[#lobby] -!- paul has quit (Killed by root)")
    server.root.send("/kill tom")
    server.tom.expect("Killed by root")
    assert server.tom.wait_closed()

    # Only server operators may.
    other = WSUser(server.d.ws_url, "other", "#lobby")
    for command in ({"type": "kill", "nick": "root"}, {"type": "announce", "text": "hi"},
                    {"type": "gban", "mask": "~a:root"}, {"type": "gbans"}):
        answer = other.command(**command)
        assert answer["code"] == "not-operator", (command, answer)
    assert other.command(type="kill", nick="root")["message"] == "Only server operators may disconnect users."


def test_a_server_operator_acts_in_any_room(server):
    """root kicks in unregistered #lobby, and registers #side, which tom made and a plain account may not take."""
    server.root.send("/kick wendy enough")
    server.tom.shows("[#lobby] -!- wendy was kicked by root (enough)")
    assert bare(server.paul.wait(of("kick"))) == {"type": "kick", "room": "#lobby", "nick": "wendy", "by": "root",
                                                  "reason": "enough"}
    server.tom.send("/join #side")
    server.tom.expect("Your current room is #side")
    registered(server.wendy)
    assert server.wendy.command(type="join", room="#side")["type"] == "ok"
    answer = server.wendy.command(type="room", room="#side", action="register")
    assert bare(answer) == {"type": "error", "code": "room-registered", "message": (
        "You did not create #side and others are in it; only its creator, or a server operator, may register it.")}
    server.root.send("/join #side")
    server.root.expect("Your current room is #side")
    server.root.send("/room register")
    server.tom.shows("[#side] -!- root registered #side")
    assert bare(server.wendy.wait(of("room", room="#side"))) == {
        "type": "room", "room": "#side", "action": "registered", "founder": "root", "by": "root"}


def test_a_server_operator_sees_where_users_connect_from(server):
    """/whois as docs/accounts.md shows it: a server operator sees the address (192.0.2.7 there, 127.0.0.1 here)."""
    server.root.send("/whois paul")
    server.root.shows("-!- paul is not logged in")
    server.root.shows("-!- paul is in #lobby")
    shown = server.root.expect("connects from")
    web = WSUser(server.d.ws_url)
    assert web.login("root", PASSWORD)["type"] == "ok"
    whois = web.ask(type="whois", nick="wendy")
    assert bare(whois) == {"type": "whois", "nick": "wendy", "account": None, "rooms": ["#lobby"],
                           "address": "127.0.0.1", "operator": False}, whois
    assert shown == "-!- paul connects from 127.0.0.1"
    assert server.wendy.ask(type="whois", nick="paul")["address"] is None  # only server operators see it


def test_a_server_ban_on_an_account_refuses_its_logins_everywhere(server):
    """/gban ~a:bad disconnects bad and refuses its logins from every front end with banned."""
    bad = WSUser(server.d.ws_url, "bad", "#lobby")
    registered(bad)
    server.root.shows("[#lobby] -!- bad has joined")
    server.root.send("/gban ~a:bad 2h spam")
    server.root.shows("-!- root banned ~a:bad from the server (spam) for 2 hours")
    assert bad.wait(of("shutdown"))["reason"] == "Banned from this server: spam"
    server.tom.shows("[#lobby] -!- bad has quit (Banned from this server: spam)")

    telnet = LineClient(server.d.lines_port).login("someone")
    assert telnet.identify("bad", PASSWORD) == "! banned: Your account is banned from this server."
    web = WSUser(server.d.ws_url)
    poll = PollClient(server.d.web_url)
    same_refusal("banned", "Your account is banned from this server.", web.login("bad", PASSWORD),
                 poll.login("bad", PASSWORD))
    assert poll.login("bad", PASSWORD)["code"] == "banned"

    server.root.send("/gbans")
    server.root.shows("-!- 1 server ban:")
    listed = server.root.expect("~a:bad")
    assert re.fullmatch(r"-!-   ~a:bad \(spam\) by root on \d{4}-\d\d-\d\d \d\d:\d\d UTC, until .* UTC", listed)
    server.root.send("/gunban ~a:bad")
    server.root.shows("-!- root lifted the server ban on ~a:bad")
    assert web.login("bad", PASSWORD)["type"] == "ok"


def test_a_server_ban_on_a_network_is_listed_and_lifted(server):
    """/gban 192.0.2.0/24 1d botnet (not an address these tests connect from): listed with its expiry, in JSON too."""
    server.root.send("/gban 192.0.2.0/24 1d botnet")
    server.root.shows("-!- root banned 192.0.2.0/24 from the server (botnet) for 1 day")
    server.root.send("/gbans")
    server.root.shows("-!- 1 server ban:")
    listed = server.root.expect("192.0.2.0/24")
    assert re.fullmatch(r"-!-   192\.0\.2\.0/24 \(botnet\) by root on (\S+ \S+) UTC, until (\S+ \S+) UTC", listed)
    # 127.0.0.1 is not in it: everyone here stays, and new connections come in.
    LineClient(server.d.lines_port).login("newcomer", "#lobby")
    server.tom.shows("[#lobby] -!- newcomer has joined")

    web = WSUser(server.d.ws_url, "rootweb")
    assert web.login("root", PASSWORD)["type"] == "ok"
    listing = web.ask(type="gbans")
    assert listing["room"] is None
    [ban] = listing["bans"]
    assert (ban["mask"], ban["by"], ban["reason"]) == ("192.0.2.0/24", "root", "botnet")
    assert ban["until"] > ban["since"]
    assert web.command(type="gunban", mask="192.0.2.0/24")["type"] == "ok"
    server.root.send("/gbans")
    server.root.shows("-!- No server bans")


def test_a_server_ban_on_an_address_shuts_it_out_of_every_front_end(make_daemon):
    """/gban on a non-loopback address of this machine: its connections go, new ones are refused; 127.0.0.1 stays."""
    outside = need_outside_address()
    d = make_daemon({**OPERATORS, ("lines", "listen"): "tcp:0:interface=0.0.0.0",
                     ("web", "listen"): "tcp:0:interface=0.0.0.0"})
    server = Server(d)
    there = LineClient(d.lines_port, host=outside).login("faraway", "#lobby")
    server.root.shows("[#lobby] -!- faraway has joined")
    server.root.send(f"/gban {outside} 30m botnet")
    server.root.shows(f"-!- root banned {outside} from the server (botnet) for 30 minutes")
    there.expect("Banned from this server: botnet")
    assert there.wait_closed()
    server.tom.shows("[#lobby] -!- faraway has quit (Banned from this server: botnet)")

    refusal = "This address is banned from this server."
    again = LineClient(d.lines_port, host=outside)
    assert again.expect("^! ") == f"! banned: {refusal}"
    assert again.wait_closed()
    # WebSocket and long-poll share the web listener, which answers before any request (a client that
    # sent one might see its connection reset before it reads the answer).
    with socket.create_connection((outside, d.web_port), timeout=5) as web:
        answer = b""
        while chunk := web.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 "), answer
    assert json.loads(body) == {"type": "error", "code": "banned", "message": refusal}
    # Everyone on 127.0.0.1 goes on.
    LineClient(d.lines_port).login("newcomer", "#lobby")
    server.tom.shows("[#lobby] -!- newcomer has joined")
    assert server.wendy.command(type="say", room="#lobby", text="still here")["type"] == "ok"


def test_chatctl_kick_reaches_every_front_end_and_every_connection(make_daemon, tmp_path):
    """chatctl kick on a user logged in twice: every member sees one kick, both connections are let go."""
    sock = tmp_path / "admin.sock"
    d = make_daemon(OPERATORS, args=["--admin", f"unix:{sock}"])
    tom = LineClient(d.lines_port).login("tom", "#den")
    troll = WSUser(d.ws_url, "troll", "#den")
    token = registered(troll)["token"]
    second = WSUser(d.ws_url)
    assert second.login(token=token)["nick"] == "troll"
    paul = PollClient(d.web_url, "paul", "#den")
    tom.shows("[#den] -!- paul has joined")

    kicked = subprocess.run([CHATCTL, "--admin", f"unix:{sock}", "kick", "troll", "posting spam"],
                            capture_output=True, text=True, timeout=30)
    assert kicked.returncode == 0, kicked.stderr
    tom.shows("[#den] -!- troll was kicked by an operator (posting spam)")
    expected = {"type": "kick", "room": "#den", "nick": "troll", "by": "an operator", "reason": "posting spam"}
    for client in (paul, troll, second):
        assert bare(client.wait(of("kick"))) == expected
    for client in (troll, second):
        assert client.wait(of("shutdown"))["reason"] == "Kicked by an operator: posting spam"
    tom.send("the room goes on")
    paul.wait(of("message", text="the room goes on"))
    assert len([e for e in paul.seen if e["type"] == "kick"]) == 1, "one user, one kick"
