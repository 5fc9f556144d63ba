"""
The shipped page on long-poll when its session is lost (issue 14): on a
cluster, the node holding a long-poll session stops, and every node then
answers its polls 404 with code C{session-lost} (docs/protocol.md,
"Several nodes").  In real Chromium against the real daemon, the page
makes a new session, logs in again with its stored token, rejoins its room
with C{since}, and shows every message once, in room order.

One daemon plays the cluster: Playwright's routing ends the page's session
for real (DELETE, so the daemon's users see it quit, as the cluster's
janitor makes them) and answers that poll as a node does for a lost
session.  Everything else comes from the real daemon.
"""

import json
import re

import requests

from chatclients import LineClient
from test_browser_accounts import new_page, register
from test_browser_e2e import _free_port, browser, type_line  # noqa: F401  (browser is a fixture)
from test_browser_resume import SHOWN, wait_until

LOST = {
    "type": "error",
    "code": "session-lost",
    "message": "The server node holding this session stopped; create a new session and join your rooms again "
               "with since.",
}


class OwnerDeath:
    """
    Routes the page's long-poll requests.  L{kill} ends the page's session
    on the daemon (its poll held there is answered), and from then on every
    request for it is answered as a node answers for a lost session.
    """

    def __init__(self, page, web_url: str) -> None:
        self.web_url = web_url
        self.token = None
        self.lost = set()
        self.created = 0
        self.commands = []
        page.route(re.compile(r"/api/"), self._route)

    def kill(self) -> None:
        self.lost.add(self.token)
        requests.delete(f"{self.web_url}/api/sessions/{self.token}", timeout=5)

    def _route(self, route) -> None:
        request = route.request
        found = re.search(r"/api/sessions/([^/?]+)", request.url)
        if request.method == "POST" and request.url.endswith("/api/sessions"):
            self.created += 1
        elif found and found.group(1) in self.lost:
            route.fulfill(status=404, content_type="application/json", body=json.dumps(LOST))
            return
        elif request.method == "POST" and request.url.endswith("/commands"):
            self.commands.append(json.loads(request.post_data))
        if found and request.method == "GET":
            self.token = found.group(1)
        route.continue_()


def test_a_lost_session_logs_in_again_and_resumes_showing_each_message_once(browser, make_daemon):
    lines_port, web_port = _free_port(), _free_port()
    daemon = make_daemon({
        ("lines", "listen"): f"tcp:{lines_port}:interface=127.0.0.1",
        ("web", "listen"): f"tcp:{web_port}:interface=127.0.0.1",
    })
    page = new_page(browser.new_context())
    tel = LineClient(lines_port).login("tel", "#lost")
    death = OwnerDeath(page, daemon.web_url)
    register(page, daemon.web_url + "/?transport=longpoll", "lossy")
    type_line(page, "/join #lost")
    page.locator('[data-testid="rooms"] [data-room="#lost"]:not(.joining)').wait_for(timeout=10000)
    tel.send("message one")
    tel.send("message two")
    page.locator('[data-testid="message"]', has_text="message two").wait_for(timeout=10000)
    assert death.created == 1

    death.kill()  # the node holding the session stops; tel speaks meanwhile
    tel.expect("lossy has quit", timeout=10)
    tel.send("message three")
    wait_until(page, lambda: death.created == 2, "a new session")
    page.locator('[data-testid="message"]', has_text="message three").wait_for(timeout=10000)
    tel.send("message four")
    page.locator('[data-testid="message"]', has_text="message four").wait_for(timeout=10000)

    shown = page.evaluate(SHOWN)
    assert [m["text"] for m in shown] == ["message one", "message two", "message three", "message four"], shown
    ids = [m["id"] for m in shown]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), shown
    # The new session logged in with the stored token, and resumed the room after what the page had.
    logins = [c for c in death.commands if c.get("type") == "login"]
    assert any("token" in c for c in logins), death.commands
    rejoin = [c for c in death.commands if c.get("type") == "join" and c.get("room") == "#lost" and "since" in c]
    assert rejoin and rejoin[-1]["since"] == ids[1], (rejoin, ids)
    page.locator('[data-testid="account-state"][data-account="lossy"]').wait_for(timeout=10000)
    page.locator('[data-testid="status"][data-state="connected"]').wait_for(timeout=10000)
    assert page.problems == []
    tel.close()
