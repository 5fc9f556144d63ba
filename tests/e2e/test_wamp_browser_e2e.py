"""
The shipped browser client in real headless Chromium and WAMP clients
(autobahn-js and Autobahn|Python, in their own processes) in #lobby
together: what one side types, the other shows, both ways.
"""

from test_browser_e2e import browser, sign_in, type_line  # noqa: F401  (browser is a fixture)
from wampusers import LOBBY, serializer, wamp  # noqa: F401  (serializer and wamp are fixtures)


def shown(page, nick: str, text: str) -> None:
    """Wait until the page's log shows C{text} from C{nick}, as text."""
    line = page.locator(f'[data-testid="log"] [data-testid="message"][data-from="{nick}"]').filter(has_text=text)
    line.first.wait_for(timeout=10000)


def test_chromium_and_wamp_clients_chat_both_ways(browser, daemon, wamp, tel):
    """Chromium's user and both WAMP libraries see each other's messages, with the same ids as telnet."""
    tom = tel("tom", "#lobby")
    js, py = wamp("js"), wamp("py")
    js.enter("jess")
    py.enter("pyotr")
    page = browser.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, daemon.web_url + "/", "webby")
    page.locator('[data-testid="rooms"] [data-room="#lobby"]').wait_for(timeout=10000)
    tom.shows("[#lobby] -!- webby has joined")

    type_line(page, "hello robots, from <b>chromium</b>")
    from_page = js.said("hello robots, from <b>chromium</b>")
    assert from_page["from"] == "webby"
    assert py.said("hello robots, from <b>chromium</b>")["id"] == from_page["id"]

    js.result("chatd.say", "#lobby", "hello chromium, from autobahn-js")
    shown(page, "jess", "hello chromium, from autobahn-js")
    assert py.publish(LOBBY, "hello chromium, from autobahn-python")["event"] == "published"
    shown(page, "pyotr", "hello chromium, from autobahn-python")
    tom.shows("[#lobby] <pyotr> hello chromium, from autobahn-python")
    assert page.locator('[data-testid="log"] b').count() == 0, "user text must never become HTML"
    assert problems == [], problems
