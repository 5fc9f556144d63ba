"""
Accounts as IRCv3 shows them, in memory: account-tag on messages,
extended-join, account-notify, for users of any front end.
"""

from ircworld import PASSWORD, only, world  # noqa: F401


def test_account_tag_names_a_logged_in_senders_account(world):
    """A logged-in terminal user's message carries account=; a guest's does not."""
    world.account("bob")
    reader = world.irc_user("reader", "#lobby", caps=("message-tags", "account-tag"))
    bob = world.terminal("bob", "#lobby")
    bob.type(f"/login bob {PASSWORD}", "hello from bob")
    guest = world.terminal("guest", "#lobby")
    guest.type("hello from a guest")
    messages = only(reader.read(), "PRIVMSG")
    assert [(m.params[1], m.tags.get("account")) for m in messages] == [
        ("hello from bob", "bob"), ("hello from a guest", None)]


def test_account_tag_without_message_tags_still_tags_the_account(world):
    world.account("bob")
    reader = world.irc_user("reader", "#lobby", caps=("account-tag",))
    bob = world.terminal("bob")
    bob.type(f"/login bob {PASSWORD}", "/join #lobby", "hi")
    (message,) = only(reader.read(), "PRIVMSG")
    assert message.tags == {"account": "bob"}


def test_extended_join_gives_the_account_and_the_name(world):
    """extended-join: JOIN #room account :realname, * for a guest."""
    world.account("bob")
    reader = world.irc_user("reader", "#lobby", caps=("extended-join",))
    bob = world.irc_user("bob", caps=(), login=True)
    bob.send("JOIN #lobby")
    world.irc_user("guest", "#lobby")
    joins = only(reader.read(), "JOIN")
    assert [(j.source.split("!")[0], j.params) for j in joins] == [
        ("bob", ["#lobby", "bob", "bob"]), ("guest", ["#lobby", "*", "guest"])]


def test_a_plain_join_has_one_parameter(world):
    reader = world.irc_user("reader", "#lobby")
    world.irc_user("guest", "#lobby")
    (join,) = only(reader.read(), "JOIN")
    assert join.params == ["#lobby"]


def test_account_notify_tells_logins_and_logouts(world):
    """A member logging in or out shows as ACCOUNT to clients that asked for account-notify, and to no one else."""
    world.account("bob")
    notified = world.irc_user("notified", "#lobby", caps=("account-notify",))
    plain_client = world.irc_user("plain", "#lobby")
    bob = world.terminal("bob", "#lobby")
    notified.read()
    plain_client.read()
    bob.type(f"/login bob {PASSWORD}")
    bob.type("/logout")
    accounts = only(notified.read(), "ACCOUNT")
    assert [(a.source.split("!")[0], a.params) for a in accounts] == [("bob", ["bob"]), ("bob", ["*"])]
    assert only(plain_client.read(), "ACCOUNT") == []
