"""
End to end: durable history on the real daemon with its SQLite store:
scrollback on join for every front end, paging, resume, restarts and
crash safety (SIGKILL mid-stream).
"""

import signal

from chatclients import LineClient, PollClient, WSUser


def say_many(user, room, texts):
    return [user.command(type="say", room=room, text=t)["id"] for t in texts]


def test_scrollback_on_join_for_every_front_end(daemon):
    """A late joiner gets the recent conversation first, on lines, WebSocket and long-poll alike."""
    talker = WSUser(daemon.ws_url, "talker", "#lobby")
    ids = say_many(talker, "#lobby", [f"earlier {i}" for i in range(3)])

    line = LineClient(daemon.lines_port).login("liner")
    line.send("/join #lobby")
    assert line.expect("Scrollback") == "[#lobby] -!- Scrollback (3 messages):"
    assert line.expect("<talker>").endswith("<talker> earlier 0")
    line.expect("End of scrollback")

    ws = WSUser(daemon.ws_url, "webber")
    ws.send(type="join", room="#lobby")
    history = ws.expect(lambda e: e["type"] == "history")
    assert [m["id"] for m in history["messages"]] == ids
    assert history["truncated"] is False

    poll = PollClient(daemon.web_url, "poller", "#lobby")
    history = poll.expect(lambda e: e["type"] == "history")
    assert [m["text"] for m in history["messages"]] == ["earlier 0", "earlier 1", "earlier 2"]
    talker.close()


def test_history_pages_back_with_before(daemon):
    """history with before pages further back, oldest first, and says when more remain."""
    u = WSUser(daemon.ws_url, "pager", "#lobby")
    ids = say_many(u, "#lobby", [f"m{i}" for i in range(10)])
    u.send(type="history", room="#lobby", limit=4, ref="h1")
    page = u.expect(lambda e: e["type"] == "history" and e.get("ref") == "h1")
    assert [m["id"] for m in page["messages"]] == ids[-4:] and page["truncated"] is True
    u.send(type="history", room="#lobby", limit=4, before=ids[-4], ref="h2")
    page = u.expect(lambda e: e["type"] == "history" and e.get("ref") == "h2")
    assert [m["id"] for m in page["messages"]] == ids[-8:-4]
    u.send(type="history", room="#lobby", limit=4, before=ids[2], ref="h3")
    page = u.expect(lambda e: e["type"] == "history" and e.get("ref") == "h3")
    assert [m["id"] for m in page["messages"]] == ids[:2] and page["truncated"] is False


def test_since_resumes_exactly_after_the_id(make_daemon):
    """join with since delivers everything after the id, then live; truncated when more was missed than can be replayed."""
    d = make_daemon({("history", "replay_max"): "5"})
    talker = WSUser(d.ws_url, "talker", "#lobby")
    ids = say_many(talker, "#lobby", [f"m{i}" for i in range(4)])

    back = WSUser(d.ws_url, "back")
    back.send(type="join", room="#lobby", since=ids[1])
    history = back.expect(lambda e: e["type"] == "history")
    assert [m["id"] for m in history["messages"]] == ids[2:]
    assert history["truncated"] is False
    talker.command(type="say", room="#lobby", text="live")
    live = back.expect(lambda e: e["type"] == "message")
    assert live["text"] == "live" and live["id"] > ids[-1]

    more = say_many(talker, "#lobby", [f"n{i}" for i in range(8)])
    late = WSUser(d.ws_url, "late")
    late.send(type="join", room="#lobby", since=ids[0])
    history = late.expect(lambda e: e["type"] == "history")
    assert history["truncated"] is True
    assert [m["id"] for m in history["messages"]] == more[-5:]


def test_messages_topics_and_ids_survive_restart(make_daemon):
    """After a clean restart (SIGTERM), history and topic are there and ids keep increasing."""
    d = make_daemon()
    u = WSUser(d.ws_url, "keeper", "#lobby")
    ids = say_many(u, "#lobby", ["before restart 1", "before restart 2"])
    assert u.command(type="topic", room="#lobby", topic="Persistent")["type"] == "ok"
    u.close()
    d.restart()
    u = WSUser(d.ws_url, "keeper")
    u.send(type="join", room="#lobby")
    members = u.expect(lambda e: e["type"] == "members")
    assert members["topic"] == "Persistent"
    history = u.expect(lambda e: e["type"] == "history")
    assert [m["id"] for m in history["messages"]] == ids
    new = u.command(type="say", room="#lobby", text="after restart")["id"]
    assert new > ids[-1]


def test_acknowledged_messages_survive_sigkill_exactly_once_in_order(make_daemon):
    """SIGKILL mid-stream: every message whose ok the sender saw is stored once, in order; a cid resend is not stored twice."""
    d = make_daemon()
    sender = WSUser(d.ws_url, "streamer", "#lobby")
    total = 600
    for i in range(total):
        sender.send(type="say", room="#lobby", text=f"msg {i}", cid=f"c{i}", ref=i)
    acked = {}
    while len(acked) < 150:
        event = sender.recv()
        if event["type"] == "ok":
            acked[event["ref"]] = event["id"]
    d.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    try:
        while True:  # oks that were already on the wire still count
            event = sender.recv(timeout=1)
            if event["type"] == "ok":
                acked[event["ref"]] = event["id"]
    except Exception:
        pass
    d.start()

    reader = WSUser(d.ws_url, "reader")
    stored = []
    before = None
    while True:
        command = {"type": "history", "room": "#lobby", "limit": 200, "ref": f"p{len(stored)}"}
        if before is not None:
            command["before"] = before
        reader.send(**command)
        page = reader.expect(lambda e: e["type"] == "history" and e.get("ref") == command["ref"])
        stored = page["messages"] + stored
        if not page["truncated"] or not page["messages"]:
            break
        before = page["messages"][0]["id"]
    texts = [m["text"] for m in stored]
    ids = [m["id"] for m in stored]
    assert ids == sorted(set(ids)), "ids are unique and in order"
    assert len(texts) == len(set(texts)), "no message stored twice"
    assert texts == [f"msg {i}" for i in sorted(int(t.split()[1]) for t in texts)], "stored in send order"
    for ref, id in acked.items():
        assert texts[ids.index(id)] == f"msg {ref}", "every acknowledged message is stored under its id"

    resender = WSUser(d.ws_url, "streamer", "#lobby")
    for ref, id in list(acked.items())[:20]:
        again = resender.command(type="say", room="#lobby", text=f"msg {ref}", cid=f"c{ref}")
        assert again["id"] == id, "a retry with the same cid gets the first copy's id"
    resender.send(type="history", room="#lobby", limit=200, ref="last")
    page = resender.expect(lambda e: e["type"] == "history" and e.get("ref") == "last")
    newest = [m["text"] for m in page["messages"]]
    assert len(newest) == len(set(newest)), "retries were not stored again"
