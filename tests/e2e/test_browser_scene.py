"""
Issue 18's "Done when", as one scene on the real daemon: in #lobby a
browser user (real Chromium, logged in, two tabs), a telnet user (a raw
socket) and an IRC client (a raw socket that asked for message-tags,
draft/multiline and batch) each send a three-line message, a reply and a
reaction, and each sees the others' in its own form; typing shows in the
browser and nowhere in history; reading on one tab clears the unread line
on the other.
"""

import re

from chatclients import LineClient, WSUser
from ircclient import IRCClient
from test_browser_accounts import logged_in, new_page, register
from test_browser_conversation import chips, line, type_lines
from test_browser_e2e import browser  # noqa: F401  (a fixture)
from test_browser_readmarks import read_up_to, reads_sent, to_background, unread_line

LINES = ("lunch plan:", "the usual place", "at noon")


def irc_user(port: int, nick: str) -> IRCClient:
    irc = IRCClient(port)
    irc.register(nick, caps=("message-tags", "draft/multiline", "batch", "server-time"))
    assert {"message-tags", "draft/multiline", "batch"} <= set(irc.caps), irc.caps
    irc.join("#lobby")
    return irc


def privmsg(irc: IRCClient, sender: str, text: str):
    return irc.expect(lambda l: l.command == "PRIVMSG" and l.hostmask.nickname == sender and l.params[-1] == text)


def test_the_scene(browser, daemon):
    url = daemon.web_url + "/"
    tel = LineClient(daemon.lines_port).login("tel", "#lobby")
    ivan = irc_user(daemon.irc_port, "ivan")
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    web = new_page(context)
    web.reads = reads_sent(web)
    register(web, url, "webby")
    tel.expect("webby has joined")

    tel.send("anyone for lunch?")
    original = line(web, "anyone for lunch?", "tel")
    original.wait_for(timeout=10000)
    tel_id = int(original.get_attribute("data-id"))
    tel_msgid = privmsg(ivan, "tel", "anyone for lunch?").tags["msgid"]
    assert tel_msgid.startswith(f"{tel_id}."), tel_msgid

    # -- the browser user: a three-line message, a reply and a reaction ------------------------------------------
    type_lines(web, *LINES)
    tel.expect(r"^\[#lobby\] <webby> lunch plan:$")
    assert re.match(r"^\s+the usual place$", tel.expect(r"the usual place")), "indented under the first line"
    assert re.match(r"^\s+at noon$", tel.expect(r"at noon"))
    inside = ivan.batch("draft/multiline", "#lobby")
    assert [l.params[-1] for l in inside] == list(LINES), [l.format() for l in inside]
    web_id = int(line(web, "at noon", "webby").get_attribute("data-id"))

    original.hover()
    original.locator("[data-reply-msg]").click()
    type_lines(web, "count me in")
    quote = tel.expect(r"^\[#lobby\] <webby> ↪ ")
    assert quote == "[#lobby] <webby> ↪ tel: anyone for lunch?", quote
    assert re.match(r"^\s+count me in$", tel.expect("count me in"))
    reply = privmsg(ivan, "webby", "count me in")
    assert reply.tags.get("+draft/reply") == tel_msgid, reply.format()

    original.hover()
    original.locator("[data-react-msg]").click()
    web.locator('[data-testid="react-picker"] [data-pick="👍"]').click()
    assert tel.expect("reacted") == f"[#lobby] -!- webby reacted 👍 to message {tel_id}"
    react = ivan.expect(lambda l: l.command == "TAGMSG" and l.hostmask.nickname == "webby")
    assert (react.tags.get("+draft/react"), react.tags.get("+draft/reply"), react.params) == ("👍", tel_msgid, ["#lobby"])
    original.locator('[data-react-chip="👍"][data-count="1"]').wait_for(timeout=10000)

    # -- the telnet user does the same with slash commands ----------------------------------------------------------
    tel.send("/history 3")
    listed = tel.expect(r"\((\d+)\) <webby> lunch plan:")
    assert int(re.search(r"\((\d+)\)", listed).group(1)) == web_id
    tel.send("on my way\\")
    tel.send("five minutes\\")
    tel.send("save me a seat")
    mine = line(web, "save me a seat", "tel")
    mine.wait_for(timeout=10000)
    assert mine.locator(".body > bdi.text").text_content() == "on my way\nfive minutes\nsave me a seat"
    assert [l.params[-1] for l in ivan.batch("draft/multiline", "#lobby")] == ["on my way", "five minutes", "save me a seat"]

    tel.send(f"/reply {web_id} see you there")
    answer = line(web, "see you there", "tel")
    answer.wait_for(timeout=10000)
    assert answer.locator('[data-testid="reply-quote"]').inner_text().endswith("webby: lunch plan: …")
    assert answer.locator('[data-testid="reply-quote"]').get_attribute("data-reply-to") == str(web_id)
    web_msgid = privmsg(ivan, "tel", "see you there").tags.get("+draft/reply")
    assert web_msgid and web_msgid.startswith(f"{web_id}."), web_msgid

    tel.send(f"/react {web_id} 👍")
    mine_three = line(web, "at noon", "webby")
    mine_three.locator('[data-react-chip="👍"][data-count="1"]').wait_for(timeout=10000)
    assert chips(mine_three) == {"👍": (1, False)}
    assert mine_three.locator('[data-react-chip="👍"]').get_attribute("title") == "tel reacted with 👍"
    tagmsg = ivan.expect(lambda l: l.command == "TAGMSG" and l.hostmask.nickname == "tel")
    assert (tagmsg.tags.get("+draft/react"), tagmsg.tags.get("+draft/reply")) == ("👍", web_msgid)

    # -- typing shows in the browser, and nowhere in history ------------------------------------------------------
    ivan.send("@+typing=active TAGMSG #lobby")
    web.locator('[data-testid="typing"]', has_text="ivan is typing…").wait_for(timeout=5000)
    ivan.send("@+typing=done TAGMSG #lobby")
    web.wait_for_function("() => document.querySelector('[data-testid=\"typing\"]').textContent === ''", timeout=5000)
    box = web.locator('textarea[name="message"]')
    box.click()
    box.type("typing in the bro")
    typing = ivan.expect(lambda l: l.command == "TAGMSG" and l.hostmask.nickname == "webby" and "+typing" in (l.tags or {}))
    assert typing.tags["+typing"] == "active"
    box.fill("")
    assert not [l for l in tel.drain() if "typing" in l], "a terminal never sees typing"
    ws = WSUser(daemon.ws_url, nick="auditor")
    stored = ws.ask(type="history", room="#lobby", limit=50)["messages"]
    assert {m["type"] for m in stored} == {"message"}, stored
    tel.send("/history 20")
    tel.expect(r"save me a seat")
    assert not [l for l in tel.drain() if "typing" in l]

    # -- reading on one tab clears the unread line on the other ----------------------------------------------------
    read_up_to(web.reads, "#lobby", web)
    two = new_page(context)
    two.goto(url)
    logged_in(two, "webby")
    line(two, "see you there", "tel").wait_for(timeout=10000)
    elsewhere = context.new_page()
    back = to_background(web, elsewhere)
    to_background(two, elsewhere)
    tel.send("one more thing")
    for tab in (web, two):
        line(tab, "one more thing", "tel").wait_for(timeout=10000)
        unread_line(tab).wait_for(timeout=5000)
    back()
    unread_line(two).wait_for(state="detached", timeout=10000)

    two.reload()
    logged_in(two, "webby")
    line(two, "one more thing", "tel").wait_for(timeout=10000)
    log = two.locator('[data-testid="log"]').inner_text()
    assert "typing" not in log, log
    assert unread_line(two).count() == 0, "read on the other tab, so not new here"
    assert web.problems == [] and two.problems == [], (web.problems, two.problems)
