"""
Password hashing (L{chatd.passwords}): real argon2id, checked away from the
reactor thread, a bounded number at a time.
"""

import time

import pytest
import pytest_twisted
from argon2 import Parameters, Type
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.internet.testing import MemoryReactor
from twisted.logger import formatEvent, globalLogPublisher
from zope.interface.verify import verifyObject

from chatd.core.errors import Unavailable
from chatd.core.interfaces import IPasswordHasher
from chatd.passwords import DEFAULT_PROFILE, TEST_PROFILE, SyncHasher, ThreadedHasher

#: Costs enough (32 MiB, about a tenth of a second) that a hash run on the
#: reactor thread would visibly stop it, cheap enough to keep the suite fast.
MID_PROFILE = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=32768, parallelism=1
)


def result(d):
    """The result of an already fired Deferred."""
    results = []
    d.addBoth(results.append)
    assert results, "the Deferred has not fired"
    return results[0]


def fired(d):
    """Whether a Deferred has its result (C{called} is also true while it waits on another)."""
    seen = []

    def note(r):
        seen.append(True)
        return r

    d.addBoth(note)
    return bool(seen)


@pytest.fixture
def reactor():
    """The global reactor, which pytest-twisted runs (imported late on purpose)."""
    from twisted.internet import reactor as _reactor

    return _reactor


@pytest.fixture
def threaded(reactor):
    """A function making ThreadedHashers on the real reactor, all stopped when the test ends."""
    made = []

    def make(profile=TEST_PROFILE, **kw):
        hasher = ThreadedHasher(reactor, profile, **kw)
        made.append(hasher)
        return hasher

    yield make
    for hasher in made:
        hasher.stop()


@pytest.fixture
def warnings():
    """Log events of chatd.passwords emitted during the test."""
    events = []

    def observe(event):
        if event.get("log_namespace") == "chatd.passwords":
            events.append(event)

    globalLogPublisher.addObserver(observe)
    yield events
    globalLogPublisher.removeObserver(observe)


# -- SyncHasher: what every hasher answers ------------------------------------


def test_round_trip():
    """A password verifies against its hash; any other password does not."""
    hasher = SyncHasher()
    verifyObject(IPasswordHasher, hasher)
    stored = result(hasher.hash("correct horse battery"))
    assert stored.startswith("$argon2id$v=19$")
    assert result(hasher.verify(stored, "correct horse battery")) is True
    assert result(hasher.verify(stored, "correct horse batterY")) is False
    assert result(hasher.verify(stored, "")) is False


def test_salted():
    """Two accounts with one password get different hashes, each verifying."""
    hasher = SyncHasher()
    one, two = result(hasher.hash("hunter22")), result(hasher.hash("hunter22"))
    assert one != two
    assert result(hasher.verify(one, "hunter22")) and result(hasher.verify(two, "hunter22"))


def test_unicode_password():
    """Passwords are any Unicode text; they match exactly."""
    hasher = SyncHasher()
    stored = result(hasher.hash("pässwörd 日本 🔑"))
    assert result(hasher.verify(stored, "pässwörd 日本 🔑")) is True
    assert result(hasher.verify(stored, "passwörd 日本 🔑")) is False


@pytest.mark.parametrize(
    "corrupt, problem",
    [
        ("", "it is not an argon2 hash"),
        ("not a hash at all", "it is not an argon2 hash"),
        ("$argon2id$v=19$m=65536,t=3,p=4$AAAA$BBBB", "argon2 says: Output is too short"),
    ],
)
def test_corrupt_hash_is_a_wrong_password_and_logged(corrupt, problem, warnings):
    """A stored hash argon2 cannot read refuses every password, and the operator is told why."""
    hasher = SyncHasher()
    assert result(hasher.verify(corrupt, "anything")) is False
    assert [formatEvent(e) for e in warnings] == [
        f"A stored password hash is corrupt ({problem}); the password was refused "
        "as a wrong one. The account needs its password set again."
    ]
    assert all(e["log_level"].name == "warn" for e in warnings)


def test_needs_rehash_when_the_profile_changes():
    """A hash made with other costs needs a new hash; one made with these does not."""
    cheap, mid = SyncHasher(TEST_PROFILE), SyncHasher(MID_PROFILE)
    cheap_hash = result(cheap.hash("correct horse battery"))
    assert cheap.needs_rehash(cheap_hash) is False
    assert mid.needs_rehash(cheap_hash) is True
    # ...and the old hash still verifies with the new hasher, so the login
    # that notices can store the new one.
    assert result(mid.verify(cheap_hash, "correct horse battery")) is True
    assert mid.needs_rehash(result(mid.hash("correct horse battery"))) is False
    assert mid.needs_rehash("not a hash") is True


def test_default_profile_is_argon2_cffis():
    """The default is RFC 9106's second recommendation, as docs/accounts.md says."""
    hasher = ThreadedHasher(MemoryReactor())
    stored = result(SyncHasher(DEFAULT_PROFILE).hash("x" * 8))
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hasher.needs_rehash(stored) is False
    hasher.stop()


# -- ThreadedHasher: the bound and the thread -----------------------------------


class Watched:
    """A C{run} hook that starts work only when the test says so, recording what runs."""

    def __init__(self):
        self.running = []
        self.most = 0

    def __call__(self, f, *args):
        d = Deferred()
        self.running.append((d, f, args))
        self.most = max(self.most, len(self.running))
        return d

    def finish_oldest(self):
        d, f, args = self.running.pop(0)
        d.callback(f(*args))


def test_at_most_max_concurrent_at_once():
    """Five logins at once: two run, the others wait, and each starts as one ends, in order."""
    work = Watched()
    hasher = ThreadedHasher(MemoryReactor(), TEST_PROFILE, max_concurrent=2, run=work)
    stored = result(SyncHasher().hash("secret-1"))
    checks = [hasher.verify(stored, f"secret-{i}") for i in range(1, 6)]
    assert len(work.running) == 2
    assert not any(fired(d) for d in checks)
    work.finish_oldest()
    assert len(work.running) == 2 and fired(checks[0]) and not fired(checks[1])
    while work.running:
        work.finish_oldest()
    assert work.most == 2
    assert [result(d) for d in checks] == [True, False, False, False, False]


def test_hashes_and_checks_share_the_bound():
    """A registration waits behind running logins: the bound is on memory, not per kind."""
    work = Watched()
    hasher = ThreadedHasher(MemoryReactor(), TEST_PROFILE, max_concurrent=1, run=work)
    checked = hasher.verify(result(SyncHasher().hash("secret")), "secret")
    hashed = hasher.hash("new secret")
    assert len(work.running) == 1 and not fired(hashed)
    work.finish_oldest()
    assert result(checked) is True and len(work.running) == 1
    work.finish_oldest()
    assert result(SyncHasher().verify(result(hashed), "new secret")) is True
    assert work.most == 1


def test_stopped_hasher_fails_instead_of_hanging():
    """Once stopped (reactor shutdown), running work finishes and queued calls fail with unavailable."""
    work = Watched()
    hasher = ThreadedHasher(MemoryReactor(), TEST_PROFILE, max_concurrent=1, run=work)
    running, queued = hasher.hash("one"), hasher.hash("two")
    hasher.stop()
    work.finish_oldest()
    assert result(running).startswith("$argon2id$")
    failure = result(queued)
    assert failure.check(Unavailable) and failure.value.code == "unavailable"
    assert result(hasher.verify(result(running), "one")).check(Unavailable)


def test_pool_follows_the_reactor():
    """The pool starts when the reactor runs and stops at its shutdown: later calls fail, never hang."""
    reactor = MemoryReactor()
    hasher = ThreadedHasher(reactor, TEST_PROFILE)
    reactor.run()
    [(shutdown, args, kw)] = reactor.triggers["during"]["shutdown"]
    shutdown(*args, **kw)
    assert result(hasher.hash("late")).check(Unavailable)


def test_bad_bound_refused():
    with pytest.raises(ValueError, match="at least 1, not 0"):
        ThreadedHasher(MemoryReactor(), max_concurrent=0)


@pytest_twisted.inlineCallbacks
def test_round_trip_in_threads(threaded):
    """The real pool on the real reactor: hash, verify, refuse, and a corrupt hash."""
    hasher = threaded()
    verifyObject(IPasswordHasher, hasher)
    stored = yield hasher.hash("correct horse battery")
    assert (yield hasher.verify(stored, "correct horse battery")) is True
    assert (yield hasher.verify(stored, "wrong horse battery")) is False
    assert (yield hasher.verify("garbage", "correct horse battery")) is False


@pytest_twisted.inlineCallbacks
def test_reactor_keeps_running_while_hashing(threaded, reactor):
    """
    While four costly hashes run, the reactor keeps ticking: a timer every
    5 ms never waits as long as one hash takes.  Run on the reactor thread,
    each hash would stop the ticks for its whole length.
    """
    started = time.monotonic()
    SyncHasher(MID_PROFILE).hash("measure one")
    one_hash = time.monotonic() - started

    ticks = []
    clock = LoopingCall(lambda: ticks.append(time.monotonic()))
    clock.clock = reactor
    clock.start(0.005)
    hasher = threaded(MID_PROFILE, max_concurrent=2)
    hashes = [hasher.hash(f"password {i}") for i in range(4)]
    assert not any(fired(d) for d in hashes)
    begun = len(ticks)
    stored = yield hashes[0]
    for d in hashes[1:]:
        yield d
    clock.stop()

    during = ticks[begun:]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(during) >= 4, f"only {len(during)} ticks while hashing"
    assert max(gaps) < one_hash, f"the reactor stopped for {max(gaps):.3f} s; one hash takes {one_hash:.3f} s"
    assert (yield hasher.verify(stored, "password 0")) is True
