"""How sealdoc's functions read loose arguments: one value or a sequence of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def as_list(value: object) -> list[Any]:
    """A provider, URI or sequence of them, as a list (a str or bytes is one value)."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


__all__ = ["as_list"]
