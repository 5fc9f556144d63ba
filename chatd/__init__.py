"""
chatd: one chat daemon, many wire formats.

Telnet/nc users, browsers over WebSocket and HTTP long-poll clients share the
same rooms through one core (L{chatd.core}).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
