"""
What a test does when a tool it drives is not on this machine: in CI
(C{CI=true}) it fails, so a broken CI image is never a green run;
elsewhere it skips, saying what to install.
"""

import os

import pytest


def lacking(message: str) -> None:
    """Fail in CI, skip elsewhere, with C{message} (what is missing and how to get it)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
