"""
Bytes on the wire for tests that speak HTTP and WebSocket by hand: parse
raw HTTP responses, build masked client frames.  Shared by the in-memory
long-poll tests, the fuzzers and the abuse suite.
"""

import json
import struct
from typing import Dict, List, NamedTuple


class Response(NamedTuple):
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def parse_responses(data: bytes, head: bool = False) -> List[Response]:
    """
    Every complete final response in C{data}: interim 1xx answers are
    skipped; bodies by Content-Length or chunked, none for HEAD, 204 or 304.
    """
    out = []
    while b"\r\n\r\n" in data:
        top, rest = data.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for row in lines[1:]:
            name, value = row.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            data = rest
            continue
        if head or status in (204, 304):
            body, data = b"", rest
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if len(rest) < n:
                break
            body, data = rest[:n], rest[n:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while b"\r\n" in rest:
                size_line, rest = rest.split(b"\r\n", 1)
                size = int(size_line, 16)
                body, rest = body + rest[:size], rest[size + 2:]
                if size == 0:
                    break
            data = rest
        else:
            body, data = rest, b""
        out.append(Response(status, headers, body))
    return out


def masked_frame(payload: bytes, opcode: int = 1, fin: bool = True, mask: bytes = b"\x37\xfa\x21\x3d") -> bytes:
    """One client-to-server WebSocket frame (clients must mask, RFC 6455 5.3)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    body = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
    return head + mask + body
