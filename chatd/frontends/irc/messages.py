# -*- test-case-name: tests.frontends.test_irc_tags -*-
"""
What an IRC client says: PRIVMSG and NOTICE (one line, or a
C{draft/multiline} batch of them), and the client-only tags chatd
carries: C{+draft/reply} on a message, C{+draft/react} and
C{+draft/unreact} on a TAGMSG (a reaction to a room's message), C{+typing}
on a TAGMSG (a typing notice).  Each becomes the core command that means
the same; other client-only tags are dropped (ISUPPORT's C{CLIENTTAGDENY}
says which are carried).
"""

from typing import Optional

from chatd.core import commands as cmd
from chatd.core.errors import BadCommand, NoSuchMessage
from chatd.core.text import fold
from chatd.frontends.irc import multiline
from chatd.frontends.irc import replies as r
from chatd.frontends.irc.events import new_sent
from chatd.frontends.irc.render import parse_msgid
from chatd.wire import irc

#: The client-only tags chatd carries (all others are dropped).
CARRIED = ("+draft/reply", "+draft/react", "+draft/unreact", "+typing")


def _text(raw: str) -> str:
    """What an IRC client typed, as chatd text: mIRC formatting stripped (the core refuses control characters)."""
    return irc.strip_formatting(raw)


def privmsg(conn, message) -> None:
    verb = message.command
    if "batch" in message.tags:
        multiline.add_line(conn, message)  # the message the batch makes is what costs
        return
    if not message.params:
        conn.reply(message, [conn.replies.numeric(conn.me, r.ERR_NORECIPIENT, f"No recipient given ({verb})")])
        return
    if len(message.params) < 2 or not message.params[1]:
        conn.reply(message, [conn.replies.numeric(conn.me, r.ERR_NOTEXTTOSEND, "No text to send")])
        return
    target, raw = message.params[0], message.params[1]
    if "," in target:
        conn.reply(message, [conn.replies.numeric(conn.me, r.ERR_TOOMANYTARGETS, target,
                                                   "Too many targets: one per message")])
        return
    action = False
    found = irc.ctcp(raw)
    if found is not None:
        verb_ctcp, rest = found
        if verb_ctcp != "ACTION":
            return  # CTCP queries (VERSION, PING, ...) have nobody to answer them in chatd
        action, raw = True, rest
    say(conn, message, target, _text(raw), action)


def say(conn, message, target: str, text: str, action: bool = False) -> None:
    """
    Say C{text} to a room or a nick, as C{message} asked (its label, and
    its C{+draft/reply}: a room message it answers).
    """
    verb = message.command if message.command in ("PRIVMSG", "NOTICE") else "PRIVMSG"
    label = conn.label_of(message)
    if target.startswith("#"):
        reply_to = None
        ref = message.tags.get("+draft/reply")
        if ref:
            reply_to = parse_msgid(ref, target)
            if reply_to is None:
                conn.fail(verb, NoSuchMessage(f"{ref} is not a message of {target}, so there is nothing to reply "
                                              "to; the message was not sent."), target)
                return
        cid = None
        if label is not None and "echo-message" in conn.caps:
            cid = conn.echo_label(label)
        kind = cmd.Action if action else cmd.Say
        d = conn.core(kind(room=target, text=text, cid=cid, reply_to=reply_to), verb, target)
        if label is not None and "echo-message" not in conn.caps:
            d.addCallback(lambda result: conn.reply(message, []) if result is not None else None)
        return
    if action:
        text = f"* {conn.session.nick} {text}"
    if conn.sent_privates is None:
        conn.sent_privates = new_sent()
    conn.sent_privates.append((fold(target), text))
    d = conn.core(cmd.Msg(to=target, text=text), verb, target)
    d.addCallback(_sent_privately, conn, message, target, label)


def _sent_privately(result, conn, message, target: str, label) -> None:
    """A private message went out: 301 if its recipient is away (told to this connection only)."""
    if result is None:
        return
    away = getattr(result, "away", None)
    if away and message.command == "PRIVMSG":
        conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_AWAY, target, away)])
    elif label is not None:
        conn.reply(message, [])


def batch(conn, message) -> None:
    """A client's C{draft/multiline} batch: its lines become one chatd message with line breaks."""
    if not message.params or len(message.params[0]) < 2 or message.params[0][0] not in "+-":
        multiline.fail(conn, "MULTILINE_INVALID", "BATCH +ref draft/multiline TARGET, or BATCH -ref")
        return
    if message.params[0][0] == "+":
        multiline.open_batch(conn, message)
        return
    done = multiline.close_batch(conn, message)
    if done is not None:
        # Blank lines at either end are not part of a chatd message.
        lines = done.text.split("\n")
        while not lines[-1].strip():
            lines.pop()
        while not lines[0].strip():
            lines.pop(0)
        say(conn, done.opening, done.target, _text("\n".join(lines)))


def tagmsg(conn, message) -> None:
    """
    TAGMSG: a reaction (C{+draft/react} or C{+draft/unreact}, with
    C{+draft/reply} naming a room's message) and a typing notice
    (C{+typing}) go to the core; a TAGMSG with neither is taken and
    dropped.
    """
    if not message.params or not message.params[0]:
        conn.reply(message, [conn.replies.numeric(conn.me, r.ERR_NORECIPIENT, "No recipient given (TAGMSG)")])
        return
    target = message.params[0]
    tags = message.tags
    label = conn.label_of(message)
    room = target.startswith("#")
    typing = tags.get("+typing")
    reaction = tags.get("+draft/react") or tags.get("+draft/unreact")
    if room and reaction:
        _react(conn, message, target, reaction, label)
    if typing:
        d = conn.core(cmd.Typing(state=typing, **({"room": target} if room else {"to": target})), "TAGMSG", target)
        if label is not None and not (room and reaction):
            d.addCallback(lambda result: conn.reply(message, []) if result is not None else None)
    if not typing and not (room and reaction):
        # Nothing chatd carries (a reaction in a private conversation, an
        # unknown tag): one flood token, and the label's ACK.
        conn.session.submit(1, conn.size, lambda: conn.reply(message, []) if label is not None else None)


def _react(conn, message, target: str, reaction: str, label: Optional[str]) -> None:
    ref = message.tags.get("+draft/reply")
    if not ref:
        conn.fail("TAGMSG", BadCommand("A reaction names the message it is on: add +draft/reply=MSGID."), target)
        return
    id = parse_msgid(ref, target)
    if id is None:
        conn.fail("TAGMSG", NoSuchMessage(f"{ref} is not a message of {target}; the reaction was not sent."), target)
        return
    unreact = "+draft/react" not in message.tags
    kind = cmd.Unreact if unreact else cmd.React
    echo = label is not None and "echo-message" in conn.caps
    if echo:
        conn.echo_label(label, f"{kind.name} {fold(target)} {id} {reaction}")
    d = conn.core(kind(room=target, id=id, reaction=reaction), "TAGMSG", target)
    if label is not None and not echo:
        d.addCallback(lambda result: conn.reply(message, []) if result is not None else None)


__all__ = ["privmsg", "say", "batch", "tagmsg", "CARRIED"]
