# -*- test-case-name: tests.store.test_redis -*-
"""
The Redis store's Lua scripts (chatd/store/scripts/*.lua, shipped in the
wheel): each is loaded once, with C{common.lua} in front, and run by its
SHA-1 with EVALSHA, one round trip per call.

A Redis that restarted, or whose scripts were flushed, answers NOSCRIPT:
the call is sent again with EVAL and the whole text, which runs it and
caches it again, so no call fails for it.
"""

import hashlib
from importlib import resources
from typing import Dict, Sequence

from twisted.internet.defer import Deferred
from txredisapi import ResponseError

_COMMON = "common.lua"


def _text(name: str) -> bytes:
    return resources.files("chatd.store").joinpath("scripts", name).read_bytes()


class Script:
    """One script: its text and its SHA-1."""

    def __init__(self, name: str, text: bytes) -> None:
        self.name = name
        self.text = text
        self.sha = hashlib.sha1(text).hexdigest()

    def __call__(self, conn, keys: Sequence[str], args: Sequence[object]) -> Deferred:
        """Run it on C{conn}; Deferred firing with its answer."""
        d = conn.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        d.addErrback(self._again, conn, keys, args)
        return d

    def _again(self, failure, conn, keys, args):
        if failure.check(ResponseError) and str(failure.value).startswith("NOSCRIPT"):
            return conn.execute_command("EVAL", self.text, len(keys), *keys, *args)
        return failure


def load() -> Dict[str, Script]:
    """Every script, by its name without C{.lua}."""
    common = _text(_COMMON)
    scripts = {}
    for entry in resources.files("chatd.store").joinpath("scripts").iterdir():
        if entry.name.endswith(".lua") and entry.name != _COMMON:
            name = entry.name[: -len(".lua")]
            scripts[name] = Script(name, common + b"\n" + entry.read_bytes())
    return scripts
