"""
A conversation as people expect it today, in the shipped page, in real
Chromium against the real daemon (issue 18): messages over several lines
(Shift+Enter), replies with their quote, reactions, typing indicators,
the server's shutdown notice in a block of its own, and the other person
of a private conversation in the member panel.
"""

import pytest

from chatclients import LineClient, WSUser
from test_browser_accounts import new_page
from test_browser_e2e import browser, sign_in, type_line  # noqa: F401  (browser is a fixture)

WIDE = {"width": 1200, "height": 800}

#: Each chat line of the log: [id, from, its text as written, how many lines it takes on the screen].
LINES = """() => [...document.querySelectorAll('[data-testid="log"] [data-testid="message"]')].map((li) => {
  const text = li.querySelector('.body > bdi.text');
  return [li.dataset.id ? Number(li.dataset.id) : null, li.dataset.from, text ? text.textContent : null,
          text ? new Set([...text.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size : 0];
})"""


@pytest.fixture
def roomy(make_daemon):
    """
    A daemon that lets one address hold many connections: each browser
    context here keeps up to six to load the page's modules, where real
    users each come from an address of their own.
    """
    return make_daemon({("limits", "connections_per_ip"): "100"})


def guest(browser, url: str, nick: str, viewport=WIDE):
    """A page signed in as the guest nick, in #lobby."""
    page = new_page(browser.new_context(viewport=viewport))
    sign_in(page, url, nick)
    page.locator('[data-testid="rooms"] [data-room="#lobby"]:not(.joining)').wait_for(timeout=10000)
    return page


def type_lines(page, *lines: str) -> None:
    """Type lines in the message box as a user does: Shift+Enter between them, Enter at the end."""
    box = page.locator('textarea[name="message"]')
    box.click()
    for i, line in enumerate(lines):
        if i:
            box.press("Shift+Enter")
        box.type(line)
    box.press("Enter")


def line(page, text: str, sender: str = None):
    who = f'[data-from="{sender}"]' if sender else ""
    return page.locator(f'[data-testid="log"] [data-testid="message"]{who}', has_text=text).last


def test_shift_enter_sends_three_lines_another_browser_shows_as_three(browser, daemon):
    url = daemon.web_url + "/"
    alice, bob = guest(browser, url, "alice"), guest(browser, url, "bob")
    box = alice.locator('textarea[name="message"]')
    box.click()
    box.type("lunch at noon?")
    one_line = box.bounding_box()["height"]
    box.press("Shift+Enter")
    box.type("the usual place")
    box.press("Shift+Enter")
    box.type("my treat")
    assert box.input_value() == "lunch at noon?\nthe usual place\nmy treat", "Shift+Enter is a line break, not a send"
    assert box.bounding_box()["height"] > 2 * one_line, "the box grows with its lines"
    box.press("Enter")
    assert box.input_value() == ""

    line(bob, "my treat", "alice").wait_for(timeout=10000)
    [(_, sender, text, boxes)] = bob.evaluate(LINES)
    assert (sender, text, boxes) == ("alice", "lunch at noon?\nthe usual place\nmy treat", 3)
    line(alice, "my treat", "alice").and_(alice.locator(":not([data-pending])")).wait_for(timeout=10000)
    assert [(t, n) for _, _, t, n in alice.evaluate(LINES)] == [("lunch at noon?\nthe usual place\nmy treat", 3)]

    # A pasted text keeps its lines (CR LF included); blank lines at the ends go.
    alice.evaluate("""() => { const box = document.querySelector('textarea[name="message"]');
      box.value = '\\r\\nfirst\\r\\nsecond\\r\\n\\r\\n'; box.dispatchEvent(new Event('input')); }""")
    box.press("End")
    box.press("Enter")
    line(bob, "second", "alice").wait_for(timeout=10000)
    assert bob.evaluate(LINES)[-1][2:] == ["first\nsecond", 2]
    assert alice.problems == [] and bob.problems == [], (alice.problems, bob.problems)


def test_reply_shows_the_quote_and_clicking_it_shows_the_original(browser, daemon):
    url = daemon.web_url + "/"
    ws = WSUser(daemon.ws_url, nick="wendy", room="#lobby")
    for i in range(60):
        ws.command(type="say", room="#lobby", text=f"filler {i}")
    first = ws.command(type="say", room="#lobby", text="the original question\nwith a second line")["id"]
    for i in range(25):
        ws.command(type="say", room="#lobby", text=f"more filler {i}")
    page = guest(browser, url, "replier", viewport={"width": 1200, "height": 600})
    original = page.locator(f'[data-testid="message"][data-id="{first}"]')
    original.wait_for(timeout=10000)
    assert not _in_view(page, original), "the original starts out of view"

    original.hover()
    original.locator("[data-reply-msg]").click()
    bar = page.locator('[data-testid="reply-bar"]')
    assert bar.is_visible() and bar.inner_text().startswith("Replying to wendy: the original question …"), bar.inner_text()
    type_line(page, "the answer")
    assert bar.is_hidden(), "the reply went with the message"
    got = ws.expect(lambda e: e["type"] == "message" and e.get("from") == "replier")
    assert got["reply_to"] == first and got["reply"] == {"nick": "wendy", "text": "the original question …"}, got

    reply = line(page, "the answer", "replier")
    reply.and_(page.locator(":not([data-pending])")).wait_for(timeout=10000)
    quote = reply.locator('[data-testid="reply-quote"]')
    assert quote.inner_text().endswith("wendy: the original question …"), quote.inner_text()
    assert reply.locator(".body > bdi.text").inner_text() == "the answer"
    assert not _in_view(page, original)
    quote.click()
    page.wait_for_function("(id) => { const li = document.querySelector(`[data-id=\"${id}\"]`);"
                           " const r = li.getBoundingClientRect(), log = document.querySelector('#log').getBoundingClientRect();"
                           " return r.top >= log.top && r.bottom <= log.bottom; }", arg=first, timeout=5000)
    assert original.get_attribute("data-flash") == "true", "the original is marked for a moment"
    page.wait_for_function(f"() => !document.querySelector('[data-id=\"{first}\"]').dataset.flash", timeout=5000)

    # A reply to a message older than the page holds: the quote says so.
    oldest = ws.command(type="say", room="#lobby", text="ancient", reply_to=3)
    assert oldest["type"] == "ok", oldest
    late = guest(browser, url, "latecomer")
    late_reply = line(late, "ancient", "wendy")
    late_reply.wait_for(timeout=10000)
    assert late.locator('[data-testid="message"][data-id="3"]').count() == 0
    late_reply.locator('[data-testid="reply-quote"]').click()
    late.locator('[data-testid="error"]:not([hidden])', has_text="older than what is shown").wait_for(timeout=5000)
    assert page.problems == [] and late.problems == [], (page.problems, late.problems)


def _in_view(page, locator) -> bool:
    box, log = locator.bounding_box(), page.locator("#log").bounding_box()
    return box is not None and box["y"] >= log["y"] and box["y"] + box["height"] <= log["y"] + log["height"]


def chips(line_locator):
    """The reaction chips under a line: {reaction: (count, pressed)}."""
    return {c.get_attribute("data-react-chip"): (int(c.get_attribute("data-count")), c.get_attribute("aria-pressed") == "true")
            for c in line_locator.locator("[data-react-chip]").all()}


def test_reactions_from_two_users_and_toggling_ones_own(browser, roomy):
    daemon = roomy
    url = daemon.web_url + "/"
    tel = LineClient(daemon.lines_port).login("tel", "#lobby")
    alice, bob = guest(browser, url, "alice"), guest(browser, url, "bob")
    tel.send("react to this")
    target = line(alice, "react to this", "tel")
    target.wait_for(timeout=10000)
    mid = int(target.get_attribute("data-id"))

    target.hover()
    target.locator("[data-react-msg]").click()
    alice.locator('[data-testid="react-picker"] [data-pick="👍"]').click()
    theirs = line(bob, "react to this", "tel")
    theirs.locator('[data-react-chip="👍"][data-count="1"]').wait_for(timeout=10000)
    assert chips(theirs) == {"👍": (1, False)}
    assert theirs.locator('[data-react-chip="👍"]').get_attribute("title") == "alice reacted with 👍"

    theirs.locator('[data-react-chip="👍"]').click()  # bob joins in
    target.locator('[data-react-chip="👍"][data-count="2"]').wait_for(timeout=10000)
    assert chips(target) == {"👍": (2, True)}
    assert target.locator('[data-react-chip="👍"]').get_attribute("title") == "alice and bob reacted with 👍"
    ws = WSUser(daemon.ws_url, nick="wendy", room="#lobby")
    assert ws.command(type="react", room="#lobby", id=mid, reaction="🎉")["type"] == "ok"
    theirs.locator('[data-react-chip="🎉"]').wait_for(timeout=10000)
    assert list(chips(theirs)) == ["👍", "🎉"], "in the order first given"

    target.locator('[data-react-chip="👍"]').click()  # alice takes hers back
    theirs.locator('[data-react-chip="👍"][data-count="1"]').wait_for(timeout=10000)
    assert chips(theirs) == {"👍": (1, True), "🎉": (1, False)}
    target.locator('[data-react-chip="👍"][data-count="1"]').wait_for(timeout=10000)
    assert chips(target) == {"👍": (1, False), "🎉": (1, False)}

    # A new page has them from the history (folded), then live.
    carol = guest(browser, url, "carol")
    fresh = line(carol, "react to this", "tel")
    fresh.locator('[data-react-chip="🎉"]').wait_for(timeout=10000)
    assert chips(fresh) == {"👍": (1, False), "🎉": (1, False)}
    assert alice.problems == [] and bob.problems == [] and carol.problems == []


def test_typing_shows_in_the_other_browser_and_never_in_history(browser, daemon):
    url = daemon.web_url + "/"
    alice, bob = guest(browser, url, "alice"), guest(browser, url, "bob")
    typing = bob.locator('[data-testid="typing"]')
    assert typing.inner_text() == ""
    box = alice.locator('textarea[name="message"]')
    box.click()
    box.type("hello th")
    bob.locator('[data-testid="typing"]', has_text="alice is typing…").wait_for(timeout=5000)
    assert alice.locator('[data-testid="typing"]').inner_text() == "", "not our own"
    box.fill("")  # emptied: done
    bob.wait_for_function("() => document.querySelector('[data-testid=\"typing\"]').textContent === ''", timeout=5000)

    box.type("hello there")
    bob.locator('[data-testid="typing"]', has_text="alice is typing…").wait_for(timeout=5000)
    box.press("Enter")
    line(bob, "hello there", "alice").wait_for(timeout=10000)
    assert typing.inner_text() == "", "the message ends it"

    box.type("still typ")
    bob.locator('[data-testid="typing"]', has_text="alice is typing…").wait_for(timeout=5000)
    bob.reload()
    bob.locator('[data-testid="rooms"] [data-room="#lobby"]:not(.joining)').wait_for(timeout=10000)
    line(bob, "hello there", "alice").wait_for(timeout=10000)
    log = bob.locator('[data-testid="log"]').inner_text()
    assert "typing" not in log, log
    ws = WSUser(daemon.ws_url, nick="reader")
    page = ws.ask(type="history", room="#lobby")
    assert [m["type"] for m in page["messages"]] == ["message"] and "typing" not in str(page), page
    assert alice.problems == [] and bob.problems == []


def test_the_shutdown_notice_stands_apart_from_the_last_speaker(browser, make_daemon):
    d = make_daemon()
    tel = LineClient(d.lines_port).login("tel", "#lobby")
    page = guest(browser, d.web_url + "/", "watcher")
    tel.send("the last words before it goes")
    last = line(page, "the last words", "tel")
    last.wait_for(timeout=10000)
    d.stop()  # tel is still there: the notice comes right after its message
    tel.close()
    notice = page.locator('[data-testid="event"]', has_text="The server is going away")
    notice.wait_for(timeout=10000)
    assert page.evaluate("() => [...document.querySelectorAll('#log .lines > li')].slice(-2).map((li) => li.dataset.testid)") \
        == ["message", "event"], "the notice follows the message"
    above, box = last.bounding_box(), notice.bounding_box()
    text = notice.locator(".event-text").bounding_box()
    assert box["y"] - (above["y"] + above["height"]) >= 8, "a gap between the last message and the notice"
    border = notice.locator(".event-text").evaluate("(e) => getComputedStyle(e).borderTopWidth")
    assert border != "0px" and text["height"] > 0, "the notice is a framed block of its own"
    assert notice.locator("time").is_visible(), "with its own time, unlike a continuation of a message"
    page.screenshot(path=str(d.workdir / "shutdown.png"))


def test_private_conversation_member_panel_shows_the_other_person(browser, daemon):
    url = daemon.web_url + "/"
    tel = LineClient(daemon.lines_port).login("tel", "#lobby")
    page = guest(browser, url, "webby")
    page.locator('[data-testid="members"] [data-member="tel"]').click()
    page.locator('[data-testid="title"]', has_text="tel").wait_for(timeout=5000)
    peer = page.locator('[data-testid="members"] [data-nick="tel"]')
    peer.and_(page.locator('[data-status="online"]')).wait_for(timeout=5000)
    assert page.locator('[data-testid="members"] li').count() == 1
    assert peer.inner_text().split("\n")[-1] == "online"

    tel.send("/away lunch")
    tel.expect("You are marked away: lunch")
    peer.and_(page.locator('[data-status="away"]')).wait_for(timeout=5000)
    assert "away: lunch" in peer.inner_text()
    tel.send("/away")
    peer.and_(page.locator('[data-status="online"]')).wait_for(timeout=5000)
    tel.send("/quit")
    peer.and_(page.locator('[data-status="offline"]')).wait_for(timeout=5000)
    page.locator('[data-testid="rooms"] [data-room="#lobby"]').click()
    assert page.locator('[data-testid="members"] [data-nick="webby"]').count() == 1, "a room lists its members again"
    assert page.problems == []
