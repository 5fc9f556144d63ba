# -*- test-case-name: tests.test_admin -*-
"""
The admin commands that act on the whole daemon: C{broadcast} (a notice
to every session) and C{reload} (read the configuration again, as
SIGHUP does).
"""

from typing import Callable, Dict, List

from twisted.internet.defer import maybeDeferred
from twisted.logger import Logger

from chatd.admin.wire import Reply, error, ok
from chatd.core.errors import ChatError
from chatd.core.text import clean_text

log = Logger(namespace="chatd.admin")


class Control:
    """
    Daemon-wide commands.

    @param factory: the L{chatd.admin.protocol.AdminFactory}; its C{reload}
        is read at each command, so it may change.
    """

    def __init__(self, factory) -> None:
        self.factory = factory

    def commands(self) -> Dict[str, Callable[[str, str], object]]:
        return {"broadcast": self.broadcast, "reload": self.reload}

    def broadcast(self, args: str, operator: str) -> Reply:
        hub = self.factory.hub
        try:
            text = clean_text(args, "notice", hub.rules.max_message).strip()
        except ChatError as e:
            return error(e.message)
        if not text:
            return error("usage: broadcast TEXT")
        log.info("Operator {operator} broadcast a notice to {count} sessions: {text}",
                 operator=operator, count=len(hub.sessions), text=text)
        hub.notice(text)
        return ok(f"sent to {len(hub.sessions)} sessions")

    def reload(self, args: str, operator: str):
        """A Deferred of the reply: a reload may wait for files or a store."""
        reload = self.factory.reload
        if reload is None:
            return error("reload is not available here")
        log.info("Operator {operator} asked for a reload", operator=operator)
        return maybeDeferred(reload).addCallback(_reload_reply)


def _reload_reply(report) -> Reply:
    """The reply to C{reload}, from its report lines; a first line starting with C{error} refused it."""
    lines: List[str] = [str(line) for line in (report or [])]
    if lines and lines[0].lower().startswith("error"):
        return error("reload refused, the running configuration stays: " + lines[0].split(":", 1)[-1].strip())
    return ok("reloaded", lines or ["no changes"])
