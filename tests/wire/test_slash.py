"""
The slash commands of accounts and moderation (docs/accounts.md), as a
terminal user types them: every form parses into its core command, and
every form typed wrong is refused with C{usage} and the right form.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatd.core import commands as cmd
from chatd.wire import lines as wire
from chatd.wire.lines import parse, parse_duration

from accountsdoc import ACCOUNTS_DOC


@pytest.mark.parametrize(
    "line, command",
    [
        # accounts
        ("/register hunter22", cmd.Register(password="hunter22")),
        ("/register hunter22 alice@example.org", cmd.Register(password="hunter22", email="alice@example.org")),
        ("/REGISTER  hunter22   alice@example.org ", cmd.Register(password="hunter22", email="alice@example.org")),
        ("/login alice hunter22", cmd.Login(account="alice", password="hunter22")),
        ("/identify hunter22", cmd.Login(password="hunter22")),
        ("/identify alice hunter22", cmd.Login(account="alice", password="hunter22")),
        ("/logout", cmd.Logout()),
        ("/passwd hunter22 battery-staple", cmd.Passwd(old="hunter22", new="battery-staple")),
        ("/ghost alice", cmd.Ghost(nick="alice")),
        ("/drop hunter22", cmd.Drop(password="hunter22")),
        ("/whois bob", cmd.Whois(nick="bob")),
        ("/join #den secret", cmd.Join(room="#den", key="secret")),
        # registered rooms
        ("/room register", cmd.Room(action="register")),
        ("/room REGISTER", cmd.Room(action="register")),
        ("/room #den register", cmd.Room(room="#den", action="register")),
        ("/room transfer bob", cmd.Room(action="transfer", account="bob")),
        ("/room #den transfer bob", cmd.Room(room="#den", action="transfer", account="bob")),
        ("/room drop", cmd.Room(action="drop")),
        # roles
        ("/op bob", cmd.Op(nick="bob")),
        ("/op #den bob", cmd.Op(room="#den", nick="bob")),
        ("/deop bob", cmd.Deop(nick="bob")),
        ("/voice carol", cmd.Voice(nick="carol")),
        ("/devoice #den carol", cmd.Devoice(room="#den", nick="carol")),
        # kick, ban, mute, invite
        ("/kick bob", cmd.Kick(nick="bob")),
        ("/kick bob spam, again", cmd.Kick(nick="bob", reason="spam, again")),
        ("/kick #den bob spam", cmd.Kick(room="#den", nick="bob", reason="spam")),
        ("/ban spam*", cmd.Ban(mask="spam*")),
        ("/ban spam* 10m", cmd.Ban(mask="spam*", duration=600)),
        ("/ban spam* 10m spam, lots", cmd.Ban(mask="spam*", duration=600, reason="spam, lots")),
        ("/ban spam* spamming", cmd.Ban(mask="spam*", reason="spamming")),
        ("/ban #den ~a:troll 7d trolling", cmd.Ban(room="#den", mask="~a:troll", duration=604800, reason="trolling")),
        ("/ban 2001:db8::/64 30", cmd.Ban(mask="2001:db8::/64", duration=1800)),
        ("/unban spam*", cmd.Unban(mask="spam*")),
        ("/unban #den spam*", cmd.Unban(room="#den", mask="spam*")),
        ("/bans", cmd.Bans()),
        ("/bans #den", cmd.Bans(room="#den")),
        ("/mute bob", cmd.Mute(nick="bob")),
        ("/mute bob 30s", cmd.Mute(nick="bob", duration=30)),
        ("/mute #den bob 2h", cmd.Mute(room="#den", nick="bob", duration=7200)),
        ("/unmute bob", cmd.Unmute(nick="bob")),
        ("/invite carol", cmd.Invite(nick="carol")),
        ("/invite #den carol", cmd.Invite(room="#den", nick="carol")),
        # modes and deleting
        ("/mode", cmd.Mode()),
        ("/mode #den", cmd.Mode(room="#den")),
        ("/mode +t", cmd.Mode(modes="+t")),
        ("/mode -i", cmd.Mode(modes="-i")),
        ("/mode +mt", cmd.Mode(modes="+mt")),
        ("/mode +k secret", cmd.Mode(modes="+k", arg="secret")),
        ("/mode +l 20", cmd.Mode(modes="+l", arg="20")),
        ("/mode #den +k secret", cmd.Mode(room="#den", modes="+k", arg="secret")),
        ("/delete 42", cmd.Delete(id=42)),
        ("/delete #den 42", cmd.Delete(room="#den", id=42)),
        # server operators
        ("/kill spammer", cmd.Kill(nick="spammer")),
        ("/kill spammer flooding the server", cmd.Kill(nick="spammer", reason="flooding the server")),
        ("/announce Restarting at 21:00  UTC", cmd.Announce(text="Restarting at 21:00  UTC")),
        ("/gban 192.0.2.0/24", cmd.ServerBan(mask="192.0.2.0/24")),
        ("/gban 192.0.2.0/24 1d botnet", cmd.ServerBan(mask="192.0.2.0/24", duration=86400, reason="botnet")),
        ("/gban ~a:troll trolling", cmd.ServerBan(mask="~a:troll", reason="trolling")),
        ("/gunban 192.0.2.0/24", cmd.ServerUnban(mask="192.0.2.0/24")),
        ("/gbans", cmd.ServerBans()),
    ],
)
def test_parse(line, command):
    """Each slash form of docs/accounts.md parses to its core command; no room means the current one."""
    assert parse(line) == command


@pytest.mark.parametrize(
    "line, word",
    [
        ("/register", "register"),
        ("/register a b c", "register"),
        ("/login", "login"),
        ("/login alice", "login"),
        ("/login alice my password", "login"),
        ("/identify", "identify"),
        ("/identify alice my password", "identify"),
        ("/passwd old", "passwd"),
        ("/passwd a b c", "passwd"),
        ("/ghost", "ghost"),
        ("/ghost alice bob", "ghost"),
        ("/drop", "drop"),
        ("/drop two words", "drop"),
        ("/whois", "whois"),
        ("/join #den secret extra", "join"),
        ("/room", "room"),
        ("/room #den", "room"),
        ("/room steal", "room"),
        ("/room register now", "room"),
        ("/room transfer", "room"),
        ("/room transfer bob carol", "room"),
        ("/room drop it", "room"),
        ("/op", "op"),
        ("/op #den", "op"),
        ("/op bob carol", "op"),
        ("/devoice", "devoice"),
        ("/kick", "kick"),
        ("/kick #den", "kick"),
        ("/ban", "ban"),
        ("/ban #den", "ban"),
        ("/ban spam* 10x spam", "ban"),
        ("/ban spam* 0 spam", "ban"),
        ("/ban spam* 10w", "ban"),
        ("/ban spam* 9999999m", "ban"),
        ("/unban", "unban"),
        ("/unban a b", "unban"),
        ("/bans everything", "bans"),
        ("/mute", "mute"),
        ("/mute bob forever", "mute"),
        ("/mute bob 0", "mute"),
        ("/mute bob 10m extra", "mute"),
        ("/unmute", "unmute"),
        ("/invite", "invite"),
        ("/mode t", "mode"),
        ("/mode #den k secret", "mode"),
        ("/mode +k a b", "mode"),
        ("/delete", "delete"),
        ("/delete forty-two", "delete"),
        ("/delete -1", "delete"),
        ("/delete 4 2", "delete"),
        ("/delete ٤٢", "delete"),
        ("/delete " + "9" * 19, "delete"),
        ("/kill", "kill"),
        ("/announce", "announce"),
        ("/announce   ", "announce"),
        ("/gban", "gban"),
        ("/gban x 3q", "gban"),
        ("/gunban", "gunban"),
        ("/help everything", "help"),
    ],
)
def test_usage_errors(line, word):
    """A form typed wrong is refused with usage, showing the right form (and what a duration is)."""
    command = parse(line)
    assert isinstance(command, cmd.Refused) and command.error.code == "usage"
    assert command.error.message.startswith(f"Usage: {wire.USAGE[word]}")
    if "duration" in wire.USAGE[word]:
        assert command.error.message.endswith("(durations: 30s, 10m, 2h, 7d, or a number of minutes)")


@pytest.mark.parametrize(
    "text, seconds",
    [("30s", 30), ("1s", 1), ("10m", 600), ("2h", 7200), ("7d", 604800), ("10", 600), ("1", 60),
     ("90", 5400), ("999999d", 999999 * 86400), ("007m", 420)],
)
def test_durations(text, seconds):
    """Durations: s, m, h, d, or a plain number of minutes, in seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "s", "m", "0", "0s", "00m", "-5m", "+5m", "1.5h", "10w", "10M", "1 h", "h1", "٣m", "５m", "²",
             "1000000d", "1e3"],
)
def test_bad_durations(text):
    """Anything else is no duration: zero, units it does not know, signs, fractions, non-ASCII digits, too long."""
    assert parse_duration(text) is None


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 999_999), st.sampled_from(["s", "m", "h", "d", ""]))
def test_every_well_formed_duration_is_its_seconds(n, unit):
    """Any whole number up to six digits with a unit (none: minutes) is that many seconds."""
    size = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}[unit]
    assert parse_duration(f"{n}{unit}") == n * size


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_a_duration_is_a_positive_whole_number_of_seconds_or_none(text):
    """Whatever is typed, a duration is None or at least one second, and never raises."""
    seconds = parse_duration(text)
    assert seconds is None or (isinstance(seconds, int) and 1 <= seconds <= 999_999 * 86400)


def test_every_slash_command_of_the_document_is_known():
    """Every slash command docs/accounts.md names is one the parser knows, with a usage line."""
    words = set(re.findall(r"`/([a-z]+)", ACCOUNTS_DOC))
    assert {"register", "identify", "room", "deop", "mode", "delete", "gbans"} <= words
    for word in words:
        command = parse(f"/{word}")
        assert not (isinstance(command, cmd.Refused) and command.error.code == "unknown-command"), word
        assert word in wire.USAGE, word
