"""
Read markers in the shipped page, in real Chromium against the real
daemon (issue 18): for a logged-in user the account's marker decides the
"New messages" line and the unread counts, on every tab and device, and
reading on one tab clears them on the others. A tab in the background is
one whose window has no focus (Chromium's focus emulation turned off for
it, as when the user switched to another window).
"""

import json
import time

from chatclients import LineClient
from test_browser_accounts import logged_in, new_page, register
from test_browser_e2e import browser, type_line  # noqa: F401  (browser is a fixture)


def to_background(page, elsewhere):
    """
    The tab loses the focus (a `blur`) to the page elsewhere, brought to
    the front; returns what brings the focus back.
    """
    elsewhere.bring_to_front()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    page.wait_for_function("() => !document.hasFocus()", timeout=5000)
    return lambda: cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": True})


def unread_line(page):
    return page.locator('[data-testid="log"] [data-testid="unread-line"]')


def first_after_line(page) -> str:
    """The text of the first line under the "New messages" line."""
    return page.evaluate("""() => { const line = document.querySelector('[data-testid="unread-line"]');
      let next = line.nextElementSibling; while (next && next.dataset.testid !== 'message') next = next.nextElementSibling;
      return next ? next.querySelector('.body > bdi.text').textContent : null; }""")


def room_badge(page, room: str) -> str:
    return page.locator(f'[data-testid="rooms"] [data-room="{room}"]').get_attribute("data-unread")


def reads_sent(page) -> list:
    """The `read` commands the page sends, as they go (over its WebSocket)."""
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(json.loads(f)) if '"read"' in f else None))
    return sent


def read_up_to(sent: list, room: str, page) -> int:
    """Wait until the page told the server it read room; the id it sent."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ids = [c["id"] for c in sent if c.get("type") == "read" and c.get("room") == room and "id" in c]
        if ids:
            return ids[-1]
        page.wait_for_timeout(100)
    raise AssertionError(f"the page sent no read for {room}: {sent}")


def two_tabs(browser, url: str, nick: str, lobby_said: bool = True):
    """Two tabs of one account, both in #lobby, which the first has read (if anything was said there)."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    one = new_page(context)
    one.reads = reads_sent(one)
    register(one, url, nick)
    if lobby_said:
        read_up_to(one.reads, "#lobby", one)
    two = new_page(context)
    two.goto(url)
    logged_in(two, nick)
    return one, two


def test_reading_on_one_tab_clears_the_unread_line_on_the_other(browser, daemon):
    url = daemon.web_url + "/"
    tel = LineClient(daemon.lines_port).login("tel", "#lobby")
    tel.send("seen by both")
    one, two = two_tabs(browser, url, "reader")
    for tab in (one, two):
        tab.locator('[data-testid="message"]', has_text="seen by both").wait_for(timeout=10000)
    elsewhere = one.context.new_page()  # another window the user went to
    back_one, _ = to_background(one, elsewhere), to_background(two, elsewhere)

    tel.send("first while away")
    tel.send("second while away")
    for tab in (one, two):
        tab.locator('[data-testid="message"]', has_text="second while away").wait_for(timeout=10000)
        unread_line(tab).wait_for(timeout=5000)
        assert first_after_line(tab) == "first while away"
        assert unread_line(tab).inner_text() == "New messages"

    back_one()  # the user comes back to the first tab and reads
    unread_line(two).wait_for(state="detached", timeout=10000)
    assert unread_line(one).count() == 1, "the tab that read keeps its line where it was until left"
    assert one.problems == [] and two.problems == [], (one.problems, two.problems)


def test_unread_counts_come_from_the_marker_on_every_tab(browser, daemon):
    url = daemon.web_url + "/"
    tel = LineClient(daemon.lines_port).login("tel", "#side")
    tel.send("before anyone came")
    one, two = two_tabs(browser, url, "counter", lobby_said=False)
    type_line(one, "/join #side")
    for tab in (one, two):
        tab.locator('[data-testid="rooms"] [data-room="#side"]:not(.joining)').wait_for(timeout=10000)
    read_up_to(one.reads, "#side", one)  # the account has read #side up to there
    one.locator('[data-testid="rooms"] [data-room="#lobby"]').click()
    two.locator('[data-testid="rooms"] [data-room="#lobby"]').click()

    for text in ("one", "two", "three"):
        tel.send(text)
    for tab in (one, two):
        tab.locator('[data-testid="rooms"] [data-room="#side"][data-unread="3"]').wait_for(timeout=10000)

    # A new tab (a reload, another device) counts from where the account left off.
    three = new_page(one.context)
    three.goto(url)
    logged_in(three, "counter")
    three.locator('[data-testid="rooms"] [data-room="#side"][data-unread="3"]').wait_for(timeout=10000)

    one.locator('[data-testid="rooms"] [data-room="#side"]').click()  # read there
    for tab in (two, three):
        tab.locator('[data-testid="rooms"] [data-room="#side"][data-unread="0"]').wait_for(timeout=10000)
    one.locator('[data-testid="rooms"] [data-room="#lobby"]').click()
    tel.send("four")
    two.locator('[data-testid="rooms"] [data-room="#side"][data-unread="1"]').wait_for(timeout=10000)
    two.locator('[data-testid="rooms"] [data-room="#side"]').click()
    assert first_after_line(two) == "four", "the line stands above what came since the marker"
    assert room_badge(one, "#lobby") == "0"
    assert one.problems == [] and two.problems == [] and three.problems == []


def test_a_guest_keeps_its_own_counts(browser, daemon):
    """No account, no marker: no `read` is sent, and a reload counts nothing it had not seen live."""
    from test_browser_e2e import sign_in

    tel = LineClient(daemon.lines_port).login("tel", "#side")
    page = new_page(browser.new_context())
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    sign_in(page, daemon.web_url + "/", "guesty")
    type_line(page, "/join #side")
    page.locator('[data-testid="rooms"] [data-room="#side"]:not(.joining)').wait_for(timeout=10000)
    page.locator('[data-testid="rooms"] [data-room="#lobby"]').click()
    tel.send("hello guest")
    page.locator('[data-testid="rooms"] [data-room="#side"][data-unread="1"]').wait_for(timeout=10000)
    page.locator('[data-testid="rooms"] [data-room="#side"]').click()
    page.locator('[data-testid="message"]', has_text="hello guest").wait_for(timeout=10000)
    page.wait_for_timeout(1000)
    assert not any('"type":"read"' in f for f in sent), sent
    assert unread_line(page).count() == 0
