"""The twistd plugin's service, once ready: what it made while starting is kept out of the garbage collector's way."""

import gc

from chatd import tap


class Cycle:
    """Garbage only the cyclic collector can free."""

    def __init__(self) -> None:
        self.me = self


def test_once_ready_startup_objects_are_frozen_and_later_garbage_is_still_collected():
    made_while_starting = {"settings": [1, 2, 3]}
    gc.unfreeze()
    try:
        service = object()
        assert tap.settled(service) is service
        assert gc.get_freeze_count() > 0
        assert not any(o is made_while_starting for o in gc.get_objects())  # no collection walks it again
        Cycle()
        assert gc.collect() >= 1  # what came later is collected as before
    finally:
        gc.unfreeze()
