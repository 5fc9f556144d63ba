# -*- test-case-name: tests.frontends.test_wamp_session -*-
"""
The realm C{chatd} on this node: its sessions, its broker and its dealer.

Shared by every WAMP connection of the web listener; each connection is a
L{chatd.frontends.wamp.peer.WampPeer}.
"""

from dataclasses import dataclass
from typing import Dict, Optional

from autobahn.util import id as random_id
from autobahn.wamp.role import RoleBrokerFeatures, RoleDealerFeatures

from chatd.frontends.wamp.broker import Broker, Encoder
from chatd.frontends.wamp.dealer import Dealer

REALM = "chatd"


@dataclass
class WampLimits:
    """
    Per-session bounds (memory stays bounded per connection).

    @ivar call_timeout: the longest a routed call may run, in seconds.
    @ivar pending_calls: calls one session may have running at once.
    @ivar subscriptions: topics one session may subscribe to.
    @ivar registrations: procedures one session may register.
    @ivar hello_timeout: seconds a new connection has to send HELLO (and
        AUTHENTICATE).
    """

    call_timeout: float = 60.0
    pending_calls: int = 64
    subscriptions: int = 256
    registrations: int = 64
    hello_timeout: float = 30.0


#: What WELCOME says chatd's router does (Autobahn's own feature classes).
ROLES = {
    "broker": RoleBrokerFeatures(publisher_exclusion=True),
    "dealer": RoleDealerFeatures(progressive_call_results=True, call_timeout=True, call_canceling=True),
}


class Router:
    """
    @param hub: the core.
    @param clock: for HELLO and call timeouts.
    @param encoders: by serializer name, how a WAMP message becomes the
        bytes a client of that serializer reads.
    """

    def __init__(self, hub, clock, encoders: Dict[str, Encoder], limits: Optional[WampLimits] = None) -> None:
        self.hub = hub
        self.clock = clock
        self.encoders = encoders
        self.limits = limits = limits or WampLimits()
        self.broker = Broker(encoders)
        self.dealer = Dealer(clock, limits.call_timeout)
        #: Open sessions by WAMP session id.
        self.sessions: Dict[int, object] = {}

    def new_session_id(self) -> int:
        """A random id in [1, 2^53] no open session has (the WAMP spec's global scope)."""
        while True:
            sid = random_id()
            if sid not in self.sessions:
                return sid
