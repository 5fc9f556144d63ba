# -*- test-case-name: tests.store.test_redis -*-
"""
Ids are never given out twice, even when Redis loses its data.

The cluster record (C{chatd:cluster}) holds an C{epoch}, made once, and a
C{floor}.  Each node keeps the epoch it last saw in its state directory
(C{cluster-epoch}).  A node that finds the record gone, or naming another
epoch, knows that Redis lost chatd's data (a restart without its
append-only file, a FLUSHALL, another Redis): the floor becomes the
current time in milliseconds, and every room record made from then on
starts its ids above it, with everything below counted as pruned, so a
client resuming from an old id is told its history is truncated rather
than given someone else's message under that id.  Room records made
while a node runs go through the same check (C{make_room} in
C{common.lua}).
"""

import os
from typing import Optional

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from chatd.store import redis_keys as keys

log = Logger(namespace="chatd.store")

#: The file, in the node's state directory.
FILE = "cluster-epoch"


def _new() -> str:
    return os.urandom(8).hex()


class Epoch:
    """
    The cluster's epoch as this node knows it.

    @param state_dir: the node's state directory, or None to keep nothing
        (then only a record gone while the node runs is noticed).
    """

    def __init__(self, state_dir: Optional[str], where: str) -> None:
        self.where = where
        self.path = os.path.join(state_dir, FILE) if state_dir else None
        self.known = ""
        #: What a node offers when it makes the record: used once.
        self.candidate = _new()
        self.floor = 0

    def _read(self) -> str:
        if self.path is None:
            return ""
        try:
            with open(self.path, encoding="ascii") as f:
                return f.read().strip()
        except (FileNotFoundError, NotADirectoryError):
            return ""
        except (OSError, UnicodeDecodeError) as e:
            raise OSError(f"Cannot read the cluster epoch file {self.path} ({e}); delete it only if"
                          " this node's Redis data is known to be intact.") from e

    def open(self, calls, now: float) -> Deferred:
        """Make or check the cluster record; Deferred firing when this node knows its epoch."""
        self.known = self._read()
        d = calls.script("Opening the store", "cluster", [keys.CLUSTER], [self.candidate, self.known,
                                                                         "%d" % int(now * 1000)])
        return d.addCallback(self._opened)

    def _opened(self, answer) -> None:
        epoch, floor, how = (x.decode() for x in answer)
        self.floor = int(floor)
        before = self.known
        if how == "lost":
            log.warn(
                "Redis at {where} lost chatd's data since this node last used it (cluster epoch {before} is"
                " gone; now {epoch}): rooms made from now on number their messages above {floor}, and clients"
                " resuming from before are told their history is truncated.",
                where=self.where, before=before or "(none)", epoch=epoch, floor=self.floor,
            )
        else:
            log.info("Redis at {where}: chatd cluster epoch {epoch}{new}", where=self.where, epoch=epoch,
                     new=" (a new cluster)" if how == "new" else "")
        self._keep(epoch)

    def learn(self, epoch: bytes) -> None:
        """A script made a room record and found the cluster's epoch changed while this node ran."""
        epoch_text = epoch.decode()
        if epoch_text == self.known:
            return
        log.warn(
            "Redis at {where} lost chatd's data while this node was running (cluster epoch {before} is gone;"
            " now {epoch}): rooms made from now on number their messages above what they gave out before, and"
            " clients resuming from before are told their history is truncated.",
            where=self.where, before=self.known or "(none)", epoch=epoch_text,
        )
        try:
            self._keep(epoch_text)
        except OSError as e:  # the message that told us is stored: its caller must not be told otherwise
            log.error("{error} Until it is written, a restart of this node may not notice that Redis lost data.",
                      error=str(e))

    def _keep(self, epoch: str) -> None:
        if epoch == self.candidate:
            self.candidate = _new()
        before, self.known = self.known, epoch
        if self.path is None or before == epoch:  # the file names it already
            return
        temporary = self.path + ".new"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(temporary, "w", encoding="ascii") as f:
                f.write(epoch + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
        except OSError as e:
            raise OSError(f"Cannot write the cluster epoch file {self.path} ({e.strerror or e}); check that"
                          " chatd may write its state directory.") from e
