# -*- test-case-name: tests.test_logsetup -*-
"""
Where chatd's log events go: C{twistd --logger=chatd.logsetup.observer}.

twistd calls L{observer} with no arguments, before the reactor runs, so
it reads its settings from the environment (the unit file's
C{Environment=}):

  - C{CHATD_LOG_FORMAT}: C{text} (the default: Twisted's readable lines)
    or C{json} (one flat JSON object per line, for journald and log
    shippers; Twisted's own C{jsonFileLogObserver} writes its
    serialisation format, with raw format strings and RS separators,
    which shippers do not want).
  - C{CHATD_LOG_LEVEL}: the lowest level shown, C{info} by default; a
    comma-separated list may add per-namespace levels:
    C{info,chatd.lines=debug}.  A reload can change it live through
    L{set_level}.

Both go to standard output, which systemd hands to the journal.
"""

import json
import math
import os
import sys
from datetime import datetime, timezone
from typing import IO, Any, Dict, List, Mapping, Optional, Tuple

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    textFileLogObserver,
)
from zope.interface import implementer

#: Level names accepted in CHATD_LOG_LEVEL and by L{set_level}.
LEVELS: Dict[str, LogLevel] = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "warning": LogLevel.warn,
    "error": LogLevel.error,
    "critical": LogLevel.critical,
}

FORMATS = ("text", "json")

#: Keys of legacy (twisted.python.log) events that are not the event's own.
_LEGACY = frozenset({"message", "format", "system", "isError", "time", "why", "failure", "printed"})

#: The keys every JSON line starts with; an event field of the same name
#: is written with a trailing underscore instead.
_CORE = ("ts", "level", "ns", "msg", "traceback")

#: The level predicates made by L{observer}, which L{set_level} changes.
_predicates: List[LogLevelFilterPredicate] = []


def parse_levels(spec: str) -> Tuple[LogLevel, Dict[str, LogLevel]]:
    """
    Parse C{"info"} or C{"info,chatd.lines=debug,chatd.store=warn"}.

    @return: the default level and the per-namespace levels.
    @raise ValueError: naming the word that is not a level.
    """
    default = LogLevel.info
    namespaces: Dict[str, LogLevel] = {}
    for item in spec.replace(" ", ",").split(","):
        item = item.strip()
        if not item:
            continue
        namespace, _, name = item.rpartition("=")
        level = LEVELS.get(name.strip().lower())
        if level is None:
            raise ValueError(
                f"log level {name.strip()!r} is not one of {', '.join(n for n in LEVELS if n != 'warning')}"
            )
        if namespace.strip():
            namespaces[namespace.strip()] = level
        else:
            default = level
    return default, namespaces


def _timestamp(when: Optional[float]) -> Optional[str]:
    if when is None:
        return None
    stamp = datetime.fromtimestamp(when, timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _simple(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def eventAsJSON(event: Mapping[str, Any]) -> str:
    """
    One event as one line of flat JSON: C{ts}, C{level}, C{ns}, C{msg}
    (the formatted text), the event's own simple fields (C{peer},
    C{nick}, C{frontend}, C{code}...), and C{traceback} for a failure.

    Fields that are not strings, numbers, booleans or C{None} are left
    out: C{msg} already carries their text, and a shipper wants scalars.
    """
    level = event.get("log_level")
    out: Dict[str, Any] = {
        "ts": _timestamp(event.get("log_time")),
        "level": level.name if level is not None else None,
        "ns": event.get("log_namespace"),
        "msg": formatEvent(event),
    }
    failure = event.get("log_failure")
    if failure is not None:
        try:
            out["traceback"] = failure.getTraceback()
        except Exception as e:  # a broken failure must not lose the line
            out["traceback"] = f"(traceback unavailable: {e!r})"
    for key, value in event.items():
        if key.startswith("log_") or key in _LEGACY or not _simple(value):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        out[key + "_" if key in _CORE else key] = value
    return json.dumps(out, default=str)


@implementer(ILogObserver)
class JSONLinesObserver:
    """Writes each event as one L{eventAsJSON} line to a text file."""

    def __init__(self, outFile: IO[str]) -> None:
        self._out = outFile

    def __call__(self, event: Mapping[str, Any]) -> None:
        self._out.write(eventAsJSON(event) + "\n")
        self._out.flush()


def levelFilter(observer: ILogObserver, spec: str = "info") -> Tuple[FilteringLogObserver, LogLevelFilterPredicate]:
    """
    Wrap C{observer} so that only events at or above the levels in C{spec}
    (see L{parse_levels}) reach it.

    @return: the filtering observer, and its predicate (for L{set_level}).
    """
    predicate = LogLevelFilterPredicate()
    _apply(predicate, *parse_levels(spec))
    return FilteringLogObserver(observer, [predicate]), predicate


def _apply(predicate: LogLevelFilterPredicate, default: LogLevel, namespaces: Dict[str, LogLevel]) -> None:
    predicate.defaultLogLevel = default
    predicate.clearLogLevels()
    for namespace, level in namespaces.items():
        predicate.setLogLevelForNamespace(namespace, level)


def makeObserver(format: str = "text", level: str = "info", outFile: Optional[IO[str]] = None) -> ILogObserver:
    """
    The observer L{observer} builds, with its settings as arguments.

    @raise ValueError: for an unknown format or level.
    """
    if format not in FORMATS:
        raise ValueError(f"log format {format!r} is not one of {', '.join(FORMATS)}")
    # Keep the real stream: twistd then redirects sys.stdout into the log.
    outFile = outFile if outFile is not None else sys.stdout
    inner = JSONLinesObserver(outFile) if format == "json" else textFileLogObserver(outFile)
    filtered, predicate = levelFilter(inner, level)
    _predicates.append(predicate)
    return filtered


def observer(env: Optional[Mapping[str, str]] = None, outFile: Optional[IO[str]] = None) -> ILogObserver:
    """
    The C{twistd --logger} factory: settings from C{CHATD_LOG_FORMAT} and
    C{CHATD_LOG_LEVEL}, output to standard output.

    A bad value stops the daemon before it starts, with one line.
    """
    env = os.environ if env is None else env
    format = env.get("CHATD_LOG_FORMAT", "").strip().lower() or "text"
    level = env.get("CHATD_LOG_LEVEL", "").strip() or "info"
    try:
        return makeObserver(format, level, outFile)
    except ValueError as e:
        raise SystemExit(f"chatd: CHATD_LOG_FORMAT/CHATD_LOG_LEVEL: {e}")


def set_level(spec: str) -> LogLevel:
    """
    Change the levels of every observer L{observer} made, at once (a
    reload): C{"debug"}, or C{"info,chatd.lines=debug"}.  Per-namespace
    levels set earlier are replaced.

    @return: the new default level.
    @raise ValueError: for a word that is not a level; nothing changes.
    """
    default, namespaces = parse_levels(spec)
    for predicate in _predicates:
        _apply(predicate, default, namespaces)
    return default


__all__ = ["observer", "set_level", "makeObserver", "levelFilter", "eventAsJSON", "JSONLinesObserver", "parse_levels"]
