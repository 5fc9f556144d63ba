# -*- test-case-name: tests.frontends.test_irc_multiline -*-
"""
A client's C{draft/multiline} batch: C{BATCH +ref draft/multiline
target}, its PRIVMSG lines, C{BATCH -ref}, collected into one chatd
message with line breaks.

A line joins the one before it with a line feed, or directly when tagged
C{draft/multiline-concat} (a long line the client cut to fit).  The
limits are the ones C{CAP LS} states, the core's own: at most
C{[limits] max_message} bytes (line feeds count one each) and
C{[limits] max_lines} lines.  A batch over either, or malformed, is
refused whole with the specification's C{FAIL BATCH} code, and the rest
of it is dropped; what a batch holds is bounded by those limits, so an
unclosed batch costs no more than a full one.

A batch is collected as its lines arrive, before flood control: the
message it makes is then handed to the core where C{BATCH -ref} came, in
order with the commands around it, and costs what one message costs.
"""

from typing import Optional

from chatd.core.text import fold
from chatd.wire import irc

#: A batch's reference is the client's to choose, within reason.
_REF_MAX = 64


def limits(rules) -> str:
    """The C{draft/multiline} capability's value."""
    return f"max-bytes={rules.max_message},max-lines={rules.max_lines}"


class Incoming:
    """
    One batch being received.

    @ivar opening: the C{BATCH +ref} message, whose tags (label, a reply)
        apply to the whole message.
    @ivar text: the message so far; None once the batch was refused.
    """

    __slots__ = ("ref", "target", "opening", "text", "size", "lines", "pieces")

    def __init__(self, ref: str, target: str, opening) -> None:
        self.ref = ref
        self.target = target
        self.opening = opening
        self.text: Optional[str] = ""
        self.size = 0
        self.lines = 0
        self.pieces = 0


def fail(conn, code: str, *params: str) -> None:
    """A refusal: it costs the flood token the lines of a batch do not (so a stream of bad lines is slowed)."""
    line = irc.line("FAIL", "BATCH", code, *params, source=conn.settings.server)
    conn.session.submit(1, conn.size, lambda: conn.lines([line]))


def open_batch(conn, message) -> None:
    """C{BATCH +ref draft/multiline target}: start collecting (and abandon a batch left open)."""
    ref = message.params[0][1:]
    if len(message.params) < 3 or message.params[1] != "draft/multiline" or "draft/multiline" not in conn.caps:
        fail(conn, "MULTILINE_INVALID", "Only draft/multiline batches are accepted, after CAP REQ draft/multiline")
        conn.multiline = _refused(ref, message)
        return
    if not ref or len(ref) > _REF_MAX:
        fail(conn, "MULTILINE_INVALID", f"A batch reference has 1 to {_REF_MAX} characters")
        conn.multiline = _refused(ref, message)
        return
    current = conn.multiline
    if current is not None and current.text is not None:
        fail(conn, "MULTILINE_INVALID",
              f"Batch {current.ref} was never closed; it was not sent, and batch {ref} replaces it")
    conn.multiline = Incoming(ref, message.params[2], message)


def _refused(ref: str, message) -> Incoming:
    """A batch refused at its opening: its lines are dropped quietly, its close ends it."""
    batch = Incoming(ref, message.params[2] if len(message.params) > 2 else "*", message)
    batch.text = None
    return batch


def add_line(conn, message) -> None:
    """A line tagged C{batch=ref}: part of the open batch, or dropped with its refused batch."""
    batch = conn.multiline
    ref = message.tags.get("batch")
    if batch is None or batch.ref != ref:
        fail(conn, "MULTILINE_INVALID", f"No batch {ref} is open; that line was not sent")
        return
    if batch.text is None:
        return  # the batch was refused: its other lines go with it
    rules = conn.session.hub.rules
    if message.command != "PRIVMSG":
        _refuse(conn, batch, "MULTILINE_INVALID", "A multiline batch holds PRIVMSG lines only")
        return
    target = message.params[0] if message.params else ""
    if fold(target) != fold(batch.target):  # chatd's names: #Lobby is #lobby
        _refuse(conn, batch, "MULTILINE_INVALID_TARGET", batch.target, target or "*",
                "Every line of a multiline batch goes to the batch's target")
        return
    text = message.params[1] if len(message.params) > 1 else ""
    concat = "draft/multiline-concat" in message.tags and batch.pieces > 0
    if concat and not text.strip():
        _refuse(conn, batch, "MULTILINE_INVALID", "A draft/multiline-concat line may not be blank")
        return
    size = batch.size + len(text.encode("utf-8")) + (0 if concat or not batch.pieces else 1)
    lines = batch.lines + (0 if concat else 1)
    if size > rules.max_message:
        _refuse(conn, batch, "MULTILINE_MAX_BYTES", str(rules.max_message),
                f"A multiline message has at most {rules.max_message} bytes; it was not sent")
        return
    if lines > rules.max_lines or batch.pieces >= rules.max_lines + rules.max_message // 64:
        _refuse(conn, batch, "MULTILINE_MAX_LINES", str(rules.max_lines),
                f"A multiline message has at most {rules.max_lines} lines; it was not sent")
        return
    batch.text += text if concat or not batch.pieces else "\n" + text
    batch.size, batch.lines, batch.pieces = size, lines, batch.pieces + 1


def _refuse(conn, batch: Incoming, code: str, *params: str) -> None:
    batch.text = None
    fail(conn, code, *params)


def close_batch(conn, message) -> Optional[Incoming]:
    """C{BATCH -ref}: the finished batch, if it is one to send (a refused or empty one is not)."""
    batch = conn.multiline
    ref = message.params[0][1:]
    if batch is None or batch.ref != ref:
        fail(conn, "MULTILINE_INVALID", f"No batch {ref} is open")
        return None
    conn.multiline = None
    if batch.text is None:
        return None
    if not batch.text.strip():
        fail(conn, "MULTILINE_INVALID", "The multiline batch holds no text; nothing was sent")
        return None
    return batch
