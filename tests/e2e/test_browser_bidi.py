"""
Right-to-left text in the shipped page, in real Chromium (issue 11,
defect 6): each nick, message, topic and member name sits in its own bidi
isolate, so Hebrew letters, or an isolate a user leaves open, reorder
nothing around them; and the page refuses the embedding and override
controls (U+202A to U+202E) as the server does.
"""

from chatclients import LineClient
from test_browser_e2e import browser, sign_in, type_line  # noqa: F401  (browser is a fixture)

NICK = "דני"  # Hebrew: dani
TEXT = "שלום עולם"  # hello world
WAVES = "מנופף"  # waves
TOPIC = "נושא"  # topic
RLI = "\u2067"  # RIGHT-TO-LEFT ISOLATE, left open on purpose

#: Where a piece of text is drawn, and the element that holds it, in the
#: last element that matches the selector and says what `within` says.
PIECE = """([selector, needle, within]) => {
  const root = [...document.querySelectorAll(selector)].filter((e) => e.textContent.includes(within)).pop();
  if (!root) return null;
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + needle.length);
    const box = range.getBoundingClientRect();
    const holder = node.parentElement;
    window.__pieces = window.__pieces || [];
    window.__pieces.push(holder);
    return {
      left: box.left, right: box.right, top: box.top, bottom: box.bottom,
      isolated: holder.tagName === 'BDI' || getComputedStyle(holder).unicodeBidi === 'isolate',
      holder: window.__pieces.length - 1,
    };
  }
  return null;
}"""

SEPARATE = """([a, b]) => {
  const [x, y] = [window.__pieces[a], window.__pieces[b]];
  return x !== y && !x.contains(y) && !y.contains(x);
}"""


def piece(page, selector, needle, within=""):
    found = page.evaluate(PIECE, [selector, needle, within])
    assert found is not None, f"{needle!r} is not shown in {selector}"
    return found


def assert_own_isolates(page, selector, nick, text):
    """The nick and the text are each in an isolating element, neither inside the other."""
    who, said = piece(page, selector, nick), piece(page, selector, text)
    assert who["isolated"], f"the nick {nick!r} in {selector} is not in a bidi isolate"
    assert said["isolated"], f"the text {text!r} in {selector} is not in a bidi isolate"
    assert page.evaluate(SEPARATE, [who["holder"], said["holder"]]), "the nick and the text share an isolate"
    return who, said


def test_right_to_left_text_reorders_nothing_around_it(browser, daemon):
    page = browser.new_context(viewport={"width": 1100, "height": 760}).new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, daemon.web_url + "/", "reader")
    page.locator('[data-testid="rooms"] [data-room="#lobby"]').wait_for(timeout=10000)

    dani = LineClient(daemon.lines_port).login(NICK, "#lobby")
    latin = LineClient(daemon.lines_port).login("latin", "#lobby")
    dani.send(TEXT)
    dani.send(f"/me {WAVES} {RLI}לכולם")
    dani.send(f"/topic {RLI}{TOPIC}")
    latin.send("plain text after")
    page.locator('[data-testid="message"][data-from="latin"]', has_text="plain text after").wait_for(timeout=10000)
    page.locator(f'[data-testid="members"] [data-nick="{NICK}"]').wait_for(timeout=10000)

    # A message: nick, time and text keep the places they have on a Latin line.
    said = f'[data-testid="message"][data-from="{NICK}"][data-kind="message"]'
    who, text = assert_own_isolates(page, said, NICK, TEXT)
    time_ = page.locator(said).locator("time").bounding_box()
    plain = '[data-testid="message"][data-from="latin"]'
    latin_who, latin_text = piece(page, plain, "latin"), piece(page, plain, "plain text after")
    latin_time = page.locator(plain).locator("time").bounding_box()
    assert (who["right"] <= time_["x"]) == (latin_who["right"] <= latin_time["x"]) is True
    assert (text["top"] >= who["bottom"] - 1) == (latin_text["top"] >= latin_who["bottom"] - 1) is True

    # An action: "* דני מנופף ⁧לכולם" reads nick first, then the text, left to right.
    acted = f'[data-testid="message"][data-from="{NICK}"][data-kind="action"]'
    who, text = assert_own_isolates(page, acted, NICK, WAVES)
    assert who["right"] <= text["left"] + 0.5, f"the action's text is drawn before its nick: {who} {text}"

    # The topic, with its isolate left open, does not pull "(set by ...)" into it.
    type_line(page, "/topic")
    page.locator('[data-testid="event"]', has_text="Topic of").wait_for(timeout=10000)
    topic = piece(page, '[data-testid="event"]', TOPIC, within="Topic of")
    setter = piece(page, '[data-testid="event"]', "set by", within="Topic of")
    assert topic["isolated"]
    assert setter["left"] >= topic["right"] - 0.5, f"the topic's open isolate reordered the notice: {topic} {setter}"
    assert piece(page, '[data-testid="topic"]', TOPIC)["isolated"], "the header's topic is not isolated"

    # The member list holds the nick in an isolate too.
    assert piece(page, '[data-testid="members"]', NICK)["isolated"]

    # The page refuses an override as the server does, naming it, and keeps the draft.
    type_line(page, "rtl \u202e override")
    error = page.locator('[data-testid="error"]')
    error.wait_for(timeout=5000)
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE) at position 5" in error.inner_text()
    assert page.input_value('textarea[name="message"]') == "rtl \u202e override"
    assert problems == [], problems
    for client in (dani, latin):
        client.close()
