"""
Long-poll with no sticky sessions (issue 14): a session's polls and
commands may land on any node and get the same answers.  When the node
that owns it dies, the session keeps working through another node, or
the client is told (404, code C{session-lost}), creates a new session and
resumes each room with C{since}, losing nothing.
"""

import time

from cluster import NODE_TIMEOUT, eventually
from cluster_scenes import finish, histories
from cluster_users import PollChatter, WSChatter
from oracle import check


def test_one_session_polled_through_three_nodes_gets_the_same_answers(cluster):
    """
    A session made on n1: the same poll (same after) through n1, n2 and
    n3 answers the same events; commands through any node act on it; an
    acknowledgement through one node holds on the others.
    """
    n1, n2, n3 = cluster.nodes
    polly = PollChatter("polly").connect(n1)
    wes = WSChatter("wes").connect(n3)
    for i in range(3):
        wes.say("#lobby", f"m{i}")
    wes.settle()
    polly.pump(0.5)
    mark = polly.client.last
    for i in range(3, 6):
        wes.say("#lobby", f"m{i}")
    wes.settle()

    def texts(response):
        return [e["text"] for e in response.json()["events"] if e["type"] == "message"]

    eventually(lambda: texts(polly.via(n1).poll(timeout=0, after=mark)) == ["m3", "m4", "m5"], 5,
               "m3 to m5 queued for polly")
    answers = [polly.via(node).poll(timeout=0, after=mark) for node in (n1, n2, n3)]
    assert [r.status_code for r in answers] == [200, 200, 200], [r.text for r in answers]
    bodies = [r.json() for r in answers]
    assert bodies[0] == bodies[1] == bodies[2], bodies
    assert texts(answers[0]) == ["m3", "m4", "m5"]

    # Commands through n2 and n3, polls through each node in turn.
    polly.via(n2).say("#lobby", "polly via n2")
    who = polly.via(n3).command(type="who", room="#lobby", ref="w")
    assert who["type"] == "ok", who
    for round, node in enumerate((n2, n3, n1, n2, n3, n1)):
        wes.say("#lobby", f"round {round}")
        polly.via(node).pump(0.3)
    polly.via(n2).sees("round 5")
    # Read to the end through n2, whose last (empty) poll acknowledged it
    # all: n1 and n3 have dropped those events too.
    polly.via(n2).pump(0.2)
    last = polly.client.last
    for node in (n1, n3):
        body = polly.via(node).poll(timeout=0, after=0).json()
        assert all(e["seq"] > last for e in body["events"]), (node.name, last, body)

    closer = finish([polly, wes], n1)
    check([polly.log, wes.log, closer.log], histories(n2, ["#lobby"]))


def test_a_session_outlives_its_owning_node_or_is_told_and_resumes(cluster):
    """
    polly's session is made on n1, which is then killed while wes (on n3)
    keeps talking.  Through n2 the session either keeps working, or
    answers 404 session-lost; then polly makes a new session on n2 and
    resumes #lobby with since.  Either way she misses nothing.
    """
    n1, n2, n3 = cluster.nodes
    polly = PollChatter("polly", rooms=["#lobby", "#den"]).connect(n1)
    wes = WSChatter("wes", rooms=["#lobby", "#den"]).connect(n3)
    wes.stream(5)
    wes.stream(3, room="#den")
    polly.via(n2).pump(0.5)
    polly.say("#lobby", "before the owner died")
    n1.kill()
    wes.stream(10)
    wes.stream(3, room="#den")
    wes.settle()

    deadline = time.monotonic() + NODE_TIMEOUT + 8
    polly.via(n2)
    while not polly.broken and any(wes.log.said[room][-1] not in polly.log.texts(room) for room in wes.rooms):
        assert time.monotonic() < deadline, f"polly heard nothing more through n2: {polly.log.texts('#lobby')[-3:]}"
        polly.pump(0.5)
    if polly.broken:
        assert polly.lost is not None, "the session's poll through n2 failed without an answer"
        assert polly.lost.get("code") == "session-lost", polly.lost
        polly.move_to(n2)
    polly.say("#lobby", "after the owner died")
    closer = finish([polly, wes], n2)
    rooms = histories(n3, ["#lobby", "#den"])
    check([polly.log, wes.log, closer.log], rooms)
    assert "before the owner died" in [m["text"] for m in rooms["#lobby"]]
