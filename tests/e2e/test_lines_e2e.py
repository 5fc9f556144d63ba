"""
End to end: the real daemon and raw TCP clients doing what nc and telnet
users do (the foundation issue's "Done when").
"""

import signal
import socket
import time

import pytest

from chatclients import LineClient


def test_two_users_chat_in_lobby(line_client):
    """Two nc users pick nicks, join #lobby and see each other's messages, joins and parts."""
    alice = line_client("alice", "#lobby")
    bob = line_client("bob", "#lobby")
    alice.expect(r"^\[#lobby\] -!- bob has joined$")
    bob.send("hello alice")
    assert alice.expect(r"<bob>") == "[#lobby] <bob> hello alice"
    alice.send("/me waves")
    assert bob.expect(r"\* alice") == "[#lobby] * alice waves"
    bob.send("/part #lobby see you")
    assert alice.expect("has left") == "[#lobby] -!- bob has left (see you)"


def test_who_lists_both_and_join_confirms_count(line_client):
    """/join confirms with the member count and topic; /who lists both members."""
    alice = line_client("alice", "#lobby")
    bob = line_client("bob")
    bob.send("/join #lobby")
    assert bob.expect("members?:") == "[#lobby] -!- 2 members: alice, bob"
    bob.expect("No topic is set")
    alice.send("/who")
    assert alice.expect("members:") == "[#lobby] -!- 2 members: alice, bob"


def test_private_message_reaches_only_its_target(line_client):
    """/msg reaches only its target; a third member sees nothing."""
    alice = line_client("alice", "#lobby")
    bob = line_client("bob", "#lobby")
    carol = line_client("carol", "#lobby")
    alice.send("/msg bob the secret is 42")
    assert bob.expect(r"^\*alice\*") == "*alice* the secret is 42"
    alice.expect(r"^-> \*bob\* the secret is 42$")
    alice.send("public again")
    carol.expect("public again")
    assert not any("secret" in line for line in carol.seen)


def test_nick_differing_only_in_case_is_refused(line_client):
    """A nick that differs only in case (or width) is refused with a '! ' line."""
    line_client("alice")
    other = line_client()
    other.expect("Choose a nick")
    other.send("ALICE")
    assert other.expect(r"^! ").startswith("! nick-in-use:")
    other.send("Ａｌｉｃｅ")
    assert other.expect(r"^! ").startswith("! nick-in-use:")


def test_every_error_code_reaches_a_line_user(line_client):
    """Each core error comes back as one '! code: message' line."""
    u = line_client()
    u.expect("Choose a nick")
    u.send("/join #lobby")
    u.expect(r"^! no-nick: ")
    u.send("bad nick")
    u.expect(r"^! invalid-nick: ")
    u.send("dora")
    u.expect("You are now dora")
    u.send("/join lobby")
    u.expect(r"^! invalid-room: ")
    u.send("hello?")
    u.expect(r"^! not-in-room: ")
    u.send("/msg nobody hi")
    u.expect(r"^! no-such-nick: ")
    u.send("/who #nowhere")
    u.expect(r"^! no-such-room: ")
    u.send("/join #lobby")
    u.expect("Your current room")
    u.send("x" * 4001)
    u.expect(r"^! too-long: ")
    u.send("/frobnicate")
    u.expect(r"^! unknown-command: ")
    u.send("/msg")
    u.expect(r"^! usage: Usage: /msg NICK text")


def test_abusive_input_leaves_others_chatting(daemon, line_client):
    """1 MiB without a newline, invalid UTF-8, NUL bytes, telnet IAC and 10,000 empty lines."""
    alice = line_client("alice", "#lobby")
    bob = line_client("bob", "#lobby")
    abuser = line_client("mallory", "#lobby")

    abuser.send_raw(b"A" * (1 << 20))
    abuser.send_raw(b"\n")
    abuser.expect(r"^! line-too-long: ")
    abuser.send_raw(b"caf\xc3\x28\r\n")
    abuser.expect(r"^! invalid-utf8: ")
    abuser.send_raw(b"nul\x00byte\r\n")
    abuser.expect(r"^! invalid-text: .*U\+0000")
    abuser.send_raw(b"\x1b[2Jclear your screen\r\n")
    abuser.expect(r"^! invalid-text: .*U\+001B \(ESCAPE\)")
    abuser.send_raw(b"\xff\xfd\x18\xff\xfb\x1f\xff\xfa\x18\x00xterm\xff\xf0telnet ok\r\n")
    assert alice.expect("mallory>") == "[#lobby] <mallory> telnet ok"
    abuser.send_raw(b"\r\n" * 10000)

    bob.send("still chatting")
    assert alice.expect("<bob>") == "[#lobby] <bob> still chatting"
    alice.send("me too")
    assert bob.expect("<alice>") == "[#lobby] <alice> me too"
    assert not any("\x00" in line or "\x1b" in line or "clear your screen" in line for line in alice.seen + bob.seen)
    assert daemon.alive


def test_telnet_negotiation_is_refused(line_client):
    """DO/WILL options get WONT/DONT answers, and the connection keeps working."""
    c = line_client()
    c.expect("Choose a nick")
    c.send_raw(b"\xff\xfd\x01\xff\xfb\x18")  # DO ECHO, WILL TERMINAL-TYPE
    deadline = time.monotonic() + 5
    while b"\xff\xfc\x01" not in c.buf or b"\xff\xfe\x18" not in c.buf:
        assert time.monotonic() < deadline, c.buf
        c._fill(deadline)
    c.buf = c.buf.replace(b"\xff\xfc\x01", b"").replace(b"\xff\xfe\x18", b"")
    c.send("tina")
    c.expect("You are now tina")


def test_endless_line_closes_only_the_abuser(daemon, line_client):
    """A client that keeps sending over-long data is disconnected; others carry on."""
    alice = line_client("alice", "#lobby")
    bob = line_client("bob", "#lobby")
    abuser = line_client()
    chunk = b"B" * 65536
    try:
        for _ in range(64 * 16 + 32):  # over 64 times the 16 KiB line limit
            abuser.send_raw(chunk)
    except OSError:
        pass  # the server closed on us mid-stream: that is the point
    assert abuser.wait_closed(10)
    bob.send("after the flood")
    alice.expect("after the flood")
    assert daemon.alive


def test_sigterm_notifies_clients_and_exits_cleanly(make_daemon):
    """SIGTERM: every client gets a notice line, then the process ends (twistd re-raises SIGTERM)."""
    d = make_daemon()
    alice = LineClient(d.lines_port).login("alice", "#lobby")
    bob = LineClient(d.lines_port).login("bob")
    d.send_signal(signal.SIGTERM)
    alice.expect("shutting down")
    bob.expect("shutting down")
    assert alice.wait_closed() and bob.wait_closed()
    d.proc.wait(15)
    assert d.proc.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in d.log()


def test_quit_tells_the_room(line_client):
    """/quit with a reason: the others see a quit line naming the room, nick and reason."""
    alice = line_client("alice", "#lobby")
    bob = line_client("bob", "#lobby")
    bob.send("/quit off to lunch")
    assert alice.expect("has quit") == "[#lobby] -!- bob has quit (off to lunch)"
    assert bob.wait_closed()


def test_port_in_use_fails_with_one_clear_line(make_daemon, tmp_path):
    """A listener that cannot bind stops the daemon non-zero with a message naming it."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        d = make_daemon({("lines", "listen"): f"tcp:{port}:interface=127.0.0.1"}, start=False)
        with pytest.raises(RuntimeError, match="exited"):
            d.start(timeout=20)
        assert d.proc.returncode != 0
        assert f"cannot listen for lines on tcp:{port}" in d.log()
        assert "Traceback" not in d.log()
    finally:
        blocker.close()
