"""
What a terminal user is shown for the reading commands of accounts and
moderation (/help pages, /mode, /bans, /whois), through the real line
front end and core, in memory.
"""

from chatd.wire import lines as wire

from test_lines import clock, factory, user  # noqa: F401  (fixtures)


def test_help_pages(user):
    """/help points to its pages; /help accounts and /help moderation show them; a page it lacks is a usage error."""
    alice = user("alice")
    alice.type("/help")
    out = alice.output()
    assert out[0] == "Commands:" and any(line.startswith("  /help accounts") for line in out)
    alice.type("/help accounts")
    assert alice.output() == wire.HELP_TOPICS["accounts"]
    alice.type("/help MODERATION")
    assert alice.output() == wire.HELP_TOPICS["moderation"]
    alice.type("/help everything")
    assert alice.output() == ["! usage: Usage: /help [accounts|moderation]"]


def test_reads_are_shown_to_who_asked(user):
    """/mode, /bans and /whois show their answer to the user who asked, and to nobody else."""
    alice = user("alice", "#den")
    bob = user("bob", "#den")
    alice.output()
    alice.type("/mode")
    assert alice.output() == ["[#den] -!- No modes are set", "[#den] -!- Not registered (/room register)"]
    alice.type("/bans #den")
    assert alice.output() == ["[#den] -!- No bans"]
    alice.type("/whois bob")
    assert alice.output() == ["-!- bob is not logged in", "-!- bob is in #den"]
    assert bob.output() == []


def test_a_slash_command_typed_wrong_shows_its_form(user):
    """A moderation command typed wrong is answered with its right form, durations explained."""
    alice = user("alice", "#den")
    alice.type("/mute bob forever")
    assert alice.output() == [
        "! usage: Usage: /mute [#room] NICK [duration] (durations: 30s, 10m, 2h, 7d, or a number of minutes)"
    ]
