"""
Moderation seen from the shipped page, in real Chromium against the real
daemon (issue 13): a terminal founder registers a room and gives the page's
user operator; the page shows the badges, moderates from a member's menu
(and shows the server's refusals), reads every action on it as a plain
sentence, is refused by the server when muted or banned, and deletes
messages, its own and, as an operator, other people's.
"""

from chatclients import LineClient
from test_browser_accounts import new_page, register, telnet_account
from test_browser_e2e import browser, type_line  # noqa: F401  (browser is a fixture)

EVENTS = "() => [...document.querySelectorAll('[data-testid=\"log\"] [data-testid=\"event\"]')].map((e) => e.textContent)"


def founded_room(port: int) -> LineClient:
    """boss, on a terminal, registers an account and #den, its founder."""
    boss = telnet_account(port, "boss", "#den")
    boss.send("/room register")
    boss.expect(r"boss registered #den")
    return boss


def in_den(page) -> None:
    type_line(page, "/join #den")
    page.locator('[data-testid="rooms"] [data-room="#den"]:not(.joining)').wait_for(timeout=10000)


def member(page, nick: str, role: str):
    return page.locator(f'[data-testid="members"] [data-nick="{nick}"][data-role="{role}"]')


def said(page, text: str) -> None:
    """A line in the log says text (an event, readable as a sentence)."""
    page.locator('[data-testid="log"] [data-testid="event"]', has_text=text).last.wait_for(timeout=10000)


def refused(page, text: str) -> None:
    """The composer shows the server's refusal."""
    page.locator('[data-testid="error"]:not([hidden])', has_text=text).wait_for(timeout=10000)


def menu_action(page, nick: str, action: str) -> None:
    page.locator(f'[data-testid="members"] [data-member-menu="{nick}"]').click(force=True)
    page.locator(f'[data-testid="member-menu"] [data-mod-action="{action}"]').click()


def test_badges_menu_and_every_action_on_the_page_user(browser, daemon):
    boss = founded_room(daemon.lines_port)
    tel = telnet_account(daemon.lines_port, "tel", "#den")
    page = new_page(browser.new_context(viewport={"width": 1280, "height": 800}))
    register(page, daemon.web_url + "/", "webby")
    in_den(page)

    boss.send("/op webby")
    member(page, "webby", "operator").wait_for(timeout=10000)
    assert member(page, "boss", "founder").locator(".role-badge").inner_text() == "~"
    assert member(page, "webby", "operator").locator(".role-badge").inner_text() == "@"
    said(page, "boss gave you operator")

    menu_action(page, "tel", "voice")  # an operator may
    member(page, "tel", "voice").wait_for(timeout=10000)
    tel.expect(r"-!- webby gave tel voice")
    said(page, "webby gave tel voice")
    menu_action(page, "tel", "op")  # only the founder may: the server says so
    refused(page, "founder of #den")
    assert member(page, "tel", "voice").count() == 1

    boss.send("/mute webby 10m")
    said(page, "boss muted you for 10 minutes")
    type_line(page, "can I still speak?")
    refused(page, "You are muted in #den")
    boss.send("/unmute webby")
    said(page, "boss unmuted you")
    boss.send("/mode +t")
    said(page, "boss set mode +t (only operators set the topic)")

    boss.send("/kick webby enough")
    said(page, "You were put out of #den by boss (enough)")
    assert page.locator('[data-testid="members"] [data-nick]').count() == 0
    type_line(page, "/join #den")  # a kick is not a ban
    page.locator('[data-testid="rooms"] [data-room="#den"]:not(.joining)').wait_for(timeout=10000)
    boss.expect(r"webby has joined")

    boss.send("/ban ~a:webby 1h spam")
    said(page, "boss banned ~a:webby (spam) for 1 hour")
    said(page, "You were put out of #den by boss (banned (spam))")
    type_line(page, "/join #den")
    refused(page, "You are banned from #den: spam.")
    boss.send("/unban ~a:webby")
    boss.expect(r"boss lifted the ban on ~a:webby")
    type_line(page, "/join #den")  # the room's events reach members only: the page learns by joining
    page.locator('[data-testid="rooms"] [data-room="#den"]:not(.joining)').wait_for(timeout=10000)
    boss.send("/room transfer tel")
    said(page, "boss gave #den to tel")
    member(page, "tel", "founder").wait_for(timeout=10000)
    type_line(page, "/part")
    tel.send("/invite webby")
    said(page, "tel invited you to #den")
    assert all("\ufffd" not in e for e in page.evaluate(EVENTS))
    assert page.problems == [], page.problems


def test_deleting_messages(browser, daemon):
    boss = founded_room(daemon.lines_port)
    tel = LineClient(daemon.lines_port).login("tel", "#den")
    page = new_page(browser.new_context(viewport={"width": 1280, "height": 800}))
    register(page, daemon.web_url + "/", "webby")
    in_den(page)
    log = page.locator('[data-testid="log"]')

    type_line(page, "oops, wrong room")
    own = log.locator('[data-testid="message"][data-id]', has_text="oops, wrong room")
    own.hover()
    own.locator("[data-delete-msg]").click()
    page.locator('[data-testid="message"][data-deleted="true"]', has_text="Message deleted by webby").wait_for(timeout=10000)
    assert log.locator('[data-testid="message"]', has_text="oops").count() == 0
    boss.expect(r"-!- webby deleted message \d+")
    said(page, "webby deleted their own message")

    tel.send("first rude line")
    tel.send("second rude line")
    first = log.locator('[data-testid="message"][data-from="tel"]', has_text="first rude line")
    second = log.locator('[data-testid="message"][data-from="tel"]', has_text="second rude line")
    second.wait_for(timeout=10000)
    assert not first.locator("[data-delete-msg]").is_visible(), "a plain member may delete only their own lines"

    boss.send(f"/delete {first.get_attribute('data-id')}")  # the founder, from a terminal
    log.locator('[data-testid="message"][data-deleted="true"][data-from="tel"]').wait_for(timeout=10000)
    said(page, "boss deleted a message by tel")

    boss.send("/op webby")
    member(page, "webby", "operator").wait_for(timeout=10000)
    second_id = second.get_attribute("data-id")
    second.hover()
    second.locator("[data-delete-msg]").click()  # an operator may delete anyone's
    log.locator(f'[data-testid="message"][data-id="{second_id}"][data-deleted="true"]').wait_for(timeout=10000)
    tel.expect(rf"-!- webby deleted message {second_id}")
    assert page.problems == [], page.problems



def test_a_server_operator_moderates_any_room(browser, make_daemon):
    """An account in tap.cfg's [server] operators gets every member's menu and delete button, in an unregistered room."""
    daemon = make_daemon({("server", "operators"): "root"})
    tel = LineClient(daemon.lines_port).login("tel", "#lobby")
    page = new_page(browser.new_context(viewport={"width": 1280, "height": 800}))
    register(page, daemon.web_url + "/", "root")
    tel.send("spam, spam, spam")
    line = page.locator('[data-testid="message"][data-from="tel"]', has_text="spam, spam")
    line.wait_for(timeout=10000)
    line.hover()
    page.locator('[data-testid="log"] .can-moderate').wait_for(timeout=10000)
    line.locator("[data-delete-msg]").click()
    tel.expect(r"-!- root deleted message \d+")
    menu_action(page, "tel", "kick")
    tel.expect(r"tel was kicked by root")
    page.locator('[data-testid="members"] [data-nick="tel"]').wait_for(state="detached", timeout=10000)
    said(page, "tel was kicked by root")
    assert page.problems == [], page.problems
