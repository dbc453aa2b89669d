"""Matching an error's developer details, which ``str()`` leaves out (format.md 9)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TypeVar

import pytest

from sealdoc import DecryptionError, KeyProviderError

E = TypeVar("E", DecryptionError, KeyProviderError)


@contextlib.contextmanager
def fails_with(kind: type[E], pattern: str) -> Iterator[pytest.ExceptionInfo[E]]:
    """Like ``pytest.raises(kind, match=pattern)``, matched against ``details()``."""
    with pytest.raises(kind) as info:
        yield info
    details = info.value.details()
    assert re.search(pattern, details), details
