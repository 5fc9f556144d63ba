# -*- test-case-name: tests.test_service -*-
"""
The front ends chatd serves, one entry each.

An entry says which listeners a configuration asks for and how to build
the protocol factory they serve, with what a reload changes in it.  The
service (L{chatd.service}) binds one listener per endpoint string of each
entry and knows nothing else about them: a new front end is a codec in
L{chatd.wire}, a module here, and one line in L{FRONT_ENDS}.
"""

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

Reload = Callable[[object, object], List[str]]


@dataclass
class Shared:
    """
    What the front ends of one daemon share.

    @ivar hub: the L{chatd.core.hub.Hub}.
    @ivar gate: the connection gate every client listener counts against.
    @ivar turn: the per-reactor-turn write coalescing (L{chatd.frontends.outbox.Turn}).
    @ivar bans: the operators' address bans.
    @ivar reload: the daemon's reload, for the admin socket's C{reload}.
    @ivar cluster: the node's L{chatd.cluster.node.ClusterNode} when
        C{[cluster]} is configured (its Redis link, its name, the other
        nodes' liveness), else None.
    """

    hub: object
    reactor: object
    gate: object
    turn: object
    bans: object
    reload: Callable[[], List[str]]
    cluster: object = None


@dataclass
class Built:
    """
    A front end as built: the factory its listeners serve, and its reload
    (old, new config) -> report.  C{outer}, if given, wraps each
    listener's factory outside TLS (a PROXY protocol header comes before
    the TLS handshake).
    """

    factory: object
    reload: Reload = field(default=lambda old, new: [])
    outer: Optional[Callable[[object], object]] = None


@dataclass(frozen=True)
class FrontEnd:
    """
    @ivar name: the front end's name in logs and errors (C{lines}, C{web}).
    @ivar endpoints: the endpoint strings a configuration asks for.
    @ivar build: makes the front end from the configuration and what is shared.
    """

    name: str
    endpoints: Callable[[object], Tuple[str, ...]]
    build: Callable[[object, Shared], Built]


def front_ends() -> Tuple[FrontEnd, ...]:
    """Every front end chatd has (imported here, so the service imports none of them)."""
    from chatd.admin.protocol import FRONT_END as admin
    from chatd.frontends.irc import FRONT_END as irc
    from chatd.frontends.lines import FRONT_END as lines
    from chatd.frontends.web import FRONT_END as web
    from chatd.metrics import FRONT_END as metrics

    return (lines, irc, web, metrics, admin)
