# -*- test-case-name: tests.test_tap -*-
"""
The twistd plugin's options and service maker: C{twistd -n chatd ...}.

Options in, service out.  The reactor is imported only inside functions,
so C{twistd --reactor=...} can still choose one (see
L{twisted.plugins.chatd_plugin}).
"""

import gc
import sys
from typing import Tuple

from twisted.python import usage

from chatd import config as cfg
from chatd import endpoints


class Options(usage.Options):
    synopsis = "[--config FILE] [--lines ENDPOINT]... [--web ENDPOINT]... [--irc ENDPOINT]... [--db PATH]"
    longdesc = (
        "Run chatd. Settings come from the built-in defaults, then the --config "
        "file (INI, see tap.cfg), then these options. Listeners given here "
        "replace the file's listeners of the same kind."
    )
    optParameters = [
        ["config", "c", None, "Configuration file (INI, like the shipped tap.cfg)."],
        ["db", None, None, "SQLite history file, or :memory: [default: chatd.sqlite3]."],
        ["metrics", None, None, "Serve Prometheus /metrics on ENDPOINT (off by default), e.g. tcp:9465:interface=127.0.0.1."],
        ["admin", None, None, "Operator socket ENDPOINT (off by default), e.g. unix:/run/chatd/admin.sock:mode=600."],
    ]
    optFlags = [
        ["check-config", None, "Check the configuration, print the effective settings and exit."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["lines"] = []
        self["web"] = []
        self["irc"] = []

    def opt_lines(self, endpoint: str) -> None:
        """Listen for telnet/nc users on ENDPOINT (repeatable) [default: tcp:2323:interface=127.0.0.1]."""
        self["lines"].append(endpoint)

    def opt_web(self, endpoint: str) -> None:
        """Serve the browser client, /ws and /api/ on ENDPOINT (repeatable) [default: tcp:8080:interface=127.0.0.1]."""
        self["web"].append(endpoint)

    def opt_irc(self, endpoint: str) -> None:
        """Serve IRC clients on ENDPOINT (repeatable) [default: tcp:6667:interface=127.0.0.1]."""
        self["irc"].append(endpoint)

    def postOptions(self) -> None:
        overrides = {}
        if self["lines"]:
            overrides[("lines", "listen")] = tuple(self["lines"])
        if self["web"]:
            overrides[("web", "listen")] = tuple(self["web"])
        if self["irc"]:
            overrides[("irc", "listen")] = tuple(self["irc"])
        if self["db"] is not None:
            overrides[("history", "db")] = self["db"]
        if self["metrics"] is not None:
            overrides[("metrics", "listen")] = self["metrics"]
        if self["admin"] is not None:
            overrides[("admin", "listen")] = self["admin"]
        self.overrides = overrides
        try:
            self.chat_config = cfg.load(self["config"], overrides)
            # systemd hands its sockets to ExecStart only, not to the
            # ExecStartPre --check-config run: check those strings' shape.
            check_endpoints(self.chat_config, adopt_systemd=not self["check-config"])
        except cfg.ConfigError as e:
            # One line naming the problem, not twistd's whole usage text.
            raise SystemExit(f"chatd: configuration error: {e}")
        if self["check-config"]:
            print("\n".join(cfg.describe(self.chat_config)))
            print("chatd: configuration OK")
            sys.exit(0)


def check_endpoints(config: cfg.Config, adopt_systemd: bool = True) -> None:
    """
    Parse every listener string now, so a typo stops the daemon before it
    starts, with a sentence naming the mistake (not Twisted's exception).
    """
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString

    known = endpoint_types()
    kinds = [("lines", config.lines_listeners()), ("web", config.web_listeners()), ("irc", config.irc_listeners())]
    kinds += [(kind, (value,)) for kind, value in (("metrics", config.metrics), ("admin", config.admin)) if value]
    for kind, descriptions in kinds:
        for description in descriptions:
            wrong = endpoints.problem(description, known)
            if wrong is None:
                try:
                    if description.startswith("systemd:") and not adopt_systemd:
                        _check_systemd_shape(description)
                    else:
                        serverFromString(reactor, description)
                except Exception as e:  # the endpoint parsers raise many types
                    wrong = _parser_error(description, e)
            if wrong:
                raise cfg.ConfigError(f"[{kind}] listen: '{description}': {wrong}")


def endpoint_types() -> Tuple[str, ...]:
    """Every endpoint type Twisted can listen on here: its own and its plugins'."""
    from twisted.internet.interfaces import IStreamServerEndpointStringParser
    from twisted.plugin import getPlugins

    return ("tcp", "ssl", "unix", *(p.prefix for p in getPlugins(IStreamServerEndpointStringParser)))


def _parser_error(description: str, error: Exception) -> str:
    if description.startswith("systemd:") and isinstance(error, (KeyError, IndexError)):
        return ("systemd passed chatd no such socket: start chatd from its socket units "
                "(contrib/systemd), or use tcp: endpoints when running it by hand")
    return str(error) or type(error).__name__


def _check_systemd_shape(description: str) -> None:
    args = dict(part.partition("=")[::2] for part in description.split(":")[1:])
    if args.get("domain") not in ("INET", "INET6", "UNIX"):
        raise ValueError("systemd: endpoints need domain=INET, INET6 or UNIX")
    if ("name" in args) == ("index" in args):
        raise ValueError("systemd: endpoints need exactly one of name= or index=")


def makeService(options: Options):
    from twisted.internet import reactor

    from chatd.service import makeService as make

    path, overrides = options["config"], options.overrides
    service = make(options.chat_config, reactor, loader=lambda: cfg.load(path, overrides))
    service.ready.addCallback(settled)
    return service


def settled(service):
    """
    Once chatd is ready, put everything made while starting (the modules,
    the configuration, the front ends: some 70,000 objects, kept as long
    as the process) out of the garbage collector's way.  Each full
    collection walked them all: with 1,000 members connected it held the
    reactor 30 to 50 ms, every few seconds, which was an interactive
    room's 99th percentile; now it walks only what came later (3 ms).
    """
    gc.collect()
    gc.freeze()
    return service
