# -*- test-case-name: tests.frontends.test_wamp_rpc -*-
"""A running CALL of a session on this node: where its RESULT or ERROR goes."""

from autobahn.wamp import message

from chatd.frontends.wamp import uris
from chatd.frontends.wamp.dealer import Answer
from chatd.frontends.wamp.payload import payload


class CallerAnswer(Answer):
    """
    Answers the caller's CALL C{request} once (progressive results first,
    if it asked for them); the call then stops counting against the
    session's running calls.
    """

    __slots__ = ("peer", "request")

    def __init__(self, peer, request: int) -> None:
        self.peer = peer
        self.request = request

    def _done(self) -> bool:
        """Forget the call; False if it had already ended (answered, canceled, the caller gone)."""
        return self.peer.calls.pop(self.request, None) is self

    def result(self, args, kwargs, progress: bool = False) -> None:
        if progress:
            if self.peer.calls.get(self.request) is self:
                args, kwargs = payload(args, kwargs)
                self.peer.send(message.Result(self.request, args=args, kwargs=kwargs, progress=True))
            return
        if self._done():
            args, kwargs = payload(args, kwargs)
            self.peer.send(message.Result(self.request, args=args, kwargs=kwargs))

    def error(self, uri: str, args=None, kwargs=None) -> None:
        if self._done():
            args, kwargs = payload(args, kwargs)
            self.peer.send(message.Error(message.Call.MESSAGE_TYPE, self.request, uri, args=args, kwargs=kwargs))

    def chat_error(self, e) -> None:
        """A chat command's refusal: C{chatd.error.<code>}, chatd's message as the first argument."""
        self.error(uris.error_uri(e.code), [e.message], {"code": e.code, "message": e.message})
