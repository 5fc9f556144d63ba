# -*- test-case-name: tests.test_admin_chatctl,tests.test_admin -*-
"""
C{chatctl}: send one command to chatd's admin listener and print the reply.

    chatctl [--admin ENDPOINT | --config FILE] COMMAND [ARGUMENT...]

It finds the listener as the daemon describes it: C{--admin} (alias
C{--socket}) takes the same endpoint string as C{twistd chatd --admin}, or
a bare socket path; otherwise C{[admin] listen} in the daemon's tap.cfg
(L{resolve} says in which order it looks).

Exit status: 0 for an C{ok} reply, 1 for an C{error} reply, 2 when the
daemon cannot be reached (or for a usage error).  A plain blocking
client: it is a command-line tool, not part of the daemon.
"""

import argparse
import os
import re
import socket
import sys
from typing import List, Mapping, Optional, Sequence, Tuple

from chatd import config as cfg
from chatd import endpoints
from chatd.admin import wire

DEFAULT_ENDPOINT = "unix:/run/chatd/admin.sock"

#: Where the daemon's tap.cfg is looked for without --config: the working
#: directory (C{make run} uses ./tap.cfg), then the file the systemd unit
#: in contrib/systemd/ runs with.
CONFIG_SEARCH = ("./tap.cfg", "/etc/chatd/tap.cfg")


class NoReply(Exception):
    """The daemon closed the connection before the reply was complete."""


def address(where: str) -> Tuple[int, object]:
    """
    The socket family and address for an admin endpoint string
    (C{unix:/run/chatd/admin.sock:mode=600}, C{tcp:9466:interface=127.0.0.1})
    or a bare socket path.

    @raise ValueError: an endpoint chatctl cannot connect to; the message says why.
    """
    if not re.match(r"[A-Za-z][A-Za-z0-9]*:", where):
        return socket.AF_UNIX, where
    return endpoints.connect_to(where)


def resolve(admin: Optional[str], config: Optional[str], environ: Mapping[str, str],
            search: Sequence[str] = CONFIG_SEARCH) -> Tuple[str, str]:
    """
    Which admin endpoint to use, and where that choice came from: C{admin}
    (the command line), then C{[admin] listen} in C{config} (given on the
    command line), then C{$CHATD_ADMIN_SOCKET}, then C{[admin] listen} in the
    first file of C{search} that exists, then L{DEFAULT_ENDPOINT}.

    @raise cfg.ConfigError: the tap.cfg read cannot be used, or turns the
        admin listener off.
    """
    if admin:
        return admin, "--admin"
    if config:
        return _listen(config), f"[admin] listen in {config}"
    if environ.get("CHATD_ADMIN_SOCKET"):
        return environ["CHATD_ADMIN_SOCKET"], "$CHATD_ADMIN_SOCKET"
    for path in search:
        if os.path.exists(path):
            return _listen(path), f"[admin] listen in {os.path.abspath(path)}"
    return DEFAULT_ENDPOINT, f"the default: no {' or '.join(search)}"


def _listen(path: str) -> str:
    """C{[admin] listen} in the tap.cfg at C{path}, read as the daemon reads it."""
    try:
        endpoint = cfg.load(path, {}).admin
    except cfg.ConfigError as e:
        raise cfg.ConfigError(f"{e} (chatctl reads [admin] listen there; --admin ENDPOINT skips the file)")
    if not endpoint:
        raise cfg.ConfigError(
            f"{os.path.abspath(path)} turns chatd's admin listener off ([admin] listen is empty): set it there "
            "and restart chatd, or, if chatd was started with --admin ENDPOINT, give chatctl the same --admin ENDPOINT."
        )
    return endpoint


def request(where: str, command: str, timeout: float = 30.0) -> Tuple[bool, List[str]]:
    """
    Send C{command} to the admin listener at C{where} (an endpoint string or
    a socket path); return whether the reply is C{ok}, and its lines (the
    first line, then any body, without the closing C{.}).

    @raise OSError: the listener cannot be reached.
    @raise NoReply: the connection closed mid-reply.
    @raise ValueError: C{command} holds a line break, or C{where} is not an
        endpoint chatctl can connect to.
    """
    data = wire.request(command)
    family, target = address(where)
    verb, _ = wire.parse_request(data) or ("", "")
    reader = wire.ReplyReader(verb)
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(target)
        s.sendall(data)
        reply = None
        while reply is None:
            received = s.recv(65536)
            if not received:
                raise NoReply("chatd closed the connection before replying")
            reply = reader.feed(received)
    return reply.ok, [reply.first, *reply.body]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chatctl",
        description="Send one command to chatd's admin listener; 'help' lists the commands.",
        epilog=(
            "Where chatd is: --admin; else [admin] listen in --config FILE; else $CHATD_ADMIN_SOCKET; "
            f"else [admin] listen in the first of {', '.join(CONFIG_SEARCH)} that exists; else {DEFAULT_ENDPOINT}. "
            "Exit status: 0 ok, 1 error reply, 2 cannot reach chatd."
        ),
    )
    parser.add_argument("--admin", "--socket", dest="admin", metavar="ENDPOINT",
                        help="the admin endpoint as chatd takes it (unix:/run/chatd/admin.sock:mode=600, "
                             "tcp:9466:interface=127.0.0.1), or a socket path")
    parser.add_argument("--config", "-c", metavar="FILE", help="chatd's tap.cfg, to read [admin] listen from")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait [default: %(default)s]")
    parser.add_argument("command", nargs="+", help="e.g. status, rooms, kick NICK reason, broadcast TEXT")
    options = parser.parse_args(argv)
    command = " ".join(options.command)
    if "\n" in command or "\r" in command:
        parser.error("a command is one line")
    try:
        where, source = resolve(options.admin, options.config, os.environ)
    except cfg.ConfigError as e:
        print(f"chatctl: {e}", file=sys.stderr)
        return 2
    try:
        ok, lines = request(where, command, options.timeout)
    except ValueError as e:
        print(f"chatctl: cannot use {where} ({source}): {e}", file=sys.stderr)
        return 2
    except (OSError, NoReply) as e:
        why = getattr(e, "strerror", None) or str(e) or type(e).__name__
        print(f"chatctl: cannot talk to chatd on {where} ({source}): {why}", file=sys.stderr)
        return 2
    print("\n".join(lines), file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
