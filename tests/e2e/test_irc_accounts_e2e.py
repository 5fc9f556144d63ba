"""
IRC users and chatd accounts and moderation, end to end with a raw IRC
client: SASL PLAIN and C{PASS account:password} log in to an account
registered on telnet; a telnet founder's /kick, /ban and /mute reach IRC
users, and an IRC founder's KICK and MODE +b reach telnet users
(docs/accounts.md, docs/irc.md).
"""

import pytest

from ircclient import prefix

PASSWORD = "correct-horse"


def account_on_telnet(tel, nick, room=None):
    """Register C{nick} as an account from telnet (and C{room}, its founder); leave, so IRC may log in."""
    t = tel(nick)
    assert t.register(PASSWORD) == f"-!- You registered the account {nick} and are logged in to it."
    if room:
        t.send(f"/join {room}")
        t.expect(f"Your current room is {room}")
        t.send("/room register")
        t.shows(f"[{room}] -!- {nick} registered {room}")
    t.send("/quit")
    t.wait_closed()


# -- logging in -----------------------------------------------------------------------------------


def test_sasl_plain_logs_in_to_an_account_registered_on_telnet(irc, tel):
    """CAP REQ sasl, AUTHENTICATE PLAIN: 900 and 903, and the other front ends see the account."""
    account_on_telnet(tel, "sal")
    c = irc("sal", sasl=("sal", PASSWORD))
    logged_in = next(l for l in c.seen if l.command == "900")
    assert logged_in.params[1:3] == [prefix("sal"), "sal"], logged_in.format()
    tom = tel("tom")
    tom.send("/whois sal")
    tom.shows("-!- sal is logged in as sal")


def test_sasl_with_a_wrong_password_gets_904(irc, tel):
    """A wrong password is 904; the client may still register, not logged in."""
    account_on_telnet(tel, "sal")
    c = irc()
    c.cap_ls()
    assert c.cap_req(["sasl"]) == ["sasl"]
    assert c.sasl_plain("sal", "not-the-password").command == "904"
    c.send("CAP END")
    c.send("NICK other")
    c.send("USER other 0 * :Other")
    c.expect("001")
    tom = tel("tom")
    tom.send("/whois other")
    tom.shows("-!- other is not logged in")


def test_pass_account_password_logs_in(irc, tel):
    """PASS account:password (clients without SASL) logs in to the account, as SASL does."""
    account_on_telnet(tel, "sal")
    c = irc("sal", caps=(), password=f"sal:{PASSWORD}")
    if not any(l.command == "900" for l in c.seen):
        c.expect("900")
    tom = tel("tom")
    tom.send("/whois sal")
    tom.shows("-!- sal is logged in as sal")


def test_whois_shows_the_account_and_rooms(irc, tel):
    """WHOIS a logged-in user: 311 (its prefix), 319 (its rooms), 330 (its account), 318."""
    account_on_telnet(tel, "sal")
    tel("tom", "#lobby")
    c = irc("sal", "#lobby", sasl=("sal", PASSWORD))
    c.send("WHOIS tom")
    c.until("318")
    c.send("WHOIS sal")
    lines = {l.command: l for l in c.until("318")}
    assert lines["311"].params[1:4] == ["sal", "~sal", "user/sal"], lines["311"].format()
    assert lines["319"].params[2].split() == ["#lobby"], lines["319"].format()
    assert lines["330"].params[1:3] == ["sal", "sal"], lines["330"].format()


# -- moderation -----------------------------------------------------------------------------------


@pytest.fixture
def den(tel, irc):
    """#den, registered by ann (telnet, its founder); tom (telnet) and ivan (IRC, a guest) in it."""
    ann = tel("ann")
    assert ann.register(PASSWORD).startswith("-!- You registered")
    ann.send("/join #den")
    ann.expect("Your current room is #den")
    ann.send("/room register")
    ann.shows("[#den] -!- ann registered #den")
    tom = tel("tom", "#den")
    ivan = irc("ivan", "#den")
    ann.shows("[#den] -!- ivan has joined")
    ivan.drain()
    return ann, tom, ivan


def test_a_telnet_founder_kicks_an_irc_user(den):
    """/kick on telnet is a KICK from the founder's prefix on IRC; a kick is no ban."""
    ann, tom, ivan = den
    ann.send("/kick ivan flooding")
    kick = ivan.expect("KICK")
    assert (kick.source, kick.params) == (prefix("ann"), ["#den", "ivan", "flooding"])
    tom.shows("[#den] -!- ivan was kicked by ann (flooding)")
    assert ivan.join("#den")[-1].command == "366"


def test_a_telnet_founder_bans_an_irc_user(den):
    """/ban ivan is MODE +b ivan!*@* and a KICK on IRC; joining again gets 474; /unban lets ivan in."""
    ann, tom, ivan = den
    ann.send("/ban ivan")
    mode = ivan.expect("MODE")
    assert (mode.source, mode.params) == (prefix("ann"), ["#den", "+b", "ivan!*@*"])
    kick = ivan.expect("KICK")
    assert kick.params[:2] == ["#den", "ivan"]
    tom.shows("[#den] -!- ivan was kicked by ann (banned)")
    assert ivan.join("#den")[-1].command == "474"
    ivan.send("MODE #den b")
    bans = ivan.until("368")
    assert [l.params[2] for l in bans if l.command == "367"] == ["ivan!*@*"]
    ann.send("/unban ivan")
    ann.shows("[#den] -!- ann lifted the ban on ivan")
    assert ivan.join("#den")[-1].command == "366"


def test_a_telnet_founder_mutes_an_irc_user(den):
    """/mute has no IRC form, but it holds on IRC: the muted user's PRIVMSG gets 404 and reaches nobody."""
    ann, tom, ivan = den
    ann.send("/mute ivan")
    tom.shows("[#den] -!- ann muted ivan")
    ivan.privmsg("#den", "can anyone hear me")
    refused = ivan.expect("404")
    assert refused.params[:2] == ["ivan", "#den"], refused.format()
    ann.send("/unmute ivan")
    tom.shows("[#den] -!- ann unmuted ivan")
    ivan.privmsg("#den", "back again")
    tom.shows("[#den] <ivan> back again")
    assert not any("can anyone hear me" in line for line in tom.seen)


def test_an_irc_guest_may_not_kick(den):
    """KICK from a member without a role is 482, and nobody is kicked."""
    ann, tom, ivan = den
    ivan.send("KICK #den tom :go away")
    refused = ivan.expect("482")
    assert refused.params[1] == "#den", refused.format()
    ann.send("said after the refusal")
    tom.shows("[#den] <ann> said after the refusal")
    assert not any("kicked" in line for line in tom.seen)


@pytest.fixture
def ivy_den(tel, irc):
    """#ivy, registered on telnet by ivy, who then comes back on IRC with SASL; tom (telnet) joins."""
    account_on_telnet(tel, "ivy", "#ivy")
    ivy = irc("ivy", sasl=("ivy", PASSWORD))
    joined = ivy.join("#ivy")
    names = [n for l in joined if l.command == "353" for n in l.params[3].split()]
    assert names == ["@ivy"], names
    tom = tel("tom", "#ivy")
    ivy.expect(lambda l: l.command == "JOIN" and l.source == prefix("tom"))
    return ivy, tom


def test_an_irc_founder_kicks_a_telnet_user(ivy_den):
    """KICK from the founder on IRC is chatd's kick: the telnet user is out of the room."""
    ivy, tom = ivy_den
    ivy.send("KICK #ivy tom :enough")
    tom.shows("[#ivy] -!- tom was kicked by ivy (enough)")
    kick = ivy.expect("KICK")
    assert (kick.source, kick.params) == (prefix("ivy"), ["#ivy", "tom", "enough"])
    tom.send("still here?")
    tom.refused("not-in-room")


def test_an_irc_founder_bans_a_telnet_user_by_nick_mask(ivy_den):
    """MODE +b tom!*@* is chatd's nick ban on tom: out, refused on /join, let in again by MODE -b."""
    ivy, tom = ivy_den
    ivy.send("MODE #ivy +b tom!*@*")
    tom.shows("[#ivy] -!- ivy banned tom")
    tom.shows("[#ivy] -!- tom was kicked by ivy (banned)")
    assert ivy.expect("MODE").params == ["#ivy", "+b", "tom!*@*"]
    tom.send("/join #ivy")
    assert tom.refused("banned") == "You are banned from #ivy."
    ivy.send("MODE #ivy -b tom!*@*")
    assert ivy.expect("MODE").params == ["#ivy", "-b", "tom!*@*"]
    tom.send("/join #ivy")
    tom.expect("Your current room is #ivy")
