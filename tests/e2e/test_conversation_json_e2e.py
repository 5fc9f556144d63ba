"""
Issue 18 over the JSON protocol, end to end against the real daemon: a
WebSocket user (the `websockets` library) and a long-poll user (plain
HTTP) see multi-line messages, replies, reactions, typing and read
markers; two connections of one account share read markers; a resume
after a disconnect brings back the replies and reactions it missed,
once each, and the read marker where the account left it.
"""

from chatclients import PollClient, WSUser, of

PASSWORD = "correct horse battery"


def test_lines_replies_reactions_and_typing_reach_websocket_and_long_poll_users(daemon):
    ws = WSUser(daemon.ws_url, "alice", "#den")
    poll = PollClient(daemon.web_url, "bob", "#den")
    ok = ws.command(type="say", room="#den", text="one\ntwo\nthree", cid="c1")
    first = ok["id"]
    got = poll.wait(of("message", id=first))
    assert got["text"] == "one\ntwo\nthree"

    ok = poll.command(type="say", room="#den", text="agreed", reply_to=first)
    assert ok["type"] == "ok", ok
    reply = ws.expect(lambda e: e["type"] == "message" and e.get("id") == ok["id"])
    assert reply["reply_to"] == first and reply["reply"] == {"nick": "alice", "text": "one …"}

    ok = poll.command(type="react", room="#den", id=first, reaction="👍")
    react = ws.expect(lambda e: e["type"] == "react")
    assert (react["id"], react["nick"], react["message"], react["reaction"]) == (ok["id"], "bob", first, "👍")

    assert poll.command(type="typing", room="#den")["type"] == "ok"
    typing = ws.expect(lambda e: e["type"] == "typing")
    assert (typing["nick"], typing["state"], typing["room"]) == ("bob", "active", "#den")

    # History folds the reaction into its message and never holds typing.
    page = ws.ask(type="history", room="#den")
    assert [(m["type"], m.get("reactions")) for m in page["messages"]] == [
        ("message", [{"reaction": "👍", "nicks": ["bob"]}]), ("message", None)]
    assert page["messages"][1]["reply"]["nick"] == "alice"

    bad = ws.command(type="react", room="#den", id=first, reaction="two words")
    assert bad["type"] == "error" and bad["code"] == "invalid-text"
    bad = ws.command(type="say", room="#den", text="hm", reply_to=9999)
    assert bad["type"] == "error" and bad["code"] == "no-such-message" and "9999" in bad["message"]
    ws.close()


def test_read_markers_follow_the_account_across_its_connections(daemon):
    laptop = WSUser(daemon.ws_url, "carol")
    assert laptop.command(type="register", password=PASSWORD)["type"] == "ok"
    laptop.command(type="join", room="#den")
    phone = PollClient(daemon.web_url)
    assert phone.login("carol", PASSWORD)["type"] == "ok"
    said = laptop.command(type="say", room="#den", text="note to self")
    assert laptop.command(type="read", room="#den", id=said["id"])["id"] == said["id"]
    moved = phone.wait(of("read"))
    assert (moved["room"], moved["id"]) == ("#den", said["id"])
    marker = phone.ask(type="read", room="#den")
    assert marker["id"] == said["id"]
    guest = WSUser(daemon.ws_url, "dave")
    refused = guest.command(type="read", room="#den", id=1)
    assert refused["type"] == "error" and refused["code"] == "not-logged-in"
    laptop.close()
    guest.close()


def test_a_resume_brings_back_missed_replies_and_reactions_once(daemon):
    erin = WSUser(daemon.ws_url, "erin", "#den")
    frank = WSUser(daemon.ws_url, "frank")
    token = frank.command(type="register", password=PASSWORD)["token"]
    frank.command(type="join", room="#den")
    first = erin.command(type="say", room="#den", text="before the break")["id"]
    frank.expect(lambda e: e.get("id") == first)
    assert frank.command(type="read", room="#den", id=first)["id"] == first
    frank.close()
    reply = erin.command(type="say", room="#den", text="still there?", reply_to=first)["id"]
    react = erin.command(type="react", room="#den", id=first, reaction="⏰")["id"]
    unreact = erin.command(type="unreact", room="#den", id=first, reaction="⏰")["id"]
    back = WSUser(daemon.ws_url)
    assert back.login(token=token)["type"] == "ok"
    back.command(type="join", room="#den", since=first)
    history = next(e for e in back.seen if e["type"] == "history")
    assert [(m["type"], m["id"]) for m in history["messages"]] == [
        ("message", reply), ("react", react), ("unreact", unreact)]
    assert history["messages"][0]["reply_to"] == first and not history["truncated"]
    assert back.ask(type="read", room="#den")["id"] == first  # where frank left off, kept by his account
    later = erin.command(type="say", room="#den", text="after")["id"]
    live = back.expect(lambda e: e["type"] == "message")
    assert live["id"] == later  # nothing from the replay came twice
    erin.close()
    back.close()
