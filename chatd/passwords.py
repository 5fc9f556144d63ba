# -*- test-case-name: tests.test_passwords -*-
"""
Account passwords: argon2id hashes, made and checked off the reactor thread.

argon2id is costly on purpose.  One hash at argon2-cffi's default profile
(RFC 9106's second recommendation, C{RFC_9106_LOW_MEMORY}) takes 64 MiB and
about a third of a second of CPU.  On the reactor thread every login would
freeze every connection; without a bound, a burst of logins would take
64 MiB each.  L{ThreadedHasher} runs them in a small pool of its own
threads, at most C{max_concurrent} at once; the others wait their turn in
order.  L{SyncHasher} is the same argon2, synchronous, for the core's unit
tests.

This module is outside L{chatd.core} because it uses threads; the core
sees only L{chatd.core.interfaces.IPasswordHasher}.
"""

from functools import partial
from typing import Callable, Optional

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from twisted.internet.defer import Deferred, DeferredSemaphore, maybeDeferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from chatd.core.errors import Unavailable
from chatd.core.interfaces import IPasswordHasher

log = Logger(namespace="chatd.passwords")

#: argon2-cffi's default: RFC 9106's second recommendation (64 MiB, t=3, p=4).
DEFAULT_PROFILE = profiles.RFC_9106_LOW_MEMORY

#: Almost free, for tests only: never for real passwords.
TEST_PROFILE = profiles.CHEAPEST


def _check(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    """Verify, with a wrong password a plain C{False} (argon2 raises for it)."""
    try:
        return hasher.verify(password_hash, password)
    except VerifyMismatchError:
        return False


def _unreadable(failure: Failure) -> bool:
    """A stored hash argon2 cannot read: tell the operator, refuse the password."""
    error = failure.trap(InvalidHashError, VerificationError)
    if error is InvalidHashError:
        problem = "it is not an argon2 hash"
    else:
        problem = f"argon2 says: {failure.value}"
    log.warn(
        "A stored password hash is corrupt ({problem}); the password was "
        "refused as a wrong one. The account needs its password set again.",
        problem=problem,
    )
    return False


class _Argon2:
    """What both hashers share: the profile, and reading a hash's costs."""

    def __init__(self, profile: Parameters) -> None:
        self._hasher = PasswordHasher.from_parameters(profile)

    def needs_rehash(self, password_hash: str) -> bool:
        # A hash that cannot be read has no costs of ours: it "needs" one,
        # though verify() refuses every password against it anyway.
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


@implementer(IPasswordHasher)
class SyncHasher(_Argon2):
    """
    Real argon2, run at once: every Deferred is already fired.  For the
    core's unit tests, which drive everything on a fake clock; with the
    default cheap profile a hash costs microseconds.
    """

    def __init__(self, profile: Parameters = TEST_PROFILE) -> None:
        super().__init__(profile)

    def hash(self, password: str) -> Deferred:
        return maybeDeferred(self._hasher.hash, password)

    def verify(self, password_hash: str, password: str) -> Deferred:
        d = maybeDeferred(_check, self._hasher, password_hash, password)
        return d.addErrback(_unreadable)


@implementer(IPasswordHasher)
class ThreadedHasher(_Argon2):
    """
    argon2 in a pool of threads of its own, at most C{max_concurrent}
    hashes or checks at once (each takes the profile's memory while it
    runs), the rest queued in order.

    The pool starts with the reactor and stops when the reactor shuts down
    (or at L{stop}); after that, calls fail with
    L{chatd.core.errors.Unavailable} instead of waiting forever.

    @param run: how to run C{f(*args)} away from the reactor thread,
        returning a Deferred of its result; by default in this hasher's own
        thread pool.  Tests give their own to watch what runs when.
    """

    def __init__(
        self,
        reactor,
        profile: Parameters = DEFAULT_PROFILE,
        max_concurrent: int = 2,
        run: Optional[Callable[..., Deferred]] = None,
    ) -> None:
        super().__init__(profile)
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self._reactor = reactor
        self._slots = DeferredSemaphore(max_concurrent)
        self._stopped = False
        self._pool: Optional[ThreadPool] = None
        self._trigger = None
        if run is None:
            self._pool = ThreadPool(minthreads=0, maxthreads=max_concurrent, name="chatd-passwords")
            reactor.callWhenRunning(self._start)
            self._trigger = reactor.addSystemEventTrigger("during", "shutdown", self._shutdown)
            run = partial(deferToThreadPool, reactor, self._pool)
        self._run = run

    def hash(self, password: str) -> Deferred:
        return self._slots.run(self._offload, self._hasher.hash, password)

    def verify(self, password_hash: str, password: str) -> Deferred:
        d = self._slots.run(self._offload, _check, self._hasher, password_hash, password)
        return d.addErrback(_unreadable)

    def stop(self) -> None:
        """
        Stop the pool, waiting for the hashes already running; those still
        queued fail with L{Unavailable}.  Called at reactor shutdown.
        """
        if self._trigger is not None:
            self._reactor.removeSystemEventTrigger(self._trigger)
            self._trigger = None
        self._stop()

    def _offload(self, f, *args) -> Deferred:
        # Called once a slot is free, which may be after stop().
        if self._stopped:
            raise Unavailable("Passwords cannot be checked now: chatd is shutting down.")
        return self._run(f, *args)

    def _start(self) -> None:
        if not self._stopped and self._pool is not None:
            self._pool.start()

    def _shutdown(self) -> None:
        self._trigger = None
        self._stop()

    def _stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._pool is not None:
            self._pool.stop()
