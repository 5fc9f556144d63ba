"""
The one error registry (chatd.core.errors): every code chatd sends, and
docs/protocol.md listing exactly those codes.
"""

import pathlib
import re

import pytest

from chatd.core import errors
from chatd.core.errors import REGISTRY, ChatError

PROTOCOL = pathlib.Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def documented_codes():
    """The codes in the first column of docs/protocol.md's "Error codes" table."""
    text = PROTOCOL.read_text(encoding="utf-8")
    section = text.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    codes = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            codes.update(re.findall(r"`([a-z0-9-]+)`", row.split("|")[1]))
    return codes


def test_the_protocol_documents_exactly_the_registered_codes():
    """No code is sent that docs/protocol.md does not explain, and the document names no code chatd lacks."""
    documented = documented_codes()
    assert documented - set(REGISTRY) == set(), "documented but not in chatd.core.errors"
    assert set(REGISTRY) - documented == set(), "in chatd.core.errors but not documented"


def test_every_code_belongs_to_one_error_class():
    """The registry maps each code to the one class that carries it, and error() builds it."""
    for code, cls in REGISTRY.items():
        assert issubclass(cls, ChatError) and cls.code == code
        made = errors.error(code, "why")
        assert type(made) is cls and made.code == code and made.message == "why"


def test_an_unregistered_code_is_a_bug():
    """Asking for a code nobody registered fails loudly instead of sending it."""
    with pytest.raises(KeyError):
        errors.error("no-such-code", "why")
