# -*- test-case-name: tests.test_admin -*-
"""
C{chatctl}: send one command to chatd's admin socket and print the reply.

    python -m chatd.chatctl [--socket PATH] COMMAND [ARGUMENT...]

Exit status: 0 for an C{ok} reply, 1 for an C{error} reply, 2 when the
daemon cannot be reached (or for a usage error).  A plain blocking
client: it is a command-line tool, not part of the daemon.
"""

import argparse
import os
import socket
import sys
from typing import List, Optional, Sequence, Tuple

from chatd.admin import MULTILINE

DEFAULT_SOCKET = "/run/chatd/admin.sock"


class NoReply(Exception):
    """The daemon closed the connection before the reply was complete."""


def request(path: str, command: str, timeout: float = 30.0) -> Tuple[bool, List[str]]:
    """
    Send C{command}; return whether the reply is C{ok}, and its lines (the
    first line, then any body, without the closing C{.}).

    @raise OSError: the socket cannot be reached.
    @raise NoReply: the connection closed mid-reply.
    @raise ValueError: C{command} holds a line break.
    """
    if "\n" in command or "\r" in command:
        raise ValueError("a command is one line")
    verb = command.split(" ", 1)[0].lower()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(command.encode("utf-8") + b"\n")
        with s.makefile("rb") as replies:
            first = _line(replies)
            lines = [first]
            if first.startswith("ok") and verb in MULTILINE:
                while True:
                    line = _line(replies)
                    if line == ".":
                        break
                    lines.append(line[1:] if line.startswith(".") else line)
    return first.startswith("ok"), lines


def _line(replies) -> str:
    raw = replies.readline()
    if not raw.endswith(b"\n"):
        raise NoReply("chatd closed the connection before replying")
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chatctl",
        description="Send one command to chatd's admin socket; 'help' lists the commands.",
        epilog="Exit status: 0 ok, 1 error reply, 2 cannot reach chatd.",
    )
    parser.add_argument("--socket", default=os.environ.get("CHATD_ADMIN_SOCKET", DEFAULT_SOCKET),
                        help="admin socket path [default: $CHATD_ADMIN_SOCKET or %(default)s]")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait [default: %(default)s]")
    parser.add_argument("command", nargs="+", help="e.g. status, rooms, kick NICK reason, broadcast TEXT")
    options = parser.parse_args(argv)
    command = " ".join(options.command)
    try:
        ok, lines = request(options.socket, command, options.timeout)
    except ValueError as e:
        parser.error(str(e))
    except (OSError, NoReply) as e:
        print(f"chatctl: cannot talk to chatd on {options.socket}: {e}", file=sys.stderr)
        return 2
    print("\n".join(lines), file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
