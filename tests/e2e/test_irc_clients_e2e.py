"""
irssi and WeeChat, the terminal IRC clients people use, against the real
daemon: each runs in its own tmux server (private socket, private HOME and
config under tmp_path, TZ=UTC), driven by send-keys and read by
capture-pane, polled until the text shows (never a fixed sleep).

Each connects to the IRC port, registers, joins #lobby, shows the scrollback
a telnet user posted before with the messages' own times, sends a line the
telnet and WebSocket users get and shows the lines they send; with SASL set
up in its configuration it logs in to an account registered on telnet.
"""

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from chatclients import LineClient, WSUser, of
from lacking import lacking

PASSWORD = "correct-horse"


def need(*tools):
    """In CI a missing tool fails the test; elsewhere it skips with the reason."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = f"needs {' and '.join(missing)} (apt-get install {' '.join(missing)})"
        lacking(message)


class Terminal:
    """A program on an 200x50 terminal: a detached tmux session on its own socket."""

    def __init__(self, workdir: Path, argv, env) -> None:
        self.socket = str(workdir / "tmux.sock")
        environment = " ".join(f"{k}={v}" for k, v in env.items())
        command = f"env {environment} {' '.join(argv)}"
        self.tmux("new-session", "-d", "-x", "200", "-y", "50", "-s", "t", command)

    def tmux(self, *args) -> str:
        done = subprocess.run(["tmux", "-f", "/dev/null", "-S", self.socket, *args],
                              capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, f"tmux {args[0]}: {done.stderr.strip()}"
        return done.stdout

    def type(self, text: str) -> None:
        """Type a line (literally) and press Enter."""
        self.tmux("send-keys", "-t", "t", "-l", text)
        self.tmux("send-keys", "-t", "t", "Enter")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-t", "t")

    def wait(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """Poll the screen until C{pattern} (a regex) shows; return its match."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            found = regex.search(text)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never showed; the screen:\n{text}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10)


class Irssi:
    """irssi 1.4, configured by its config and startup files in a home of its own."""

    name = "irssi"

    @staticmethod
    def line(nick: str, text: str) -> str:
        return rf"^(\d\d:\d\d:\d\d) <[ @+]?{re.escape(nick)}> {re.escape(text)}\s*$"

    @staticmethod
    def start(workdir: Path, port: int, nick: str, sasl=None) -> Terminal:
        home = workdir / "irssi"
        home.mkdir()
        # irssi queues commands past its first five, one each 2.2 s: the join
        # would wait 5 s.  Tests may send as fast as they like.
        chatnet = 'type = "IRC"; cmdspeed = "1"; cmdmax = "100";'
        if sasl:
            chatnet += f' sasl_mechanism = "PLAIN"; sasl_username = "{sasl[0]}"; sasl_password = "{sasl[1]}";'
        (home / "config").write_text(
            f'servers = ( {{ address = "127.0.0.1"; chatnet = "chatd"; port = "{port}"; use_tls = "no";'
            ' autoconnect = "yes"; } );\n'
            f"chatnets = {{ chatd = {{ {chatnet} }}; }};\n"
            'channels = ( { name = "#lobby"; chatnet = "chatd"; autojoin = "yes"; } );\n'
            f'settings = {{ core = {{ real_name = "{nick} in a test"; user_name = "{nick}"; nick = "{nick}"; }}; }};\n'
        )
        # show_server_time: a line's time is the message's (server-time), not when it arrived.
        (home / "startup").write_text("/set timestamp_format %H:%M:%S\n/set show_server_time on\n")
        return Terminal(workdir, ["irssi", f"--home={home}"], {"TZ": "UTC", "HOME": str(workdir)})

    @staticmethod
    def show(term: Terminal, room: str) -> None:
        """irssi stays in its status window after an autojoin: go to the room's."""
        term.type(f"/window goto {room}")
        term.wait(rf"\[\d+:chatd/{re.escape(room)}")


class WeeChat:
    """WeeChat, set up by commands on its command line (-r) in a directory of its own."""

    name = "weechat"

    @staticmethod
    def line(nick: str, text: str) -> str:
        return rf"(\d\d:\d\d:\d\d)\s+[@+]?{re.escape(nick)}\s*[|│] {re.escape(text)}\s*$"

    @staticmethod
    def start(workdir: Path, port: int, nick: str, sasl=None) -> Terminal:
        commands = [
            "/set buflist.look.enabled off", "/bar hide nicklist",
            "/set weechat.look.buffer_time_format %H:%M:%S",
            f"/server add chatd 127.0.0.1/{port} -notls",
            f"/set irc.server.chatd.nicks {nick}", f"/set irc.server.chatd.username {nick}",
            '/set irc.server.chatd.autojoin "#lobby"',
        ]
        if sasl:
            commands += ["/set irc.server.chatd.sasl_mechanism plain",
                         f"/set irc.server.chatd.sasl_username {sasl[0]}",
                         f"/set irc.server.chatd.sasl_password {sasl[1]}"]
        commands.append("/connect chatd")
        home = workdir / "weechat"
        argv = ["weechat", "--dir", str(home), "-r", "'" + "; ".join(commands) + "'"]
        return Terminal(workdir, argv, {"TZ": "UTC", "HOME": str(workdir)})

    @staticmethod
    def show(term: Terminal, room: str) -> None:
        """WeeChat switches to a room's buffer when it joins: wait for its name in the status bar."""
        term.wait(rf"\d+:{re.escape(room)}")


CLIENTS = [Irssi, WeeChat]


@pytest.fixture(params=CLIENTS, ids=[c.name for c in CLIENTS])
def client(request):
    need("tmux", request.param.name)
    return request.param


@pytest.fixture
def terminals():
    opened = []
    yield opened
    for t in opened:
        t.close()


def test_scrollback_and_chat_with_telnet_and_web(client, daemon, terminals, tmp_path):
    """The client shows #lobby's scrollback at the messages' times, and chats with telnet and web users both ways."""
    tom = LineClient(daemon.lines_port).login("tom", "#lobby")
    ws = WSUser(daemon.ws_url, "wendy", "#lobby")
    for n in (1, 2):
        tom.send(f"said before you came {n}")
    for n in (1, 2):
        ws.wait(of("message", text=f"said before you came {n}"))
    history = ws.ask(type="history", room="#lobby")["messages"]
    # Start in a later second than the messages', so a client showing the time
    # it got them (not theirs) would show another time.
    time.sleep(1.001 - time.time() % 1)

    term = client.start(tmp_path, daemon.irc_port, "irs")
    terminals.append(term)
    tom.shows("[#lobby] -!- irs has joined")
    client.show(term, "#lobby")
    for n, message in enumerate(history, 1):
        shown = term.wait(client.line("tom", f"said before you came {n}"))
        assert shown.group(1) == message["ts"][11:19], (shown.group(0), message["ts"])

    term.type(f"hello from {client.name}")
    tom.shows(f"[#lobby] <irs> hello from {client.name}")
    tom.send(f"hello {client.name}, from telnet")
    term.wait(client.line("tom", f"hello {client.name}, from telnet"))
    ws.wait(of("message", text=f"hello from {client.name}", **{"from": "irs"}))
    ws.command(type="say", room="#lobby", text=f"hello {client.name}, from the web")
    term.wait(client.line("wendy", f"hello {client.name}, from the web"))
    screen = term.screen()
    for text in ("said before you came 1", f"hello from {client.name}", f"hello {client.name}, from telnet",
                 f"hello {client.name}, from the web"):
        assert screen.count(text) == 1, f"{text!r} not shown exactly once:\n{screen}"
    ws.close()
    tom.close()


def test_sasl_from_the_client_configuration(client, daemon, terminals, tmp_path):
    """SASL PLAIN set up in the client's configuration logs in to an account registered on telnet."""
    acc = LineClient(daemon.lines_port).login("irs")
    assert acc.register(PASSWORD).startswith("-!- You registered the account irs")
    acc.send("/quit")
    acc.wait_closed()
    tom = LineClient(daemon.lines_port).login("tom", "#lobby")
    term = client.start(tmp_path, daemon.irc_port, "irs", sasl=("irs", PASSWORD))
    terminals.append(term)
    tom.shows("[#lobby] -!- irs has joined")
    client.show(term, "#lobby")
    tom.send("/whois irs")
    tom.shows("-!- irs is logged in as irs")
    term.type("logged in and talking")
    tom.shows("[#lobby] <irs> logged in and talking")
    tom.close()
