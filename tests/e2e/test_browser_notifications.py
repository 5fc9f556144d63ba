"""
Desktop notifications in the shipped page, in real Chromium (issue 13):
the browser is asked for permission only when the user presses the bell,
never on load; once allowed, a private message or a mention that arrives
while the page is hidden shows a notification, and nothing else does.

The page's Notification API is Chromium's own, watched (every call goes
through to it); a headless browser cannot be put in the background, so
the test decides what document.hidden says.
"""

from chatclients import LineClient
from test_browser_accounts import logged_in, new_page, register
from test_browser_e2e import browser, type_line  # noqa: F401  (browser is a fixture)

WATCH = """(() => {
  const Real = window.Notification;
  const seen = { asked: 0, shown: [] };
  class Watched extends Real {
    constructor(title, options) {
      super(title, options);
      seen.shown.push({ title, body: options && options.body });
    }
  }
  Object.defineProperty(Watched, 'permission', { get: () => Real.permission });
  Watched.requestPermission = (...args) => {
    seen.asked += 1;
    return Real.requestPermission(...args);
  };
  window.Notification = Watched;
  window.__seen = seen;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.__hidden === true });
})();"""

SEEN = "() => window.__seen"


def test_notifications_only_after_the_user_asks_and_only_when_hidden(browser, daemon):
    context = browser.new_context()
    context.add_init_script(WATCH)
    page = new_page(context)
    register(page, daemon.web_url + "/", "belle")
    bell = page.locator('[data-testid="notify"]')
    assert page.evaluate(SEEN)["asked"] == 0, "the page asked for permission on load"

    bell.click()  # headless Chromium answers the question with "denied"
    page.locator('[data-testid="error"]:not([hidden])', has_text="Notifications").wait_for(timeout=10000)
    assert page.evaluate(SEEN)["asked"] == 1
    assert bell.get_attribute("aria-pressed") == "false"

    context.grant_permissions(["notifications"], origin=daemon.web_url)
    bell.click()
    assert bell.get_attribute("aria-pressed") == "true"

    tel = LineClient(daemon.lines_port).login("tel", "#lobby")
    page.locator('[data-testid="members"] [data-nick="tel"]').wait_for(timeout=10000)
    tel.send("seen while shown, belle")  # the page is in front: no notification
    page.locator('[data-testid="message"]', has_text="seen while shown").wait_for(timeout=10000)
    page.evaluate("() => { window.__hidden = true; }")
    tel.send("nothing for anyone")
    tel.send("/msg belle psst")
    tel.send("are you there, belle?")
    page.locator('[data-testid="message"]', has_text="are you there").wait_for(timeout=10000)
    shown = page.evaluate(SEEN)["shown"]
    assert [(n["title"], n["body"]) for n in shown] == [
        ("\u2068tel\u2069 (private message)", "psst"),
        ("\u2068tel\u2069 in \u2068#lobby\u2069", "are you there, belle?"),
    ], shown

    page.reload()  # the choice is remembered; the browser is not asked again
    logged_in(page, "belle")
    assert page.locator('[data-testid="notify"]').get_attribute("aria-pressed") == "true"
    assert page.evaluate(SEEN)["asked"] == 0
    type_line(page, "/quit")
    assert page.problems == [], page.problems
    context.close()
