"""
Login throttling (L{chatd.core.attempts}): failures per account or address
in a sliding window on a fake clock, and bounded memory.
"""

import pytest
from twisted.internet.task import Clock

from chatd.core.attempts import Attempts
from chatd.core.errors import TooManyAttempts


def refusal(attempts, key):
    """The message of the refusal C{check} gives C{key}, or None if it lets it try."""
    try:
        attempts.check(key)
    except TooManyAttempts as e:
        assert e.code == "too-many-attempts"
        return e.message
    return None


def fail(attempts, clock, key, times, every=1.0):
    for _ in range(times):
        attempts.check(key)
        attempts.failed(key)
        clock.advance(every)


def test_accounts_three_failures_a_minute():
    """The core's account limit: three wrong passwords, then a wait until the first is a minute old."""
    clock = Clock()
    attempts = Attempts(clock, limit=3, window=60.0, about="for this account")
    fail(attempts, clock, "alice", 2)
    assert refusal(attempts, "alice") is None
    attempts.failed("alice")  # at t=2
    assert refusal(attempts, "alice") == "Too many failed logins for this account; try again in 58 seconds."
    clock.advance(57.5)
    assert refusal(attempts, "alice") == "Too many failed logins for this account; try again in 1 second."
    clock.advance(0.5)  # the first failure (t=0) is a minute old
    assert refusal(attempts, "alice") is None


def test_addresses_ten_failures_a_minute():
    """The core's address limit: ten failures from one address, whatever the accounts."""
    clock = Clock()
    attempts = Attempts(clock, limit=10, window=60.0, about="from your address")
    fail(attempts, clock, "192.0.2.7", 9, every=5.0)
    assert refusal(attempts, "192.0.2.7") is None
    attempts.failed("192.0.2.7")
    assert refusal(attempts, "192.0.2.7") == "Too many failed logins from your address; try again in 15 seconds."
    assert refusal(attempts, "192.0.2.8") is None


def test_window_slides():
    """Slow guessing is never refused; failures older than the window no longer count."""
    clock = Clock()
    attempts = Attempts(clock, limit=3, window=60.0)
    fail(attempts, clock, "alice", 50, every=30.0)  # two a minute
    assert refusal(attempts, "alice") is None
    fail(attempts, clock, "alice", 2, every=1.0)
    attempts.failed("alice")
    assert refusal(attempts, "alice") == "Too many failed logins; try again in 58 seconds."


def test_success_clears():
    """A good login forgets the key's failures, and only that key's."""
    clock = Clock()
    attempts = Attempts(clock, limit=3, window=60.0)
    fail(attempts, clock, "alice", 3, every=0)
    fail(attempts, clock, "bob", 3, every=0)
    attempts.succeeded("alice")
    assert refusal(attempts, "alice") is None
    assert refusal(attempts, "bob") is not None
    attempts.succeeded("carol")  # never failed: nothing happens
    assert refusal(attempts, "carol") is None


def test_refused_until_the_oldest_counted_failure_leaves():
    """With more failures than the limit, the wait counts from the oldest of the last C{limit}."""
    clock = Clock()
    attempts = Attempts(clock, limit=3, window=60.0)
    for at in (0, 10, 20, 30):
        clock.advance(at - clock.seconds())
        attempts.failed("alice")
    assert refusal(attempts, "alice") == "Too many failed logins; try again in 40 seconds."
    clock.advance(40)
    assert refusal(attempts, "alice") is None


def test_clock_set_back_waits_at_most_the_window():
    """A clock set back (wall time) never makes someone wait longer than the window."""
    clock = Clock()
    clock.advance(1000)
    attempts = Attempts(clock, limit=1, window=60.0)
    attempts.failed("alice")
    clock.rightNow = 0.0
    assert refusal(attempts, "alice") == "Too many failed logins; try again in 60 seconds."


def test_old_keys_are_forgotten():
    """Keys whose failures are all out of the window stop taking memory as new failures come."""
    clock = Clock()
    attempts = Attempts(clock, limit=3, window=60.0)
    for i in range(1000):
        attempts.failed(f"198.51.100.{i}")
    assert len(attempts) == 1000
    clock.advance(61)
    attempts.failed("203.0.113.1")
    assert len(attempts) == 1


def test_at_most_max_keys():
    """A flood of keys within the window keeps at most max_keys, dropping the one that failed longest ago."""
    clock = Clock()
    attempts = Attempts(clock, limit=1, window=60.0, max_keys=100)
    for i in range(250):
        attempts.failed(f"key{i}")
        clock.advance(0.1)
    assert len(attempts) == 100
    assert refusal(attempts, "key149") is None  # dropped
    assert refusal(attempts, "key150") is not None
    assert refusal(attempts, "key249") is not None


def test_failing_again_keeps_a_key():
    """A key that keeps failing is the newest, so a flood of others drops them first."""
    clock = Clock()
    attempts = Attempts(clock, limit=2, window=60.0, max_keys=3)
    attempts.failed("alice")
    attempts.failed("bob")
    attempts.failed("carol")
    attempts.failed("alice")
    attempts.failed("dave")  # drops bob, who failed longest ago
    assert refusal(attempts, "alice") is not None
    attempts.failed("bob")
    assert refusal(attempts, "bob") is None  # one failure: bob was forgotten


@pytest.mark.parametrize("kw", [dict(limit=0, window=60.0), dict(limit=3, window=0), dict(limit=3, window=60.0, max_keys=0)])
def test_bad_settings_refused(kw):
    with pytest.raises(ValueError, match="Login throttling needs"):
        Attempts(Clock(), **kw)
