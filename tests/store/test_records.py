# -*- test-case-name: tests.store.test_records -*-
"""Tests for L{chatd.store.records}: room records are values that cannot change under their reader."""

import dataclasses

import pytest

from chatd.store.records import AccountRecord, BanRecord, RoomRecord, Settings, check_role


def test_defaults():
    """A new room has no topic, no settings, no messages and nothing pruned."""
    record = RoomRecord("#a")
    assert (record.name, record.topic, record.topic_by, record.last_id, record.pruned_below) == ("#a", "", "", 0, 0)
    assert record.settings == {} and len(record.settings) == 0


def test_settings_cannot_change():
    """Neither the record nor its settings can be changed, even through the dict they came from."""
    given = {"limit": 5}
    record = RoomRecord("#a", settings=given)
    given["limit"] = 6
    assert record.settings["limit"] == 5
    with pytest.raises(TypeError):
        record.settings["limit"] = 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.topic = "changed"
    assert dataclasses.replace(record, topic="new").settings == {"limit": 5}


def test_records_are_values():
    """Records with the same contents are equal and hash alike; true is not the number 1."""
    one = RoomRecord("#a", "t", "alice", {"moderated": True, "limit": 1})
    two = RoomRecord("#a", "t", "alice", Settings({"limit": 1, "moderated": True}))
    assert one == two and hash(one) == hash(two)
    assert Settings({"x": True}) == {"x": True}
    assert hash(Settings({"x": True})) != hash(Settings({"x": 1}))
    assert sorted(one.settings) == ["limit", "moderated"]
    assert repr(Settings({"limit": 1})) == "Settings({'limit': 1})"


@pytest.mark.parametrize("settings, message", [
    ({"ratio": 0.5}, "Room setting 'ratio' must be text, a whole number or true/false, not float"),
    ({"owners": ["alice"]}, "Room setting 'owners' must be text, a whole number or true/false, not list"),
    ({"nothing": None}, "not NoneType"),
    ({1: "x"}, "A room setting needs a name in text, not int"),
])
def test_bad_settings(settings, message):
    """Only what every store keeps unchanged is a setting value, and each is named."""
    with pytest.raises(TypeError, match=message):
        RoomRecord("#a", settings=settings)


def test_setting_without_name():
    with pytest.raises(ValueError, match="A room setting needs a name"):
        RoomRecord("#a", settings={"": "x"})


@pytest.mark.parametrize("fields, error, message", [
    ({"name": ""}, ValueError, "needs a name"),
    ({"name": None}, TypeError, "name must be text, not NoneType"),
    ({"topic": 5}, TypeError, "topic must be text, not int"),
    ({"last_id": -1}, ValueError, "last_id must be a whole number, 0 or more, not -1"),
    ({"pruned_below": True}, ValueError, "pruned_below must be a whole number"),
])
def test_bad_fields(fields, error, message):
    with pytest.raises(error, match=message):
        RoomRecord(**{"name": "#a", **fields})


@pytest.mark.parametrize("fields, error, message", [
    ({"key": ""}, ValueError, "An account needs a key"),
    ({"password_hash": None}, TypeError, "An account's password_hash must be text, not NoneType"),
    ({"email": None}, TypeError, "An account's email must be text"),
    ({"created": "today"}, TypeError, "An account's created must be POSIX seconds, not str"),
])
def test_bad_account(fields, error, message):
    """An account every store could not keep unchanged is refused, naming the field."""
    with pytest.raises(error, match=message):
        AccountRecord(**{"name": "alice", "key": "alice", "look": "alice", "password_hash": "h", **fields})


@pytest.mark.parametrize("fields, error, message", [
    ({"mask": ""}, ValueError, "A ban needs a mask"),
    ({"since": None}, TypeError, "A ban's since must be POSIX seconds, not NoneType"),
    ({"until": True}, TypeError, "A ban's until must be POSIX seconds, not bool"),
    ({"reason": 3}, TypeError, "A ban's reason must be text, not int"),
])
def test_bad_ban(fields, error, message):
    with pytest.raises(error, match=message):
        BanRecord(**{"mask": "spam*", "by": "alice", "since": 1.0, **fields})


def test_ban_times():
    """Whole seconds and None (for ever) are times too."""
    assert BanRecord("spam*", "alice", 1, until=None).until is None
    assert BanRecord("spam*", "alice", 1, until=2).until == 2


def test_roles():
    for role in ("founder", "operator", "voice", None):
        check_role(role)
    with pytest.raises(ValueError, match="A role is one of founder, operator, voice, or none; not member"):
        check_role("member")
