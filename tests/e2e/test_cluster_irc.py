"""
IRC users on different nodes of a cluster share rooms like everyone else
(issue 15): messages cross nodes with the same ids, and a user who moves
from one node to another resumes with CHATHISTORY AFTER without loss or
duplicate.
"""

from chatclients import LineClient
from ircclient import irc_client, message_id


def test_irc_users_on_two_nodes_and_a_telnet_user_share_a_room(cluster):
    n1, n2 = cluster["n1"], cluster["n2"]
    alice = irc_client(n1.daemon.port("irc"), "alice")
    bob = irc_client(n2.daemon.port("irc"), "bob")
    alice.join("#lobby")
    bob.join("#lobby")
    tel = LineClient(n2.lines_port).login("tel", "#lobby")
    alice.privmsg("#lobby", "from alice on n1")
    got = bob.expect(lambda l: l.command == "PRIVMSG" and l.params == ["#lobby", "from alice on n1"])
    assert got.hostmask.nickname == "alice"
    tel.expect("<alice> from alice on n1")
    tel.send("from tel on n2")
    seen = alice.expect(lambda l: l.command == "PRIVMSG" and l.params[1:] == ["from tel on n2"])
    assert message_id(seen) == message_id(got) + 1
    for client in (alice, bob):
        client.close()
    tel.close()


def test_resume_on_another_node_with_chathistory_after(cluster):
    """A user leaves n1 after message k; on n3 it asks for everything after k and gets exactly what it missed."""
    n1, n2, n3 = cluster["n1"], cluster["n2"], cluster["n3"]
    reader = irc_client(n1.daemon.port("irc"), "reader")
    reader.join("#lobby")
    writer = irc_client(n2.daemon.port("irc"), "writer")
    writer.join("#lobby")
    writer.privmsg("#lobby", "before 1")
    last = reader.expect(lambda l: l.command == "PRIVMSG" and l.params[1:] == ["before 1"])
    reader.close()
    missed = [f"missed {n}" for n in range(25)]
    for text in missed:
        writer.privmsg("#lobby", text)
    writer.send("PING :sync")
    writer.expect(lambda l: l.command == "PONG")
    back = irc_client(n3.daemon.port("irc"), "reader")
    back.send(f"CHATHISTORY AFTER #lobby msgid={last.tags['msgid']} 100")
    lines = back.batch("chathistory", "#lobby")
    assert [line.params[1] for line in lines] == missed
    ids = [message_id(line) for line in lines]
    assert ids == list(range(message_id(last) + 1, message_id(last) + 1 + len(missed)))
    back.close()
    writer.close()
