"""twistd plugin: C{twistd -n chatd --help}.  Kept import-free on purpose."""

from twisted.application.service import ServiceMaker

chatd = ServiceMaker("chatd", "chatd.tap", "Multi-front-end chat daemon (telnet, WebSocket, long-poll)", "chatd")
