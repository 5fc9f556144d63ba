"""
Ticket authentication on /wamp (authmethods ["ticket"], authid = the
account, ticket = its password or a login token) with Autobahn|Python and
autobahn-js in their own processes, over wamp.2.json and wamp.2.msgpack:
the session is logged in to the chatd account a telnet user registered,
and a wrong ticket is refused with chatd's words.
"""

import re

from chatclients import LineClient
from wampusers import serializer, wamp  # noqa: F401  (serializer and wamp are fixtures)

PASSWORD = "correct-horse-battery"


def registered(daemon, nick: str) -> None:
    """A telnet user registers C{nick} as an account, then leaves."""
    acc = LineClient(daemon.lines_port).login(nick)
    try:
        assert acc.register(PASSWORD).startswith(f"-!- You registered the account {nick}")
        acc.send("/quit")
        acc.wait_closed()
    finally:
        acc.close()


def test_a_ticket_logs_in_to_the_account(daemon, wamp, tel, serializer):
    """
    Autobahn|Python logs in with the password and autobahn-js with the
    login token WELCOME gave it: both are the account ada, one member of
    #lobby, chatting with telnet as ada.
    """
    registered(daemon, "ada")
    tom = tel("tom", "#lobby")
    py = wamp("py", authid="ada", ticket=PASSWORD)
    welcome = py.opened()
    assert (welcome["authid"], welcome["authrole"], welcome["authmethod"]) == ("ada", "user", "ticket")
    token = welcome["authextra"]["token"]
    assert welcome["authextra"]["nick"] == "ada" and len(token) == 43
    assert py.subscribe()["event"] == "subscribed"
    assert set(py.result("chatd.join", "#lobby")["members"]) == {"ada", "tom"}
    tom.shows("[#lobby] -!- ada has joined")
    tom.send("/whois ada")
    tom.shows("-!- ada is logged in as ada")

    py.result("chatd.say", "#lobby", "hello from the python side of ada")
    tom.shows("[#lobby] <ada> hello from the python side of ada")

    js = wamp("js", authid="ada", ticket=token)
    again = js.opened()
    assert (again["authid"], again["authmethod"], again["authextra"]["nick"]) == ("ada", "ticket", "ada")
    assert js.subscribe()["event"] == "subscribed"
    assert set(js.result("chatd.join", "#lobby")["members"]) == {"ada", "tom"}, "one account, one member"
    tom.send("hello, both of ada")
    assert js.said("hello, both of ada")["from"] == py.said("hello, both of ada")["from"] == "tom"
    js.result("chatd.say", "#lobby", "hello from the js side of ada")
    tom.shows("[#lobby] <ada> hello from the js side of ada")
    assert py.said("hello from the js side of ada")["from"] == "ada", "the account's other connection sees it too"


def test_a_wrong_ticket_is_refused(daemon, wamp):
    """A wrong password or an unknown account: ABORT wamp.error.authentication_failed, in chatd's words, and logged."""
    registered(daemon, "ada")
    refusals = {"ada": "That is not the password of ada.", "nobody": "No account is called nobody."}
    for lib in ("js", "py"):
        for authid, words in refusals.items():
            refused = wamp(lib, authid=authid, ticket="not-the-password").closed()
            assert (refused["reason"], refused["message"]) == ("wamp.error.authentication_failed", words), refused
    log = daemon.log()
    for words in refusals.values():
        aborted = re.findall(rf"WAMP session of 127\.0\.0\.1:\d+ aborted: "
                             rf"wamp\.error\.authentication_failed: {re.escape(words)}", log)
        assert len(aborted) == 2, log
    assert log.count("Failed login to ada from wamp 127.0.0.1:") == 2


def test_a_ticket_session_resumes_while_its_account_stays_in_the_room(daemon, wamp, tel, serializer):
    """ada's js connection dies while her python one stays in #lobby; js comes back with since: what it missed."""
    registered(daemon, "ada")
    tom = tel("tom", "#lobby")
    py = wamp("py", authid="ada", ticket=PASSWORD)
    token = py.opened()["authextra"]["token"]
    assert py.subscribe()["event"] == "subscribed"
    py.result("chatd.join", "#lobby")
    tom.shows("[#lobby] -!- ada has joined")
    mark = len(tom.seen)
    js = wamp("js", authid="ada", ticket=token)
    assert js.subscribe()["event"] == "subscribed"
    js.result("chatd.join", "#lobby")
    tom.send("seen by both")
    last = js.said("seen by both")["id"]
    js.kill()
    missed = ["missed by js one", "missed by js two"]
    for text in missed:
        tom.send(text)
    missed_ids = [py.said(text)["id"] for text in missed]
    back = wamp("js", authid="ada", ticket=token)
    assert back.subscribe()["event"] == "subscribed"
    history = back.result("chatd.join", "#lobby", last)["history"]
    assert [(m["id"], m["text"]) for m in history] == list(zip(missed_ids, missed))
    tom.send("/who")
    tom.shows("[#lobby] -!- 2 members: ada, tom")
    assert not any("ada has" in line for line in tom.seen[mark:]), "ada never left #lobby, so never joined again"
