"""
Three kinds of user in one room through the real daemon: an IRC client
(raw socket), a telnet user and the shipped browser client in real
headless Chromium.  Each sees each other's messages exactly once, and the
browser's 3,000-character message reaches IRC whole, split within 512 bytes.
"""

from chatclients import LineClient
from ircclient import IRCClient, prefix, untagged
from test_browser_e2e import browser, sign_in, type_line  # noqa: F401 (browser is a fixture)

MESSAGES = '[data-testid="log"] [data-testid="message"]'


def test_irc_telnet_and_browser_users_chat_in_one_room(browser, daemon, tmp_path):  # noqa: F811
    """IRC, telnet and Chromium users in #lobby: every message reaches the two others, once."""
    tom = LineClient(daemon.lines_port).login("tom", "#lobby")
    ivan = IRCClient(daemon.irc_port)
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        ivan.register("ivan")
        ivan.join("#lobby")
        page = context.new_page()
        problems = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        sign_in(page, daemon.web_url + "/", "webby")
        page.locator('[data-testid="rooms"] [data-room="#lobby"]').wait_for(timeout=10000)
        tom.shows("[#lobby] -!- webby has joined")
        ivan.expect(lambda l: l.command == "JOIN" and l.source == prefix("webby"))

        ivan.privmsg("#lobby", "from irc")
        tom.shows("[#lobby] <ivan> from irc")
        page.locator(f'{MESSAGES}[data-from="ivan"]', has_text="from irc").wait_for(timeout=10000)

        tom.send("from telnet")
        page.locator(f'{MESSAGES}[data-from="tom"]', has_text="from telnet").wait_for(timeout=10000)
        ivan.expect(lambda l: l.command == "PRIVMSG" and l.params == ["#lobby", "from telnet"])

        type_line(page, "from the browser")
        tom.shows("[#lobby] <webby> from the browser")
        line = ivan.expect(lambda l: l.command == "PRIVMSG" and l.params == ["#lobby", "from the browser"])
        assert line.source == prefix("webby")

        long_text = " ".join(f"word{n:04d}" for n in range(400))[:3000]
        type_line(page, long_text)
        tom.shows(f"[#lobby] <webby> {long_text}")
        first_wire = len(ivan.wire)
        parts = ivan.split_message("webby", long_text)
        assert len(parts) > 1
        assert all(len(untagged(raw)) <= 512 for raw in ivan.wire[first_wire:])

        tom.send("the last word")
        ivan.expect(lambda l: l.command == "PRIVMSG" and l.params == ["#lobby", "the last word"])
        page.locator(MESSAGES, has_text="the last word").wait_for(timeout=10000)
        said_on_irc = [l.params[1] for l in ivan.seen + ivan.drain()
                       if l.command == "PRIVMSG" and l.source != prefix("ivan")]
        for text in ("from telnet", "from the browser"):
            assert said_on_irc.count(text) == 1, said_on_irc
        tom.drain()
        for text in ("<ivan> from irc", "<webby> from the browser"):
            assert sum(line.endswith(text) for line in tom.seen) == 1, tom.seen
        shown = [t.strip() for t in page.locator(f"{MESSAGES} .body").all_inner_texts()]
        for text in ("from irc", "from telnet", "from the browser"):
            assert shown.count(text) == 1, (text, shown)
        page.screenshot(path=str(tmp_path / "irc-telnet-browser.png"))
        assert problems == [], problems
    finally:
        context.close()
        ivan.close()
        tom.close()
