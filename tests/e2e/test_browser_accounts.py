"""
Accounts in the shipped page, in real Chromium against the real daemon
(issue 13): registering from the sign-in form, a reload that is still the
same user with its private conversation shown once, a second tab that is
the same user in the same rooms, and logging out.

The daemon runs on 127.0.0.1, a local connection, so passwords travel
without TLS; its argon2 profile is the cheapest (tests/e2e/daemon.py).
"""

import pytest

from chatclients import LineClient
from test_browser_e2e import browser, sign_in, type_line  # noqa: F401  (browser is a fixture)

PASSWORD = "correct-horse"

#: The private lines of the conversation shown: (id, from, text), in page order.
PRIVATE_LINES = """() => [...document.querySelectorAll('[data-testid="log"] [data-testid="message"][data-kind="private"]')]
  .map((li) => [li.dataset.id ? Number(li.dataset.id) : null, li.dataset.from, li.querySelector('.body').textContent])"""


def new_page(context):
    """A tab that records the page's own errors."""
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


def register(page, url: str, nick: str) -> None:
    """Register nick from the sign-in screen's account form, and wait until the page is in #lobby."""
    page.goto(url)
    page.fill('input[name="account"]', nick)
    page.fill('input[name="password"]', PASSWORD)
    page.click('[data-testid="account-register"]')
    logged_in(page, nick)


def logged_in(page, nick: str) -> None:
    """The page shows the chat, logged in as nick (and called nick), in #lobby."""
    from playwright.sync_api import expect

    page.locator(f'[data-testid="account-state"][data-account="{nick}"]').wait_for(timeout=10000)
    expect(page.locator('[data-testid="me"]')).to_have_text(nick, timeout=10000)
    page.locator('[data-testid="status"][data-state="connected"]').wait_for(timeout=10000)
    page.locator('[data-testid="rooms"] [data-room="#lobby"]:not(.joining)').wait_for(timeout=10000)


def telnet_account(port: int, nick: str, room: str = "#lobby") -> LineClient:
    """A terminal user with an account of its own (private messages are stored between accounts)."""
    tel = LineClient(port).login(nick, room)
    tel.send(f"/register {PASSWORD}")
    tel.expect("You registered the account")
    return tel


def test_a_reload_is_the_same_user_with_its_private_conversation_once(browser, daemon):
    context = browser.new_context()
    page = new_page(context)
    register(page, daemon.web_url + "/", "webby")
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('chatd.login'))")
    assert stored["account"] == "webby" and len(stored["token"]) >= 40, stored

    tel = telnet_account(daemon.lines_port, "tel")
    tel.send("/msg webby psst, one")
    page.locator('[data-testid="pms"] [data-pm="tel"]').click()
    page.locator('[data-testid="message"][data-kind="private"]', has_text="psst, one").wait_for(timeout=10000)
    type_line(page, "hi back")
    tel.expect(r"\*webby\* hi back")
    tel.send("/msg webby psst, two")
    page.locator('[data-testid="message"][data-kind="private"]', has_text="psst, two").wait_for(timeout=10000)
    before = page.evaluate(PRIVATE_LINES)
    assert [text for _, _, text in before] == ["psst, one", "hi back", "psst, two"], before

    page.reload()
    logged_in(page, "webby")  # the token logged the new page in: no nick form, no guest nick
    page.locator('[data-testid="pms"] [data-pm="tel"]').click()
    page.locator('[data-testid="message"][data-kind="private"]', has_text="psst, two").wait_for(timeout=10000)
    after = page.evaluate(PRIVATE_LINES)
    assert [(f, text) for _, f, text in after] == [("tel", "psst, one"), ("webby", "hi back"), ("tel", "psst, two")], after
    ids = [i for i, _, _ in after]
    assert ids == sorted(ids) and len(set(ids)) == 3, after

    tel.send("/whois webby")
    tel.expect("webby is logged in as webby")
    assert page.problems == [], page.problems
    context.close()


@pytest.mark.parametrize("transport", ["websocket", "longpoll"])
def test_a_second_tab_is_the_same_user_in_the_same_rooms(browser, daemon, transport):
    """Over long-poll the login's ok and the joins the server makes for the second tab come apart."""
    url = f"{daemon.web_url}/?transport={transport}"
    context = browser.new_context()
    first = new_page(context)
    register(first, url, "tabby")
    type_line(first, "/join #den")
    first.locator('[data-testid="rooms"] [data-room="#den"]:not(.joining)').wait_for(timeout=10000)
    watcher = LineClient(daemon.lines_port).login("watcher", "#den")

    second = new_page(context)
    second.goto(url)
    logged_in(second, "tabby")
    second.locator('[data-testid="rooms"] [data-room="#den"]:not(.joining)').wait_for(timeout=10000)
    watcher.send("/who #den")
    assert watcher.expect(r"members") .count("tabby") == 1, "two tabs are one member"

    type_line(first, "said in the first tab")
    watcher.expect("<tabby> said in the first tab")
    second.locator('[data-testid="rooms"] [data-room="#den"]').click()
    second.locator('[data-testid="message"][data-own="true"]', has_text="said in the first tab").wait_for(timeout=10000)

    # A room joined in one tab is joined in the other; one left is left.
    type_line(second, "/join #third")
    first.locator('[data-testid="rooms"] [data-room="#third"]:not(.joining)').wait_for(timeout=10000)
    second.locator('[data-testid="rooms"] [data-room="#third"] + .conv-close').click(force=True)
    first.locator('[data-testid="rooms"] [data-room="#third"]').wait_for(state="detached", timeout=10000)

    # Logging out in one tab logs out both.
    first.click('[data-testid="logout"]')
    first.locator('[data-testid="login"]').wait_for(timeout=10000)
    second.locator('[data-testid="login"]').wait_for(timeout=10000)
    assert first.evaluate("() => localStorage.getItem('chatd.login')") is None
    watcher.expect(r"tabby has quit")
    assert first.problems == [] and second.problems == [], (first.problems, second.problems)
    context.close()


def test_a_refused_token_is_forgotten_and_the_password_logs_in_again(browser, daemon):
    context = browser.new_context()
    page = new_page(context)
    register(page, daemon.web_url + "/", "keeper")
    tel = telnet_account(daemon.lines_port, "tel")
    tel.send("/msg keeper kept for you")
    page.locator('[data-testid="pms"] [data-pm="tel"]').wait_for(timeout=10000)

    # A token the server does not know (revoked, expired, or never issued).
    page.evaluate("() => localStorage.setItem('chatd.login', JSON.stringify({account: 'keeper', token: 'forged'}))")
    page.reload()
    error = page.locator('[data-testid="account-error"]', has_text="You are no longer logged in as keeper")
    error.wait_for(timeout=10000)
    assert "That login token is unknown or has expired" in error.inner_text(), error.inner_text()
    assert page.evaluate("() => localStorage.getItem('chatd.login')") is None, "a refused token is forgotten"
    assert page.locator('input[name="account"]').input_value() == "keeper"

    page.fill('input[name="password"]', "not the password")
    page.click('[data-testid="account-login"]')
    page.locator('[data-testid="account-error"]', has_text="That is not the password of keeper").wait_for(timeout=10000)

    page.fill('input[name="password"]', PASSWORD)
    page.click('[data-testid="account-login"]')
    logged_in(page, "keeper")
    page.locator('[data-testid="pms"] [data-pm="tel"]').click()
    page.locator('[data-testid="message"][data-kind="private"]', has_text="kept for you").wait_for(timeout=10000)
    assert page.locator('[data-testid="message"][data-kind="private"]').count() == 1

    # Leaving is not logging out: joining again is the account, under the nick typed.
    page.click("#quit")
    page.fill('input[name="nick"]', "keeper_away")
    page.press('input[name="nick"]', "Enter")
    page.locator('[data-testid="me"]', has_text="keeper_away").wait_for(timeout=10000)
    assert page.locator('[data-testid="account-state"]').get_attribute("data-account") == "keeper"
    tel.send("/whois keeper_away")
    tel.expect("keeper_away is logged in as keeper")
    assert page.problems == [], page.problems
    context.close()


def test_accounts_from_the_message_box(browser, daemon):
    """/register, /logout and /login typed in the message box; a line with a password is never recalled."""
    context = browser.new_context()
    page = new_page(context)
    sign_in(page, daemon.web_url + "/", "typist")
    page.locator('[data-testid="rooms"] [data-room="#lobby"]:not(.joining)').wait_for(timeout=10000)
    assert page.locator('[data-testid="account-state"]').get_attribute("data-account") == ""

    type_line(page, f"/register {PASSWORD}")
    logged_in(page, "typist")
    type_line(page, "/logout")
    page.locator('[data-testid="login-error"]', has_text="You logged out.").wait_for(timeout=10000)
    assert page.evaluate("() => localStorage.getItem('chatd.login')") is None

    page.fill('input[name="nick"]', "guesty")  # a guest now
    page.press('input[name="nick"]', "Enter")
    page.locator('[data-testid="me"]', has_text="guesty").wait_for(timeout=10000)
    type_line(page, "/login typist not-the-password")
    page.locator('[data-testid="error"]:not([hidden])', has_text="That is not the password of typist").wait_for(timeout=10000)
    type_line(page, f"/identify typist {PASSWORD}")
    logged_in(page, "typist")  # a new session, logged in with the token, under the account's nick
    type_line(page, "/help accounts")
    page.locator('[data-testid="event"]', has_text="/passwd old new").wait_for(timeout=10000)
    box = page.locator('textarea[name="message"]')
    for _ in range(3):
        box.press("ArrowUp")
        assert PASSWORD not in box.input_value() and "not-the-password" not in box.input_value()
    assert page.problems == [], page.problems
    context.close()
