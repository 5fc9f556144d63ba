"""
Users and their rules across nodes (issue 14): a nick is unique in the
whole cluster (two nodes racing for one: exactly one wins); accounts live
in the shared store; an operator on one node kicks, bans and mutes users
on another, and everyone, on every node, sees the same events.
"""

import threading
import time

from chatclients import LineClient, PollClient, WSUser, bare, first, of
from cluster_scenes import together

PASSWORD = "correct-horse"
#: root, once registered, is a server operator on every node.
OPERATORS = {("server", "operators"): "root"}


def race(first, second, nick_a, nick_b):
    """Both ask for their nick at the same moment; both answers."""
    gate = threading.Barrier(2)

    def take(user, nick):
        gate.wait()
        return user.command(type="nick", nick=nick)

    return together(lambda: take(first, nick_a), lambda: take(second, nick_b))


def test_a_nick_race_across_two_nodes_has_exactly_one_winner(cluster):
    """Ten rounds, n1 against n2, the same nick, a case-folded one and a look-alike: one ok, one nick-in-use."""
    n1, n2, _ = cluster.nodes
    rounds = [(f"racer{i}", f"racer{i}") for i in range(8)] + [("Rival", "rIVAL"), ("alice", "\u0430lice")]
    for nick_a, nick_b in rounds:
        a, b = WSUser(n1.ws_url), WSUser(n2.ws_url)
        answers = race(a, b, nick_a, nick_b)
        kinds = sorted(answer["type"] for answer in answers)
        assert kinds == ["error", "ok"], (nick_a, nick_b, answers)
        loser = next(answer for answer in answers if answer["type"] == "error")
        assert loser["code"] == "nick-in-use", loser
        a.close()
        b.close()


def test_a_nick_taken_on_one_node_is_refused_on_every_front_end_of_another(cluster):
    n1, n2, n3 = cluster.nodes
    holder = WSUser(n1.ws_url, "taken")
    tel = LineClient(n2.lines_port)
    tel.expect("Choose a nick")
    tel.send("taken")
    assert tel.refused("nick-in-use").startswith("The nick taken is taken")
    poll = PollClient(n3.web_url)
    assert poll.command(type="nick", nick="TAKEN")["code"] == "nick-in-use"
    holder.close()
    # n1 frees the nick when it sees the connection close: until then n2 still refuses it.
    deadline = time.monotonic() + 10
    while True:
        tel.send("taken")
        line = tel.expect(r"You are now taken|^! nick-in-use: ", timeout=5)
        if "You are now taken" in line:
            break
        assert time.monotonic() < deadline, "the nick taken was not freed within 10 seconds of its holder leaving"
        time.sleep(0.1)


def test_an_account_registered_on_one_node_logs_in_on_another(cluster):
    n1, n2, _ = cluster.nodes
    alice = WSUser(n1.ws_url, "alice")
    assert alice.command(type="register", password=PASSWORD)["type"] == "ok"
    alice.close()
    again = WSUser(n2.ws_url)  # no nick yet: logging in takes the account's name
    answer = again.login("alice", PASSWORD)
    assert answer["type"] == "ok" and answer["token"] and answer["nick"] == "alice", answer
    # alice is online on n2: a stranger on n1 cannot take her nick.
    stranger = WSUser(n1.ws_url)
    assert stranger.command(type="nick", nick="alice")["code"] == "nick-in-use"


class Den:
    """
    #den: tom (telnet) and will (WebSocket) on n1, pam (long-poll) on n3;
    root, a server operator, on n2.
    """

    def __init__(self, cluster) -> None:
        n1, n2, n3 = cluster.nodes
        self.root = WSUser(n2.ws_url, "root")
        assert self.root.command(type="register", password=PASSWORD)["type"] == "ok"
        assert self.root.command(type="join", room="#den")["type"] == "ok"
        self.tom = LineClient(n1.lines_port).login("tom", "#den")
        self.will = WSUser(n1.ws_url, "will", "#den")
        self.pam = PollClient(n3.web_url, "pam", "#den")
        for nick in ("tom", "will", "pam"):
            self.root.wait(of("join", nick=nick))
        self.n1, self.n3 = n1, n3

    def all_see(self, line: str, event: dict, jsons=None) -> None:
        self.tom.shows(line)
        for client in jsons if jsons is not None else (self.root, self.will, self.pam):
            got = first(client, of(event["type"], **{k: v for k, v in event.items() if k != "type"}))
            assert bare(got) == event, got


def test_an_operator_on_n2_kicks_a_user_on_n1(make_cluster):
    den = Den(make_cluster(3, settings=OPERATORS))
    assert den.root.command(type="kick", room="#den", nick="will", reason="spam")["type"] == "ok"
    den.all_see("[#den] -!- will was kicked by root (spam)",
                {"type": "kick", "room": "#den", "nick": "will", "by": "root", "reason": "spam"})
    assert den.will.command(type="say", room="#den", text="still here?")["code"] == "not-in-room"
    who = den.pam.ask(type="who", room="#den")
    assert sorted(who["nicks"]) == ["pam", "root", "tom"], who


def test_a_ban_on_n2_puts_out_and_keeps_out_on_every_node(make_cluster):
    den = Den(make_cluster(3, settings=OPERATORS))
    assert den.root.command(type="ban", room="#den", mask="wil*", reason="spam")["type"] == "ok"
    den.tom.shows("[#den] -!- root banned wil* (spam)")
    den.all_see("[#den] -!- will was kicked by root (banned (spam))",
                {"type": "kick", "room": "#den", "nick": "will", "by": "root", "reason": "banned (spam)"})
    assert den.will.command(type="join", room="#den")["code"] == "banned"
    elsewhere = WSUser(den.n3.ws_url, "wilma")
    refused = elsewhere.command(type="join", room="#den")
    assert (refused["code"], refused["message"]) == ("banned", "You are banned from #den: spam.")
    bans = den.pam.ask(type="bans", room="#den")["bans"]
    assert [(b["mask"], b["by"], b["reason"]) for b in bans] == [("wil*", "root", "spam")]


def test_a_mute_on_n2_silences_a_user_on_n1(make_cluster):
    den = Den(make_cluster(3, settings=OPERATORS))
    assert den.root.command(type="mute", room="#den", nick="tom")["type"] == "ok"
    den.all_see("[#den] -!- root muted tom",
                {"type": "mute", "room": "#den", "nick": "tom", "by": "root", "until": None})
    den.tom.send("can anyone hear me")
    assert den.tom.refused("muted") == "You are muted in #den: you may read, not speak."
    assert den.root.command(type="unmute", room="#den", nick="tom")["type"] == "ok"
    den.tom.shows("[#den] -!- root unmuted tom")
    den.tom.send("back again")
    for client in (den.root, den.will, den.pam):
        client.wait(of("message", text="back again", **{"from": "tom"}))


def test_a_server_operator_on_n2_kills_a_user_on_n3(make_cluster):
    den = Den(make_cluster(3, settings=OPERATORS))
    assert den.root.command(type="kill", nick="pam", reason="enough")["type"] == "ok"
    for client in (den.root, den.will):
        first(client, of("quit", nick="pam"))
    den.tom.expect(r"^\[#den\] -!- pam has quit")
    shutdown = first(den.pam, of("shutdown"))
    assert "enough" in shutdown["reason"], shutdown
