# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
IRCv3 capability negotiation and SASL PLAIN, without I/O.

Capabilities are offered in the order of their value to users (see
docs/irc.md); each is one flag on the connection that the renderer or the
command handlers read.
"""

import base64
import binascii
from typing import Dict, Iterable, List, Optional, Tuple

#: The capabilities chatd offers, with their CAP LS 302 values.
CAPABILITIES: Dict[str, str] = {
    "message-tags": "",
    "server-time": "",
    "batch": "",
    "draft/chathistory": "",
    "echo-message": "",
    "labeled-response": "",
    "sasl": "PLAIN",
    "account-tag": "",
    "account-notify": "",
    "extended-join": "",
    "cap-notify": "",
    "multi-prefix": "",
    "userhost-in-names": "",
    "away-notify": "",
    "invite-notify": "",
    "standard-replies": "",
    "draft/multiline": "max-bytes=4000,max-lines=20",
    "draft/read-marker": "",
}

#: Capabilities that change how events are rendered (L{chatd.frontends.irc.render.Profile}).
RENDERING = ("message-tags", "server-time", "account-tag", "extended-join", "draft/multiline")

#: Most bytes of one CAP LS line's capability list before it is continued.
_LS_BUDGET = 400


def ls_lines(version: int, values: Optional[Dict[str, str]] = None) -> List[str]:
    """
    The capability list as C{CAP LS} parameters: several lines (C{*}
    continuation) if long.  C{values} replaces the default values (the
    multiline limits come from the rules in force).
    """
    values = dict(CAPABILITIES, **(values or {}))
    words = [f"{name}={value}" if value and version >= 302 else name for name, value in values.items()]
    out, current = [], []
    for word in words:
        if current and sum(len(w) + 1 for w in current) + len(word) > _LS_BUDGET:
            out.append(" ".join(current))
            current = []
        current.append(word)
    out.append(" ".join(current))
    return out


def request(wanted: str, current: Iterable[str]) -> Tuple[bool, set]:
    """
    A C{CAP REQ}: all or nothing.  Returns (acknowledged, the new set).
    C{-name} removes a capability; C{sasl} cannot be removed once used,
    but chatd lets it go as any other.
    """
    caps = set(current)
    for word in wanted.split():
        remove = word.startswith("-")
        name = word[1:] if remove else word
        if name not in CAPABILITIES:
            return False, set(current)
        if remove:
            caps.discard(name)
        else:
            caps.add(name)
    return True, caps


class SaslError(Exception):
    """The client's AUTHENTICATE exchange is malformed; the message says how."""


class PlainExchange:
    """
    One SASL PLAIN exchange: the client's base64 payload, in 400-byte
    chunks (a chunk shorter than 400, or C{+}, ends it), read as
    C{authzid NUL authcid NUL password}.
    """

    #: Largest payload accepted (an account, a password and separators).
    MAX = 2048

    def __init__(self) -> None:
        self._chunks: List[str] = []

    def feed(self, chunk: str) -> Optional[Tuple[str, str]]:
        """
        Take one AUTHENTICATE parameter; return (account, password) when the
        payload is complete, None while more is expected.

        @raise SaslError: too long, not base64, or not PLAIN's shape.
        """
        if chunk != "+":
            self._chunks.append(chunk)
        if sum(map(len, self._chunks)) > self.MAX:
            raise SaslError("too long")
        if chunk != "+" and len(chunk) == 400:
            return None
        try:
            payload = base64.b64decode("".join(self._chunks), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise SaslError("the payload is not base64 of UTF-8 text")
        parts = payload.split("\0")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise SaslError("PLAIN expects authzid, account and password separated by NUL bytes")
        authzid, account, password = parts
        if authzid and authzid != account:
            raise SaslError("chatd logs in as the account given; leave the authorization identity empty")
        return account, password
