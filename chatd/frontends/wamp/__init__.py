"""
The WAMP front end: chatd as a WAMP router (broker and dealer) at
C{/wamp} on the web listener, for Autobahn and other WAMP clients.

  - L{uris}: room and session topics, error URIs.
  - L{websocket}: the WebSocket transport, Autobahn's serializers.
  - L{welcome}: HELLO, ticket authentication, WELCOME or ABORT.
  - L{peer}: one session, and the core session's sink; its
    L{topics} (SUBSCRIBE, PUBLISH) and L{calling} (CALL, REGISTER, YIELD).
  - L{procedures}: chat commands as C{chatd.*} procedures.
  - L{broker}, L{dealer}, L{calls}: subscriptions, registrations, routed calls.

docs/wamp.md is the user's guide.
"""
