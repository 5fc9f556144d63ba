# -*- test-case-name: tests.test_config -*-
"""
Configuration: built-in defaults, then tap.cfg, then the command line.

The file is INI (L{configparser}) with interpolation off (C{%} appears in
passwords and formats) and inline comments after whitespace-C{#}.  A key
may hold several values on indented continuation lines (listeners).

Everything is checked here, before any listener starts, and a problem is
reported as one L{ConfigError} sentence naming the section, key and value.
"""

import configparser
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

from chatd.core.rules import Rules

DEFAULT_LINES = "tcp:2323:interface=127.0.0.1"
DEFAULT_WEB = "tcp:8080:interface=127.0.0.1"
DEFAULT_IRC = "tcp:6667:interface=127.0.0.1"


class ConfigError(Exception):
    """The configuration is unusable; the message says where and why."""


@dataclass(frozen=True)
class WebConfig:
    """The web listener: static client, WebSocket at /ws, long-poll at /api/."""

    listen: Tuple[str, ...] = ()
    #: Directory of the browser client; empty means the one chatd ships.
    static: str = ""
    #: Origins (scheme://host[:port]) allowed besides the page's own.
    allowed_origins: Tuple[str, ...] = ()
    max_frame: int = 65536
    max_message: int = 65536
    max_connections: int = 10000
    ping_interval: int = 30
    ping_timeout: int = 30
    open_handshake_timeout: int = 5
    close_handshake_timeout: int = 2
    #: Seconds an HTTP request's headers may take to arrive (slowloris).
    header_timeout: int = 10
    #: Seconds a whole HTTP request, body included, may take to arrive.
    request_timeout: int = 30
    #: Long-poll: default and largest poll hold, in seconds.
    poll_timeout: int = 25
    max_poll_timeout: int = 60
    #: Long-poll: a session that has not polled for this long expires.
    session_idle: int = 60
    #: Long-poll: events kept per session before the oldest are dropped.
    backlog: int = 1000
    #: Long-poll: largest request body in bytes (413 above it).
    max_body: int = 65536
    #: Long-poll: origins allowed to call /api/ cross-site (CORS); empty: off.
    cors_origins: Tuple[str, ...] = ()
    #: Proxies (addresses, networks) whose word about a client's address
    #: is taken, by every listener; empty: nobody's.
    trusted_proxies: Tuple[str, ...] = ()
    #: WAMP ([wamp] call_timeout): seconds a routed call may run before the caller gets wamp.error.timeout.
    wamp_call_timeout: int = 60
    #: WAMP ([wamp] pending_calls): calls one WAMP session may have running at once.
    wamp_pending_calls: int = 64


@dataclass(frozen=True)
class IrcConfig:
    """The IRC front end (docs/irc.md): its listeners and what IRC clients are told."""

    listen: Tuple[str, ...] = ()
    #: The network name in ISUPPORT (NETWORK=); empty: [server] name.
    network: str = ""
    #: Seconds of silence before chatd sends a PING, and then waits for its PONG.
    ping_interval: int = 90
    ping_timeout: int = 60
    #: HAProxy's PROXY protocol header from trusted proxies: off, v1 or v2.
    proxy_protocol: str = "off"


@dataclass(frozen=True)
class ClusterConfig:
    """Several nodes sharing rooms through Redis (docs/cluster.md); off while C{redis} is empty."""

    #: Redis's Twisted client endpoint string (tcp:, tls:, unix:).
    redis: str = ""
    password: str = ""
    username: str = ""
    db: int = 0
    #: This node's name, unique in the cluster; empty: host name and first listener's port.
    node: str = ""
    #: Seconds a node may go silent before it is taken for dead.
    node_timeout: int = 15
    #: Refuse a Redis without an append-only file.
    require_aof: bool = True


@dataclass(frozen=True)
class Config:
    name: str = "chatd"
    motd: str = "Welcome to chatd."
    #: Seconds SIGTERM waits for clients to be told and the store flushed.
    shutdown_grace: int = 5
    lines: Tuple[str, ...] = ()
    #: Longest line the line front end accepts, in bytes.
    max_line: int = 16384
    #: Seconds a line client may take to choose a nick before it is closed.
    registration_timeout: int = 60
    #: Seconds of silence after which a line client is closed; 0: never.
    idle_timeout: int = 0
    #: HAProxy's PROXY protocol header from trusted proxies on [lines] listen: off, v1 or v2.
    lines_proxy_protocol: str = "off"
    #: Open connections allowed from one address (IPv6: one /64), and in
    #: total, across every listener.
    connections_per_ip: int = 20
    max_connections: int = 10000
    #: Per-connection outgoing buffer bound in bytes; past it the client
    #: is disconnected (it reads too slowly to keep up).
    sendq: int = 262144
    web: WebConfig = field(default_factory=WebConfig)
    irc: IrcConfig = field(default_factory=IrcConfig)
    #: SQLite history file; ":memory:" keeps history in memory only.
    db: str = "chatd.sqlite3"
    durability: str = "normal"
    retention_messages: int = 100000
    retention_days: int = 365
    #: Prometheus /metrics listener and operator admin socket; empty: off.
    metrics: str = ""
    admin: str = ""
    #: Log level, e.g. "info" or "info,chatd.lines=debug"; empty: info.
    log_level: str = ""
    #: How passwords are hashed: argon2-cffi's RFC 9106 low-memory profile,
    #: or (for test suites only) its cheapest one.
    password_hashing: str = "rfc9106-low-memory"
    rules: Rules = field(default_factory=Rules)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    def lines_listeners(self) -> Tuple[str, ...]:
        return self.lines or (DEFAULT_LINES,)

    def web_listeners(self) -> Tuple[str, ...]:
        return self.web.listen or (DEFAULT_WEB,)

    def irc_listeners(self) -> Tuple[str, ...]:
        return self.irc.listen or (DEFAULT_IRC,)


#: (section, key) -> (where it goes, kind).  Where: "top", "web", "irc", "rules" or "cluster".
_KEYS: Dict[Tuple[str, str], Tuple[str, str, str]] = {
    ("server", "name"): ("top", "name", "str"),
    ("server", "motd"): ("top", "motd", "str"),
    ("server", "shutdown_grace"): ("top", "shutdown_grace", "int"),
    ("lines", "listen"): ("top", "lines", "list"),
    ("lines", "max_line"): ("top", "max_line", "int"),
    ("lines", "registration_timeout"): ("top", "registration_timeout", "int"),
    ("lines", "idle_timeout"): ("top", "idle_timeout", "int"),
    ("lines", "proxy_protocol"): ("top", "lines_proxy_protocol", "str"),
    ("limits", "connections_per_ip"): ("top", "connections_per_ip", "int"),
    ("limits", "max_connections"): ("top", "max_connections", "int"),
    ("limits", "sendq"): ("top", "sendq", "int"),
    ("limits", "max_message"): ("rules", "max_message", "int"),
    ("limits", "max_lines"): ("rules", "max_lines", "int"),
    ("limits", "max_topic"): ("rules", "max_topic", "int"),
    ("limits", "rooms_per_session"): ("rules", "rooms_per_session", "int"),
    ("limits", "max_rooms"): ("rules", "max_rooms", "int"),
    ("limits", "flood_rate"): ("rules", "flood_rate", "int"),
    ("limits", "flood_burst"): ("rules", "flood_burst", "int"),
    ("limits", "recvq"): ("rules", "recvq", "int"),
    ("history", "db"): ("top", "db", "str"),
    ("history", "durability"): ("top", "durability", "str"),
    ("history", "scrollback"): ("rules", "scrollback", "int"),
    ("history", "history_max"): ("rules", "history_max", "int"),
    ("history", "replay_max"): ("rules", "replay_max", "int"),
    ("history", "retention_messages"): ("top", "retention_messages", "int"),
    ("history", "retention_days"): ("top", "retention_days", "int"),
    ("metrics", "listen"): ("top", "metrics", "str"),
    ("admin", "listen"): ("top", "admin", "str"),
    ("log", "level"): ("top", "log_level", "str"),
    ("server", "operators"): ("rules", "operators", "names"),
    ("accounts", "nick_grace"): ("rules", "nick_grace", "int"),
    ("accounts", "token_days"): ("rules", "token_days", "int"),
    ("accounts", "allow_cleartext"): ("rules", "allow_cleartext", "bool"),
    ("accounts", "password_hashing"): ("top", "password_hashing", "str"),
    ("web", "listen"): ("web", "listen", "list"),
    ("web", "static"): ("web", "static", "str"),
    ("web", "allowed_origins"): ("web", "allowed_origins", "list"),
    ("web", "max_frame"): ("web", "max_frame", "int"),
    ("web", "max_message"): ("web", "max_message", "int"),
    ("web", "max_connections"): ("web", "max_connections", "int"),
    ("web", "ping_interval"): ("web", "ping_interval", "int"),
    ("web", "ping_timeout"): ("web", "ping_timeout", "int"),
    ("web", "open_handshake_timeout"): ("web", "open_handshake_timeout", "int"),
    ("web", "close_handshake_timeout"): ("web", "close_handshake_timeout", "int"),
    ("web", "header_timeout"): ("web", "header_timeout", "int"),
    ("web", "request_timeout"): ("web", "request_timeout", "int"),
    ("web", "poll_timeout"): ("web", "poll_timeout", "int"),
    ("web", "max_poll_timeout"): ("web", "max_poll_timeout", "int"),
    ("web", "session_idle"): ("web", "session_idle", "int"),
    ("web", "backlog"): ("web", "backlog", "int"),
    ("web", "max_body"): ("web", "max_body", "int"),
    ("web", "cors_origins"): ("web", "cors_origins", "list"),
    ("web", "trusted_proxies"): ("web", "trusted_proxies", "list"),
    ("wamp", "call_timeout"): ("web", "wamp_call_timeout", "int"),
    ("wamp", "pending_calls"): ("web", "wamp_pending_calls", "int"),
    ("irc", "listen"): ("irc", "listen", "list"),
    ("irc", "network"): ("irc", "network", "str"),
    ("irc", "ping_interval"): ("irc", "ping_interval", "int"),
    ("irc", "ping_timeout"): ("irc", "ping_timeout", "int"),
    ("irc", "proxy_protocol"): ("irc", "proxy_protocol", "str"),
    ("cluster", "redis"): ("cluster", "redis", "str"),
    ("cluster", "password"): ("cluster", "password", "str"),
    ("cluster", "username"): ("cluster", "username", "str"),
    ("cluster", "db"): ("cluster", "db", "int"),
    ("cluster", "node"): ("cluster", "node", "str"),
    ("cluster", "node_timeout"): ("cluster", "node_timeout", "int"),
    ("cluster", "require_aof"): ("cluster", "require_aof", "bool"),
}

#: Settings that existed once, and what an operator should do instead.
_GONE = {
    ("limits", "flood_strikes"): "input past the flood rate is now held and run late, never refused; "
    "[limits] recvq bounds what is held. Remove the line.",
}

#: Limits where 0 would mean "unlimited": refused, so no limit is ever off.
_POSITIVE = {
    "max_line", "sendq", "registration_timeout", "connections_per_ip", "shutdown_grace", "max_frame", "max_message", "max_connections",
    "ping_interval", "ping_timeout", "open_handshake_timeout", "close_handshake_timeout", "header_timeout",
    "request_timeout", "poll_timeout", "max_poll_timeout", "session_idle", "backlog", "max_body",
    "retention_messages", "retention_days", "node_timeout",
}


_BOOLEANS = {"yes": True, "true": True, "on": True, "1": True, "no": False, "false": False, "off": False, "0": False}

#: How passwords may be hashed ([accounts] password_hashing).
PASSWORD_HASHING = ("rfc9106-low-memory", "test-cheapest")


def _convert(section: str, key: str, kind: str, raw: str):
    if kind == "str":
        return raw.strip()
    if kind == "list":
        return tuple(raw.split())
    if kind == "names":
        from chatd.core.text import fold

        return tuple(fold(name) for name in raw.replace(",", " ").split())
    if kind == "bool":
        value = raw.strip().lower()
        if value not in _BOOLEANS:
            raise ConfigError(f"[{section}] {key} = {raw.strip()!r}: expected yes or no.")
        return _BOOLEANS[value]
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"[{section}] {key} = {raw!r}: expected a whole number.")
    if value < 0 or (key in _POSITIVE and value == 0):
        raise ConfigError(
            f"[{section}] {key} = {value}: must be at least 1 (0 would switch the limit off)."
            if key in _POSITIVE
            else f"[{section}] {key} = {value}: must not be negative."
        )
    return value


def parse(text: str, source: str = "tap.cfg") -> Dict[Tuple[str, str], object]:
    """Parse INI text into {(section, key): value}; unknown keys are errors."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=source)
    except configparser.Error as e:
        raise ConfigError(f"{source} is not a valid INI file: {e}".replace("\n", " "))
    values: Dict[Tuple[str, str], object] = {}
    for section in parser.sections():
        for key, raw in parser.items(section):
            spec = _KEYS.get((section, key))
            if (section, key) in _GONE:
                raise ConfigError(f"{source}: [{section}] {key} is no longer a setting: {_GONE[section, key]}")
            if spec is None:
                known = sorted(k for s, k in _KEYS if s == section)
                hint = f" Known keys in [{section}]: {', '.join(known)}." if known else (
                    f" Known sections: {', '.join(sorted({s for s, _ in _KEYS}))}."
                )
                raise ConfigError(f"{source}: unknown setting [{section}] {key}.{hint}")
            values[(section, key)] = _convert(section, key, spec[2], raw)
    return values


def build(values: Dict[Tuple[str, str], object], base: Optional[Config] = None) -> Config:
    """Apply parsed values over C{base} (the defaults) and check the result."""
    config = base or Config()
    top, web, irc, rules, cluster = {}, {}, {}, {}, {}
    for (section, key), value in values.items():
        where, name, _ = _KEYS[(section, key)]
        {"top": top, "web": web, "irc": irc, "rules": rules, "cluster": cluster}[where][name] = value
    try:
        new_rules = replace(config.rules, **rules)
    except ValueError as e:
        # Rules name their fields; say which tap.cfg line that is.
        name, _, why = str(e).partition(" must ")
        where = [(s, k) for (s, k), spec in _KEYS.items() if spec[:2] == ("rules", name)]
        if not where:
            raise ConfigError(f"[limits]/[history]: {e}")
        (section, key), = where
        raise ConfigError(f"[{section}] {key} = {rules.get(name, '')}: must {why.rstrip('.')}.")
    config = replace(config, web=replace(config.web, **web), irc=replace(config.irc, **irc), rules=new_rules,
                     cluster=replace(config.cluster, **cluster), **top)
    if config.log_level:
        from chatd.logsetup import parse_levels

        try:
            parse_levels(config.log_level)
        except ValueError as e:
            raise ConfigError(f"[log] level = {config.log_level!r}: {e}")
    if config.password_hashing not in PASSWORD_HASHING:
        raise ConfigError(f"[accounts] password_hashing = {config.password_hashing!r}: expected one of "
                          f"{', '.join(PASSWORD_HASHING)} (the second only for test suites).")
    if config.durability not in ("normal", "full"):
        raise ConfigError(f"[history] durability = {config.durability!r}: expected 'normal' or 'full'.")
    if config.web.poll_timeout > config.web.max_poll_timeout:
        raise ConfigError("[web] poll_timeout must not exceed max_poll_timeout.")
    if config.web.max_frame > config.web.max_message:
        raise ConfigError("[web] max_frame must not exceed max_message.")
    for key in ("call_timeout", "pending_calls"):
        if getattr(config.web, "wamp_" + key) < 1:
            raise ConfigError(f"[wamp] {key} = {getattr(config.web, 'wamp_' + key)}: must be 1 or more.")
    _check_proxies(config)
    _check_cluster(config.cluster)
    return config


#: The PROXY protocol versions a line or IRC listener may expect ([lines] / [irc] proxy_protocol).
PROXY_PROTOCOLS = ("off", "v1", "v2")


def _check_proxies(config: Config) -> None:
    from chatd.frontends.proxies import TrustedProxies

    try:
        TrustedProxies(config.web.trusted_proxies)
    except ValueError as e:
        raise ConfigError(f"[web] trusted_proxies: {e}.")
    for section, version in (("lines", config.lines_proxy_protocol), ("irc", config.irc.proxy_protocol)):
        if version not in PROXY_PROTOCOLS:
            raise ConfigError(f"[{section}] proxy_protocol = {version!r}: expected off, v1 or v2 "
                              "(the PROXY protocol version the load balancer sends).")
        if version != "off" and not config.web.trusted_proxies:
            raise ConfigError(f"[{section}] proxy_protocol = {version} needs [web] trusted_proxies: the addresses of "
                              "the load balancers allowed to send the header (no one else is believed).")


def _check_cluster(cluster: ClusterConfig) -> None:
    if cluster.node and not all(c.isalnum() or c in "._-" for c in cluster.node):
        raise ConfigError(f"[cluster] node = {cluster.node!r}: a node's name is letters, digits, '.', '_' and '-'.")
    if cluster.redis and ":" not in cluster.redis:
        raise ConfigError(f"[cluster] redis = {cluster.redis!r}: expected a Twisted client endpoint string such as "
                          "tcp:host=127.0.0.1:port=6379 (or tls:..., unix:path=...).")
    if not cluster.redis and (cluster.node or cluster.password or cluster.username):
        raise ConfigError("[cluster] needs redis = ENDPOINT to run as a node of a cluster; without it, remove the "
                          "[cluster] section and chatd runs alone on [history] db.")


def load(path: Optional[str], overrides: Dict[Tuple[str, str], object]) -> Config:
    """
    Read C{path} (if given) and apply command-line C{overrides} on top:
    a listener kind given on the command line replaces the file's.
    """
    values: Dict[Tuple[str, str], object] = {}
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ConfigError(f"cannot read config file {path}: {e.strerror}.")
        except UnicodeDecodeError:
            raise ConfigError(f"config file {path} is not UTF-8 text.")
        values = parse(text, path)
    values.update(overrides)
    return build(values)


def describe(config: Config) -> List[str]:
    """
    The effective settings for --check-config, written as tap.cfg is (its
    sections in its order, its key names), so an operator can find and
    edit each one.  L{_KEYS} says which setting is which.
    """
    order = ["server", "lines", "web", "wamp", "irc", "history", "limits", "accounts", "metrics", "admin", "log", "cluster"]
    order += [s for s in dict.fromkeys(s for s, _ in _KEYS) if s not in order]
    effective = {("lines", "listen"): config.lines_listeners(), ("web", "listen"): config.web_listeners(),
                 ("irc", "listen"): config.irc_listeners()}
    holders = {"top": config, "web": config.web, "irc": config.irc, "rules": config.rules, "cluster": config.cluster}
    out: List[str] = []
    for section in order:
        out.append(f"[{section}]")
        for (s, key), (where, name, kind) in _KEYS.items():
            if s != section:
                continue
            value = effective.get((s, key), getattr(holders[where], name))
            if (s, key) == ("cluster", "password") and value:
                value = "(set)"
            if kind == "list":
                out.append(f"{key} =" + "".join(f"\n    {item}" for item in value))
            elif kind == "names":
                out.append(f"{key} = {' '.join(value)}".rstrip())
            elif kind == "bool":
                out.append(f"{key} = {'yes' if value else 'no'}")
            else:
                out.append(f"{key} = {value}".rstrip().replace("\n", "\n    "))
        out.append("")
    return out[:-1]
