"""
A WAMP message's application payload as the spec has it: C{Arguments}
is a list whenever C{ArgumentsKw} follows it (Autobahn writes C{null}
there when it is given None, which stricter clients refuse).
"""

from typing import Optional, Tuple


def payload(args, kwargs) -> Tuple[Optional[list], Optional[dict]]:
    """(args, kwargs) to give an Autobahn message: no empty payload, and a list before any kwargs."""
    if kwargs:
        return list(args or ()), kwargs
    return (list(args) if args else None), None
