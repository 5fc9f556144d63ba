# -*- test-case-name: tests.test_config,tests.test_admin_chatctl -*-
"""
Endpoint strings as operators write them, in tap.cfg and on the command
line: C{tcp:2323:interface=127.0.0.1}, C{unix:/run/chatd/admin.sock:mode=600}.

L{split} reads one as Twisted does (C{\\} escapes the next character, so
C{tcp6:2323:interface=\\:\\:1} names one address).  L{problem} names the
usual mistakes in tap.cfg's words before Twisted's parsers see them (they
would say C{invalid literal for int()}).  L{connect_to} tells C{chatctl}
where to connect for the daemon's admin listener; L{listen_failure} says
why a listener could not start.  Nothing here imports the reactor.
"""

import errno
import ipaddress
import os
import re
import socket
from typing import Dict, List, Optional, Tuple, Union

#: The endpoint types the docs describe (others from Twisted plugins work too).
DOCUMENTED = ("tcp", "tcp6", "ssl", "unix", "systemd")

_PORTED = ("tcp", "tcp6", "ssl")
_FILES = ("privateKey", "certKey", "extraCertChain", "dhParameters")
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


def split(description: str) -> Tuple[str, List[str], Dict[str, str]]:
    """
    The type, positional fields and C{key=value} fields of an endpoint
    string: C{"unix:/a\\:b.sock:mode=600"} is
    C{("unix", ["/a:b.sock"], {"mode": "600"})}.
    """
    fields: List[Tuple[Optional[str], str]] = []
    key: Optional[str] = None
    current: List[str] = []
    chars = iter(description)
    for c in chars:
        if c == "\\":
            current.append(next(chars, ""))
        elif c == ":":
            fields.append((key, "".join(current)))
            key, current = None, []
        elif c == "=" and key is None:
            key, current = "".join(current), []
        else:
            current.append(c)
    fields.append((key, "".join(current)))
    args = [value for key, value in fields if key is None]
    kwargs = {key: value for key, value in fields if key is not None}
    kind = args.pop(0) if args and fields[0][0] is None else ""
    return kind, args, kwargs


def _field(args: List[str], kwargs: Dict[str, str], index: int, name: str) -> Optional[str]:
    """A field given by position or by name (C{tcp:80} or C{tcp:port=80})."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _interface(kind: str, args: List[str], kwargs: Dict[str, str]) -> str:
    """The interface field: Twisted's tcp: takes it second, tcp6: third, ssl: by name only."""
    position = {"tcp": 1, "tcp6": 2}.get(kind)
    if position is None:
        return kwargs.get("interface", "")
    return _field(args, kwargs, position, "interface") or ""


def problem(description: str, known: Tuple[str, ...] = DOCUMENTED) -> Optional[str]:
    """
    What is wrong with C{description}, as a sentence for an operator, or
    C{None} when nothing obvious is (Twisted's parser still has the last word).

    @param known: every endpoint type the daemon can listen on.
    """
    kind, args, kwargs = split(description)
    if not kind:
        return "it names no endpoint type; write e.g. tcp:2323:interface=127.0.0.1"
    if kind not in known:
        return f"'{kind}' is not an endpoint type; use one of {', '.join(t + ':' for t in DOCUMENTED)}"
    if kind == "unix" and not _field(args, kwargs, 0, "address"):
        return "a unix: endpoint needs a socket path, e.g. unix:/run/chatd/admin.sock:mode=600"
    if "" in args:
        return ("it has an empty field (':' twice in a row, or at the end); an IPv6 address needs "
                "its colons escaped, as in tcp6:2323:interface=\\:\\:1")
    if kind in _PORTED:
        return _port_problem(kind, args, kwargs)
    if kind == "unix":
        mode = _field(args, kwargs, 1, "mode")
        if mode is not None and not re.fullmatch(r"[0-7]{1,4}", mode):
            return f"mode={mode}: the mode must be octal permission bits such as 600 or 660"
    return None


def _port_problem(kind: str, args: List[str], kwargs: Dict[str, str]) -> Optional[str]:
    port = _field(args, kwargs, 0, "port")
    if port is None:
        return f"it names no port; write e.g. {kind}:2323"
    if not re.fullmatch(r"[0-9]{1,5}", port) or int(port) > 65535:
        return "the port must be a number from 0 to 65535"
    interface = _interface(kind, args, kwargs)
    if interface:
        wanted = 6 if kind == "tcp6" else 4
        try:
            version = ipaddress.ip_address(interface).version
        except ValueError:
            version = None
        if version is not None and version != wanted:
            return (f"interface={interface} is an IPv6 address: listen with tcp6:, and escape its colons "
                    "(tcp6:2323:interface=\\:\\:1)" if version == 6 else
                    f"interface={interface} is an IPv4 address: listen with tcp: (tcp:2323:interface={interface})")
        if version is None and (not _HOSTNAME.fullmatch(interface) or interface.replace(".", "").isdigit()):
            return f"interface={interface} is not an IPv{wanted} address"
    if kind == "ssl":
        if "privateKey" not in kwargs and "certKey" not in kwargs:
            return "an ssl: endpoint needs privateKey=FILE (and certKey=FILE if the certificate is in its own file)"
        for key in _FILES:
            path = kwargs.get(key)
            if path is not None and not os.path.isfile(path):
                return f"{key}={path}: there is no such file"
            if path is not None and not os.access(path, os.R_OK):
                return f"{key}={path}: this file cannot be read (permission denied)"
    return None


Address = Union[str, Tuple[str, int]]


def connect_to(description: str) -> Tuple[int, Address]:
    """
    The socket family and address a client connects to for a listener
    described by C{description}: a C{unix:} path, or the C{tcp:}/C{tcp6:}
    port on its interface (loopback when it listens on every address).

    @raise ValueError: a listener a plain client cannot find from the string
        alone (C{systemd:}, C{ssl:}...), or a malformed one; the message says why.
    """
    kind, args, kwargs = split(description)
    if kind in DOCUMENTED and kind not in ("unix", "tcp", "tcp6"):
        raise ValueError(f"chatctl connects to unix: and tcp: admin endpoints only, not {kind}:; "
                         "give it the socket's path or address with --admin")
    wrong = problem(description)
    if wrong:
        raise ValueError(wrong)
    if kind == "unix":
        return socket.AF_UNIX, _field(args, kwargs, 0, "address") or ""
    port = int(_field(args, kwargs, 0, "port") or 0)
    host = _interface(kind, args, kwargs)
    if kind == "tcp6":
        return socket.AF_INET6, (host if host not in ("", "::") else "::1", port)
    return socket.AF_INET, (host if host not in ("", "0.0.0.0") else "127.0.0.1", port)


#: What to check when a listener cannot start, by the socket error's errno.
_LISTEN_HINTS = {
    errno.EADDRINUSE: "another program, or another chatd, listens there already",
    errno.EACCES: "ports below 1024 need root or CAP_NET_BIND_SERVICE; a unix socket needs a directory chatd may write to",
    errno.EADDRNOTAVAIL: "no network interface of this machine has that address",
    errno.ENOENT: "the socket's directory does not exist",
    socket.EAI_NONAME: "interface= must be an address or name of this machine",
}


def listen_failure(error: BaseException) -> str:
    """
    Why a listener could not start, in words: C{Address already in use
    (another program, or another chatd, listens there already)}, not
    Twisted's C{Couldn't listen on ...: [Errno 98] ...}.
    """
    cause = getattr(error, "socketError", None) or error  # CannotListenError wraps the socket's error
    why = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    hint = _LISTEN_HINTS.get(getattr(cause, "errno", None))
    return f"{why} ({hint})" if hint else why
