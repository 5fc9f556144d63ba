"""
The shipped page across a daemon restart, in real Chromium (issue 11,
defect 1): a message posted while the page is away, after it is back but
before its history has arrived, or before a long poll has brought it when
the page's own message is acknowledged, is shown exactly once, in room
order.

Playwright's routing sits between the page and the daemon, so the test
decides when the page may reconnect, when the history of its rejoin reaches
it and when a long poll goes out; every frame and every event still comes
from the real daemon, in the order the daemon sent it.
"""

import re

from chatclients import LineClient
from test_browser_e2e import _free_port, browser, sign_in, type_line  # noqa: F401  (browser is a fixture)

TOKEN = "token-during-restart"


class Relay:
    """
    Relays the page's WebSocket and long-poll requests to the daemon.
    While C{refusing}, a new WebSocket is closed before its welcome and
    long-poll requests fail, as when the daemon is down. Once
    C{hold_history} is set, the first C{history} frame for C{room} and every
    frame after it wait in order until L{release}. While C{hold_polls} is
    set, requests for events wait, unsent, until L{release_polls}.
    """

    def __init__(self, page, room: str) -> None:
        self.room = room
        self.refusing = False
        self.hold_history = False
        self.held = []
        self.holding = False
        self.route = None
        self.hold_polls = False
        self.held_polls = []
        page.route_web_socket(re.compile(r"/ws$"), self._connect)
        page.route(re.compile(r"/api/"), self._poll)

    def _connect(self, route) -> None:
        if self.refusing:
            route.close()
            return
        self.route = route
        server = route.connect_to_server()
        route.on_message(server.send)
        server.on_message(lambda frame, route=route: self._down(route, frame))

    def _poll(self, request_route) -> None:
        if self.refusing:
            request_route.abort()
        elif self.hold_polls and "/events?" in request_route.request.url:
            self.held_polls.append(request_route)
        else:
            request_route.continue_()

    def release_polls(self) -> None:
        self.hold_polls = False
        held, self.held_polls = self.held_polls, []
        for request_route in held:
            request_route.continue_()

    def _down(self, route, frame) -> None:
        if self.hold_history and not self.holding and '"type":"history"' in frame and self.room in frame:
            self.holding = True
        if self.holding and route is self.route:
            self.held.append(frame)
        else:
            route.send(frame)

    def release(self) -> None:
        self.hold_history = False
        held, self.held = self.held, []
        self.holding = False
        for frame in held:
            self.route.send(frame)


SHOWN = """() => [...document.querySelectorAll('[data-testid="log"] [data-testid="message"]')]
  .map((li) => ({ id: Number(li.dataset.id), text: li.querySelector('.body').textContent }))"""


def wait_until(page, check, what: str, timeout: float = 10.0) -> None:
    """Let the page run until check() is true (Playwright delivers routed frames meanwhile)."""
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"timed out waiting for {what}")


def start(browser, make_daemon, query: str = ""):
    lines_port, web_port = _free_port(), _free_port()
    daemon = make_daemon({
        ("lines", "listen"): f"tcp:{lines_port}:interface=127.0.0.1",
        ("web", "listen"): f"tcp:{web_port}:interface=127.0.0.1",
    })
    page = browser.new_context().new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    relay = Relay(page, "#resume")
    sign_in(page, f"http://127.0.0.1:{web_port}/{query}", "resumer")
    type_line(page, "/join #resume")
    page.locator('[data-testid="rooms"] [data-room="#resume"]:not(.joining)').wait_for(timeout=10000)
    first = LineClient(lines_port).login("tel", "#resume")
    first.send("message one")
    first.send("message two")
    page.locator('[data-testid="message"]', has_text="message two").wait_for(timeout=10000)
    first.close()
    return daemon, lines_port, page, relay, problems


def assert_each_once_in_order(page, *texts: str) -> None:
    page.locator('[data-testid="message"]', has_text=texts[-1]).wait_for(timeout=10000)
    shown = page.evaluate(SHOWN)
    ids = [m["id"] for m in shown]
    assert [m["text"] for m in shown] == ["message one", "message two", *texts], shown
    assert ids == sorted(ids) and len(set(ids)) == len(ids), f"not in room order: {shown}"


def test_a_message_posted_while_the_page_is_away_is_shown_once(browser, make_daemon):
    """Posted after the restart, before the page has reconnected."""
    daemon, lines_port, page, relay, problems = start(browser, make_daemon, "?transport=websocket")
    relay.refusing = True
    daemon.restart()
    page.locator('[data-testid="status"]:not([data-state="connected"])').wait_for(timeout=10000)
    poster = LineClient(lines_port).login("tel2", "#resume")
    watcher = LineClient(lines_port).login("watcher", "#resume")
    poster.send(TOKEN)
    watcher.expect(TOKEN)  # stored and relayed before the page is back

    relay.refusing = False
    page.evaluate("window.dispatchEvent(new Event('online'))")  # back now: no waiting out the backoff
    page.locator('[data-testid="status"][data-state="connected"]').wait_for(timeout=15000)
    page.locator('[data-testid="members"] [data-nick="tel2"]').wait_for(timeout=10000)
    poster.send("message after")
    assert_each_once_in_order(page, TOKEN, "message after")
    type_line(page, "still here")
    watcher.expect("<resumer> still here")
    assert problems == [], problems


def test_a_message_posted_before_the_rejoin_history_arrives_is_shown_once(browser, make_daemon):
    """Posted after the page has reconnected and rejoined, while its history is on the way."""
    daemon, lines_port, page, relay, problems = start(browser, make_daemon, "?transport=websocket")
    relay.hold_history = True
    daemon.restart()
    wait_until(page, lambda: relay.holding, "the page's rejoin history", timeout=20)
    poster = LineClient(lines_port).login("tel2", "#resume")
    poster.send(TOKEN)
    wait_until(page, lambda: any(TOKEN in frame for frame in relay.held), "the message on its way to the page")
    relay.release()

    page.locator('[data-testid="members"] [data-nick="tel2"]').wait_for(timeout=10000)
    poster.send("message after")
    assert_each_once_in_order(page, TOKEN, "message after")
    watcher = LineClient(lines_port).login("watcher", "#resume")
    type_line(page, "still here")
    watcher.expect("<resumer> still here")
    assert problems == [], problems


def test_a_message_not_yet_polled_when_the_page_posts_survives_a_restart(browser, make_daemon):
    """
    Long-poll: the page's own message is acknowledged (on its own request)
    before an earlier message has come back in a poll; then the daemon
    restarts and the page resumes the room from where it really was.
    """
    daemon, lines_port, page, relay, problems = start(browser, make_daemon, "?transport=longpoll")
    poster = LineClient(lines_port).login("tel2", "#resume")
    watcher = LineClient(lines_port).login("watcher", "#resume")
    page.locator('[data-testid="members"] [data-nick="watcher"]').wait_for(timeout=10000)
    relay.hold_polls = True
    poster.send("nudge")  # answers the poll under way, so the next one is held
    wait_until(page, lambda: relay.held_polls, "a poll to hold")
    poster.send(TOKEN)
    watcher.expect(TOKEN)
    type_line(page, "mine")
    watcher.expect("<resumer> mine")
    page.locator('[data-testid="message"][data-id]', has_text="mine").wait_for(timeout=10000)  # acknowledged
    for client in (poster, watcher):
        client.close()

    daemon.restart()
    relay.release_polls()  # the held poll reaches a daemon that no longer knows the session
    poster = LineClient(lines_port).login("tel3", "#resume")
    page.locator('[data-testid="members"] [data-nick="tel3"]').wait_for(timeout=20000)
    poster.send("message after")
    assert_each_once_in_order(page, "nudge", TOKEN, "mine", "message after")
    assert problems == [], problems
