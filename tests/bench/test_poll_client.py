"""
The load generator's long-poll client (bench/node/loadgen.js) reads poll
responses off its own socket: these runs drive it against a long-poll
server of a few lines that frames its answers in ways chatd never does.

A response in pieces is read whole and every message is counted; any
answer the client does not take (another status, chunked encoding,
C{Connection: close}, a response nobody asked for) fails the run with a
message saying what the server sent, never a silent count.
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lacking import lacking

LOADGEN = Path(__file__).resolve().parents[2] / "bench" / "node" / "loadgen.js"


def framed(body: bytes, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s"
            % (status, extra, len(body), body))


def in_pieces(sock, body):
    """Cut inside the status line, inside the blank line and inside the body."""
    data = framed(body)
    blank = data.index(b"\r\n\r\n")
    for start, end in ((0, 7), (7, blank + 2), (blank + 2, blank + 9), (blank + 9, len(data))):
        sock.sendall(data[start:end])
        time.sleep(0.005)


def chunked(sock, body):
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))


def closing(sock, body):
    sock.sendall(framed(body, extra=b"Connection: close\r\n"))


def refused(sock, body):
    sock.sendall(framed(b'{"type":"error","code":"busy"}', status=b"503 Service Unavailable"))


def twice(sock, body):
    sock.sendall(framed(body) * 2)


class LongPollServer:
    """Sessions, commands and polls on 127.0.0.1; C{answer} writes each poll's response."""

    def __init__(self, answer):
        self.answer = answer
        self.events = []
        self.closed = False
        self.changed = threading.Condition()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.serve, args=(sock,), daemon=True).start()

    def serve(self, sock):
        try:
            self.read_requests(sock)
        except OSError:
            pass  # the generator is gone: that connection is over
        finally:
            sock.close()

    def read_requests(self, sock):
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                got = sock.recv(65536)
                if not got:
                    return
                data += got
            head, data = data.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            while len(data) < length:
                got = sock.recv(65536)
                if not got:
                    return
                data += got
            body, data = data[:length], data[length:]
            self.respond(sock, method, target, body)

    def respond(self, sock, method, target, body):
        url = urlsplit(target)
        if method == "POST" and url.path == "/api/sessions":
            sock.sendall(framed(b'{"session":"s%d"}' % id(sock), status=b"201 Created"))
        elif url.path.endswith("/commands"):
            command = json.loads(body)
            if command["type"] == "say":
                with self.changed:
                    self.events.append(json.dumps({"type": "message", "text": command["text"]}).encode())
                    self.changed.notify_all()
            sock.sendall(framed(b'{"type":"ok"}'))
        else:
            after = int(parse_qs(url.query)["after"][0])
            with self.changed:
                self.changed.wait_for(lambda: len(self.events) > after or self.closed, timeout=10)
                if self.closed:
                    return
                events = self.events[after:]
                last = len(self.events)
            self.answer(sock, b'{"events":[%s],"last":%d}' % (b",".join(events), last))

    def close(self):
        with self.changed:
            self.closed = True
            self.changed.notify_all()
        self.listener.close()


def generate(answer, tmp_path):
    """Run the generator: one long-poll receiver, one long-poll sender, 40 messages/s."""
    node = shutil.which("node")
    if node is None:
        lacking("Node.js is not installed; the load generator needs it (apt-get install nodejs)")
    server = LongPollServer(answer)
    spec = {
        "name": "poll client", "dialect": "chatd", "echo": {"poll": True},
        "server_pid": os.getpid(), "web_port": server.port,
        "rooms": 1, "per_room": 1, "room_prefix": "#bench", "receiver_fes": ["poll"],
        "sender_mode": "dedicated", "senders": 1, "sender_fes": ["poll"],
        "mode": "rate", "rate": 40.0, "window": 10, "msg_bytes": 64,
        "warmup_s": 0.2, "measure_s": 0.4, "drain_s": 1.0, "stall_s": 5.0, "concurrency": 4,
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    try:
        proc = subprocess.run([node, str(LOADGEN), str(path)], input="", capture_output=True, text=True, timeout=60)
    finally:
        server.close()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the generator gave no result:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[0][len("RESULT "):])


def test_a_response_in_pieces_is_read_whole(tmp_path):
    result = generate(in_pieces, tmp_path)
    assert result["failures"] == []
    assert result["deliveries_total"] >= 10
    assert result["lost_deliveries"] == 0 and result["receivers_short"] == 0
    assert result["duplicates"] == 0 and result["unexpected"] == 0


@pytest.mark.parametrize("answer, says", [
    (chunked, "a response with Transfer-Encoding (the generator reads Content-Length bodies only)"),
    (closing, "the server closes the connection after this response"),
    (refused, 'HTTP/1.1 503 Service Unavailable {"type":"error","code":"busy"}'),
    (twice, "with no poll outstanding"),
])
def test_a_response_the_client_does_not_take_fails_the_run(tmp_path, answer, says):
    result = generate(answer, tmp_path)
    assert result["failures"], result
    assert any("(poll): poll: " in failure and says in failure for failure in result["failures"]), result["failures"]
