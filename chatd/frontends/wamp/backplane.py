# -*- test-case-name: tests.cluster.test_cluster_wamp -*-
"""
Routed calls across a cluster's nodes, through Redis.

A procedure's name is claimed in one hash, C{chatd:wamp:procedures}
(name -> owner node, the node's run nonce and the registration id), by a
Lua script that lets a name go only to one live registration: a name
held by a dead node, or by an earlier run of the same node, is taken
over.  A call to a name registered on another node is published on that
node's channel, C{chatd:wamp:<node>}; the callee's node runs it through
its own dealer (timeouts, cancels and progressive results as on one
node) and publishes each answer back on the caller's node's channel.
Frames are msgpack maps, which carry any WAMP payload either serializer
gave (bytes included).

If the callee's node is gone, PUBLISH reaches no one and the caller gets
C{wamp.error.no_such_procedure} at once; if it dies during the call, the
caller gets C{wamp.error.timeout} after the call's timeout and
L{GRACE} seconds.
"""

import itertools
import secrets
from importlib import resources
from typing import Dict, Optional, Tuple

import msgpack
from twisted.logger import Logger

from chatd.cluster.node import ALIVE
from chatd.frontends.wamp.dealer import CANCELED, KILL, KILLNOWAIT, NO_SUCH_PROCEDURE, TIMEOUT, Answer
from chatd.store.redis_scripts import Script

log = Logger(namespace="chatd.wamp")

PROCEDURES = "chatd:wamp:procedures"
CHANNEL = "chatd:wamp:"
#: Seconds a caller's node waits past the call's timeout before it gives up on the callee's node.
GRACE = 5.0


def _script(name: str) -> Script:
    text = resources.files("chatd.cluster").joinpath("scripts", f"wamp_{name}.lua").read_bytes()
    return Script("wamp_" + name, text)


_CLAIM, _RELEASE = _script("claim"), _script("release")


def _pack(frame: dict) -> bytes:
    return msgpack.packb(frame, use_bin_type=True)


class _Waiting:
    """A call this node's caller made to another node's callee."""

    __slots__ = ("answer", "node", "timer")

    def __init__(self, answer: Answer, node: str, timer) -> None:
        self.answer = answer
        self.node = node
        self.timer = timer


class NodeAnswer(Answer):
    """A call from another node's caller: its answers go back on that node's channel."""

    def __init__(self, backplane: "Backplane", node: str, call: int) -> None:
        self.backplane = backplane
        self.node = node
        self.call = call

    def result(self, args, kwargs, progress: bool = False) -> None:
        if not progress:
            self.backplane.running.pop((self.node, self.call), None)
        self.backplane.send(self.node, {"k": "result", "c": self.call, "a": args, "kw": kwargs, "g": progress})

    def error(self, uri: str, args=None, kwargs=None) -> None:
        self.backplane.running.pop((self.node, self.call), None)
        self.backplane.send(self.node, {"k": "error", "c": self.call, "u": uri, "a": args, "kw": kwargs})


class Backplane:
    """
    This node's side of cluster-wide WAMP procedures.

    @param node: the L{chatd.cluster.node.ClusterNode}.
    @param dealer: this node's L{chatd.frontends.wamp.dealer.Dealer}.
    """

    def __init__(self, node, dealer, clock) -> None:
        self.node = node
        self.dealer = dealer
        self.clock = clock
        self.nonce = secrets.token_hex(8)
        self._calls = itertools.count(1)
        #: Calls of callers here, waiting for another node: by call id.
        self.waiting: Dict[int, _Waiting] = {}
        #: Calls from other nodes' callers, running here: by (node, call id).
        self.running: Dict[Tuple[str, int], NodeAnswer] = {}
        node.link.subscribe(CHANNEL + node.name, self._heard)

    def _owner(self, reg_id: int) -> str:
        return f"{self.node.name}\n{self.nonce}\n{reg_id}"

    # -- registrations -----------------------------------------------------------------

    def claim(self, procedure: str, reg_id: int):
        d = _CLAIM(self.node.link.conn, (), [PROCEDURES, procedure, self.node.name, self.nonce, reg_id, ALIVE])
        return d.addCallback(lambda won: int(won) == 1)

    def release(self, procedure: str, reg_id: int) -> None:
        d = _RELEASE(self.node.link.conn, (), [PROCEDURES, procedure, self._owner(reg_id)])
        d.addErrback(lambda f: log.warn("Could not release the WAMP procedure {procedure} in Redis: {why}; "
                                        "another session may take it over once this node is gone",
                                        procedure=procedure, why=f.getErrorMessage()))

    # -- calls from here -----------------------------------------------------------------

    def call(self, procedure: str, args, kwargs, answer: Answer, timeout: Optional[float], progress: bool) -> None:
        """Find C{procedure}'s node and send it the call; C{answer} hears the outcome."""
        d = self.node.link.conn.execute_command("HGET", PROCEDURES, procedure)

        def found(owner) -> None:
            node = owner.decode("utf-8", "replace").split("\n", 1)[0] if owner else None
            if node is None or node == self.node.name:  # no one, or a stale name of an earlier run of ours
                return answer.error(NO_SUCH_PROCEDURE, [f"No one has registered {procedure}."])
            call = next(self._calls)
            limit = self.dealer.call_timeout if not timeout or timeout <= 0 else min(timeout, self.dealer.call_timeout)
            timer = self.clock.callLater(limit + GRACE, self._lost, call, procedure)
            self.waiting[call] = _Waiting(answer, node, timer)
            frame = {"k": "call", "n": self.node.name, "c": call, "p": procedure, "a": args, "kw": kwargs,
                     "t": timeout, "g": progress}
            self.node.link.publish(CHANNEL + node, _pack(frame)).addCallbacks(
                lambda heard: None if int(heard) else self._end(call, NO_SUCH_PROCEDURE,
                                                                 f"No one has registered {procedure}."),
                lambda f: self._end(call, NO_SUCH_PROCEDURE, f"{procedure} could not be reached: "
                                                             f"{f.getErrorMessage()}"))

        def failed(f) -> None:
            answer.error(NO_SUCH_PROCEDURE, [f"{procedure} could not be looked up: {f.getErrorMessage()}"])

        d.addCallbacks(found, failed)

    def cancel(self, answer: Answer, why: str, mode: str = KILLNOWAIT) -> None:
        """A caller here gave up: the callee's node is told; with C{kill} its answer still comes back."""
        for call, waiting in list(self.waiting.items()):
            if waiting.answer is answer:
                self.send(waiting.node, {"k": "cancel", "n": self.node.name, "c": call, "m": mode, "w": why})
                if mode != KILL:
                    self._end(call, CANCELED, why)

    def _lost(self, call: int, procedure: str) -> None:
        self._end(call, TIMEOUT, f"{procedure} did not answer in time (its node may be gone).")

    def _end(self, call: int, uri: str, why: str) -> None:
        waiting = self.waiting.pop(call, None)
        if waiting is None:
            return
        if waiting.timer.active():
            waiting.timer.cancel()
        waiting.answer.error(uri, [why])

    # -- the channel ------------------------------------------------------------------------

    def send(self, node: str, frame: dict) -> None:
        self.node.link.publish(CHANNEL + node, _pack(frame)).addErrback(
            lambda f: log.warn("Could not send a WAMP {kind} to node {node} (Redis: {why})", kind=frame["k"],
                               node=node, why=f.getErrorMessage()))

    def _heard(self, data: bytes) -> None:
        try:
            frame = msgpack.unpackb(data, raw=False, strict_map_key=False)
            kind = frame["k"]
        except Exception as e:
            log.warn("Dropped a WAMP frame from another node that could not be read: {why}", why=str(e))
            return
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, frame)

    def _call_here(self, frame: dict) -> None:
        node, call = frame["n"], frame["c"]
        answer = NodeAnswer(self, node, call)
        self.running[(node, call)] = answer
        if not self.dealer.invoke_here(frame["p"], frame.get("a"), frame.get("kw"), answer, frame.get("t"),
                                       bool(frame.get("g"))):
            answer.error(NO_SUCH_PROCEDURE, [f"No one has registered {frame['p']}."])

    def _answered(self, frame: dict) -> None:
        call = frame["c"]
        waiting = self.waiting.get(call)
        if waiting is None:
            return
        if frame["k"] == "result":
            if not frame.get("g"):
                self.waiting.pop(call, None)
                if waiting.timer.active():
                    waiting.timer.cancel()
            waiting.answer.result(frame.get("a"), frame.get("kw"), bool(frame.get("g")))
        else:
            self.waiting.pop(call, None)
            if waiting.timer.active():
                waiting.timer.cancel()
            waiting.answer.error(frame["u"], frame.get("a"), frame.get("kw"))

    def _canceled(self, frame: dict) -> None:
        key = (frame["n"], frame["c"])
        answer = self.running.get(key)
        if answer is not None:
            mode = frame.get("m") or KILLNOWAIT
            if mode != KILL:
                self.running.pop(key, None)
            self.dealer.cancel_here(answer, frame.get("w") or "The caller canceled the call.", mode)


_HANDLERS = {
    "call": Backplane._call_here,
    "result": Backplane._answered,
    "error": Backplane._answered,
    "cancel": Backplane._canceled,
}
