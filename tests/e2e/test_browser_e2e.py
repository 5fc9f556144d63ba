"""
The shipped browser client in real headless Chromium (Debian's package,
driven by Playwright), chatting with a telnet user through the real daemon,
over ws://, wss:// and forced long-poll.
"""

import os
import shutil
from pathlib import Path

import pytest
from lacking import lacking

from certs import make_cert
from chatclients import LineClient

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _need_browser():
    """In CI a missing browser fails the test; elsewhere it skips with the reason."""
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("PyPI playwright")
    if missing:
        lacking("browser test needs " + " and ".join(missing))


@pytest.fixture
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives each launch a fresh temporary profile.
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(page, url: str, nick: str) -> None:
    """Open the page, sign in as C{nick} and wait until it says Connected."""
    page.goto(url)
    page.fill('input[name="nick"]', nick)
    page.press('input[name="nick"]', "Enter")
    page.locator('[data-testid="status"][data-state="connected"]').wait_for(timeout=15000)


def type_line(page, text: str) -> None:
    """Type a line in the composer and press Enter, as a user does."""
    page.fill('textarea[name="message"]', text)
    page.press('textarea[name="message"]', "Enter")


def chat_both_ways(browser, url, telnet, transport, tmp_path, name):
    """The page signs in, joins #lobby, and talks with the telnet user both ways."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1100, "height": 760})
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    page.fill('input[name="nick"]', f"web{name}")
    page.press('input[name="nick"]', "Enter")
    status = page.locator('[data-testid="status"]')
    status.and_(page.locator('[data-state="connected"]')).wait_for(timeout=15000)
    assert status.get_attribute("data-transport") == transport
    page.locator('[data-testid="rooms"] [data-room="#lobby"]').wait_for(timeout=10000)

    telnet.expect(rf"-!- web{name} has joined")
    page.fill('textarea[name="message"]', "hello from <b>chromium</b>")
    page.press('textarea[name="message"]', "Enter")
    assert telnet.expect(rf"<web{name}>") == f"[#lobby] <web{name}> hello from <b>chromium</b>"

    telnet.send("hi browser, <i>not italic</i>")
    reply = page.locator('[data-testid="log"] [data-testid="message"][data-from="tel"]').last
    reply.wait_for(timeout=10000)
    assert "hi browser, <i>not italic</i>" in reply.inner_text()
    assert page.locator('[data-testid="log"] i, [data-testid="log"] b').count() == 0, "user text must never become HTML"
    own = page.locator('[data-testid="log"] [data-testid="message"][data-own="true"]').last
    assert own.get_attribute("data-pending") != "true"
    page.screenshot(path=str(tmp_path / f"browser-{name}.png"))
    assert problems == [], problems
    context.close()


def test_browser_and_telnet_chat_over_ws(browser, daemon, tmp_path):
    """Real Chromium on the shipped page chats with telnet over ws://, showing <b> literally."""
    telnet = LineClient(daemon.lines_port).login("tel", "#lobby")
    chat_both_ways(browser, daemon.web_url + "/", telnet, "websocket", tmp_path, "ws")


def test_browser_forced_long_poll(browser, daemon, tmp_path):
    """?transport=longpoll: the same page works without a WebSocket."""
    telnet = LineClient(daemon.lines_port).login("tel", "#lobby")
    chat_both_ways(browser, daemon.web_url + "/?transport=longpoll", telnet, "longpoll", tmp_path, "lp")


def test_browser_and_telnet_chat_over_wss(browser, make_daemon, tmp_path):
    """The same over https:// and wss:// with a certificate the test made."""
    key, cert = make_cert(tmp_path)
    d = make_daemon({("web", "listen"): f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"})
    telnet = LineClient(d.lines_port).login("tel", "#lobby")
    chat_both_ways(browser, f"https://localhost:{d.port('web', 'ssl')}/", telnet, "websocket", tmp_path, "wss")


def test_every_client_module_is_served(daemon):
    """The installed daemon serves each module of web/js/ (the wheel's package data), as JavaScript, as written."""
    import requests

    web = Path(__file__).resolve().parents[2] / "web"
    modules = sorted(web.glob("js/**/*.js"))
    assert web.joinpath("js", "main.js") in modules
    for path in modules:
        name = path.relative_to(web).as_posix()
        r = requests.get(f"{daemon.web_url}/{name}", timeout=10)
        assert r.status_code == 200, f"{name}: HTTP {r.status_code}; is it in pyproject.toml's package-data?"
        assert r.headers["Content-Type"].startswith("text/javascript"), (name, r.headers["Content-Type"])
        assert r.content == path.read_bytes(), f"{name}: the installed copy differs from web/"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_browser_resumes_after_a_restart_losing_and_repeating_nothing(browser, make_daemon, tmp_path):
    """The daemon restarts under the page: it reconnects, rejoins with since, and shows each message exactly once."""
    lines_port, web_port = _free_port(), _free_port()
    d = make_daemon({
        ("lines", "listen"): f"tcp:{lines_port}:interface=127.0.0.1",
        ("web", "listen"): f"tcp:{web_port}:interface=127.0.0.1",
    })
    telnet = LineClient(lines_port).login("tel", "#lobby")
    page = browser.new_context().new_page()
    page.goto(f"http://127.0.0.1:{web_port}/")
    page.fill('input[name="nick"]', "resumer")
    page.press('input[name="nick"]', "Enter")
    connected = page.locator('[data-testid="status"][data-state="connected"]')
    connected.wait_for(timeout=15000)
    page.locator('[data-testid="rooms"] [data-room="#lobby"]').wait_for(timeout=10000)
    telnet.send("before the restart")
    page.locator('[data-testid="message"][data-from="tel"]', has_text="before the restart").wait_for(timeout=10000)

    telnet.close()
    d.restart()  # same ports: the page reconnects by itself
    page.locator('[data-testid="status"][data-state="connected"]').wait_for(timeout=30000)
    telnet = LineClient(lines_port).login("tel2", "#lobby")
    telnet.send("after the restart")
    page.locator('[data-testid="message"][data-from="tel2"]', has_text="after the restart").wait_for(timeout=15000)
    page.fill('textarea[name="message"]', "back again")
    page.press('textarea[name="message"]', "Enter")
    telnet.expect("<resumer> back again")

    texts = page.locator('[data-testid="log"] [data-testid="message"]').all_inner_texts()
    assert sum("before the restart" in t for t in texts) == 1, texts
    assert sum("after the restart" in t for t in texts) == 1, texts
    page.screenshot(path=str(tmp_path / "browser-resumed.png"))
