"""
Where the shipped page puts the newest line, measured in real Chromium: in
full view above the message box after joining, after switching rooms, when
a line arrives and when the message box grows (issue 11, defect 7), on a
desktop window and on a phone.
"""

import pytest

from chatclients import LineClient
from test_browser_e2e import browser, sign_in, type_line  # noqa: F401  (browser is a fixture)

#: Resolves once the layout of the last change has been done and painted.
SETTLED = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"

NEWEST = """() => {
  const log = document.querySelector('[data-testid="log"]');
  const lines = log.querySelectorAll('[data-testid="message"]');
  const last = lines[lines.length - 1];
  return {
    text: last.innerText,
    bottom: last.getBoundingClientRect().bottom,
    logBottom: log.getBoundingClientRect().bottom,
    composerTop: document.querySelector('[data-testid="composer"]').getBoundingClientRect().top,
    scrolls: log.scrollHeight > log.clientHeight,
  };
}"""


def assert_newest_in_view(page, text: str) -> None:
    page.locator('[data-testid="log"] [data-testid="message"]', has_text=text).wait_for(timeout=10000)
    page.evaluate(SETTLED)
    seen = page.evaluate(NEWEST)
    assert text in seen["text"], f"the newest line is not {text!r}: {seen}"
    assert seen["scrolls"], f"too little scrollback to test scrolling: {seen}"
    assert seen["bottom"] <= seen["logBottom"] + 0.5, f"the newest line ends below the log's visible bottom: {seen}"
    assert seen["bottom"] <= seen["composerTop"] + 0.5, f"the newest line is under the message box: {seen}"


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_newest_line_is_in_full_view_above_the_message_box(browser, daemon, width, height):
    """Joining, switching rooms, a new line and a growing message box all leave the newest line in view."""
    watcher = LineClient(daemon.lines_port).login("watcher", "#other")
    poster = LineClient(daemon.lines_port).login("poster", "#other")
    for i in range(60):
        poster.send(f"other line {i}")
    watcher.expect("other line 59")
    poster.send("/join #lobby")
    poster.expect("Your current room is #lobby")
    watcher.send("/join #lobby")
    watcher.expect("Your current room is #lobby")
    for i in range(60):
        poster.send(f"lobby line {i}")
    watcher.expect("lobby line 59")

    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, daemon.web_url + "/", "reader")
    assert_newest_in_view(page, "lobby line 59")  # the join's scrollback

    type_line(page, "/join #other")
    assert_newest_in_view(page, "other line 59")  # a new room
    type_line(page, "/join #lobby")
    assert_newest_in_view(page, "lobby line 59")  # back to a room already open

    poster.send("a line that arrives while the reader is at the bottom")
    assert_newest_in_view(page, "a line that arrives while the reader is at the bottom")

    box = page.locator('textarea[name="message"]')
    before = box.bounding_box()["height"]
    box.fill("a long draft that wraps over several lines of the message box " * 6)
    page.evaluate(SETTLED)
    assert box.bounding_box()["height"] > before, "the message box did not grow"
    assert_newest_in_view(page, "a line that arrives while the reader is at the bottom")
    assert problems == [], problems
