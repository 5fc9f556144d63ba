"""
Issue 18's conversation features between real IRC clients and a JSON
WebSocket user, against the real daemon:

- irc-framework (the library behind Kiwi IRC) with draft/multiline:
  a multi-line message both ways as one batch, a reply both ways as
  +draft/reply, a reaction both ways as a +draft/react TAGMSG, a typing
  notice as +typing (tests/e2e/node/ircf_ircv3.mjs is the client);
- irssi in tmux, which negotiates no multiline: a three-line message is
  three lines from the sender, and the reaction is not shown at all.
"""

import queue
import re
import subprocess
import threading

from chatclients import WSUser, of
from test_irc_clients_e2e import Irssi, need
from test_irc_framework_e2e import NODE_DIR, NodeUser, need_irc_framework


class IRCv3User(NodeUser):
    """ircf_ircv3.mjs in a subprocess: JSON commands in, JSON events out (as L{NodeUser})."""

    def __init__(self, port: int, nick: str) -> None:
        self.proc = subprocess.Popen(["node", str(NODE_DIR / "ircf_ircv3.mjs"), str(port), nick], cwd=NODE_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.seen, self.backlog, self.wire = [], [], []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._event), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.wire.append), daemon=True).start()


def msgid_of(event: dict) -> int:
    """chatd's id in a msgid (C{<id>.<room tag>})."""
    return int(event["tags"]["msgid"].split(".")[0])


def test_irc_framework_and_a_websocket_user_share_lines_replies_reactions_and_typing(daemon):
    need_irc_framework()
    ws = WSUser(daemon.ws_url, "wendy", "#lobby")
    kiwi = IRCv3User(daemon.irc_port, "kiwi")
    try:
        caps = kiwi.expect("registered")["caps"]
        assert {"draft/multiline", "batch", "message-tags"} <= set(caps)
        kiwi.send(join="#lobby")
        kiwi.expect("join", nick="kiwi", channel="#lobby")
        ws.wait(of("join", nick="kiwi"))

        # A multiline batch from IRC is one message with line breaks.
        kiwi.send(multiline=["#lobby", ["first line", "second line", "third line"]])
        sent = ws.wait(of("message", **{"from": "kiwi"}))
        assert sent["text"] == "first line\nsecond line\nthird line"

        # A JSON multi-line message reaches irc-framework as one batch.
        ws.command(type="say", room="#lobby", text="roses are red\nviolets are blue")
        poem = kiwi.expect("multiline", nick="wendy")
        assert (poem["target"], poem["message"], poem["lines"]) == ("#lobby", "roses are red\nviolets are blue", 2)

        # Replies both ways.
        ws.command(type="say", room="#lobby", text="who wants tea?")
        question = kiwi.expect("message", nick="wendy", message="who wants tea?")
        kiwi.send(say=["#lobby", "me please"], tags={"+draft/reply": question["tags"]["msgid"]})
        answer = ws.wait(of("message", **{"from": "kiwi", "text": "me please"}))
        assert answer["reply_to"] == msgid_of(question)
        assert answer["reply"] == {"nick": "wendy", "text": "who wants tea?"}
        ws.command(type="say", room="#lobby", text="coming up", reply_to=sent["id"])
        back = kiwi.expect("message", nick="wendy", message="coming up")
        assert msgid_of({"tags": {"msgid": back["tags"]["+draft/reply"]}}) == sent["id"]

        # Reactions both ways.
        kiwi.send(tagmsg=["#lobby", {"+draft/react": "🍵", "+draft/reply": question["tags"]["msgid"]}])
        reaction = ws.wait(of("react", nick="kiwi"))
        assert (reaction["message"], reaction["reaction"]) == (msgid_of(question), "🍵")
        ws.command(type="react", room="#lobby", id=sent["id"], reaction="👍")
        tagged = kiwi.expect("tagmsg", nick="wendy")
        assert tagged["target"] == "#lobby"
        assert (tagged["tags"]["+draft/react"], msgid_of({"tags": {"msgid": tagged["tags"]["+draft/reply"]}})) == (
            "👍", sent["id"])

        # Typing, from the browser's side.
        ws.command(type="typing", room="#lobby", state="active")
        typing = kiwi.expect("tagmsg", nick="wendy")
        assert typing["tags"]["+typing"] == "active"
    finally:
        kiwi.close()
        ws.close()


def test_irssi_sees_a_three_line_message_as_three_lines(daemon, tmp_path):
    need("tmux", "irssi")
    ws = WSUser(daemon.ws_url, "wendy", "#lobby")
    term = Irssi.start(tmp_path, daemon.irc_port, "irene")
    try:
        ws.wait(of("join", nick="irene"), timeout=15)
        Irssi.show(term, "#lobby")
        said = ws.command(type="say", room="#lobby", text="one\ntwo\nthree")
        for text in ("one", "two", "three"):
            term.wait(Irssi.line("wendy", text))
        # A reaction has no form in a client without message-tags: irssi shows nothing for it.
        ws.command(type="react", room="#lobby", id=said["id"], reaction="👍")
        ws.command(type="say", room="#lobby", text="after the reaction")
        term.wait(Irssi.line("wendy", "after the reaction"))
        screen = term.screen().splitlines()
        assert not any("👍" in line or "TAGMSG" in line for line in screen)
        order = [next(n for n, line in enumerate(screen) if re.match(Irssi.line("wendy", text), line))
                 for text in ("one", "two", "three", "after the reaction")]
        assert order == sorted(order) and order[3] - order[0] == 3, screen
    finally:
        term.close()
        ws.close()
