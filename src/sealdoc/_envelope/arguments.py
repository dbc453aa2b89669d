"""Checking what a caller passed to a verb: maps, buffers, suites, segment sizes.

Each helper raises TypeError or ValueError naming the argument, before any
key is touched.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import _format as fmt
from .._format import Suite


def checked_map(
    value: Mapping[str, str] | None, what: str, *, sealing: bool = False
) -> dict[str, str]:
    """``context=`` or ``binding=`` as a checked dict; None is empty."""
    return {} if value is None else fmt.check_map(value, what=what, sealing=sealing)


def checked_encoded_map(
    value: Mapping[str, str] | None, what: str, *, sealing: bool = False
) -> tuple[dict[str, str], bytes]:
    """``checked_map`` and the map's canonical encoding, made by the same check."""
    return fmt.check_and_encode_map({} if value is None else value, what=what, sealing=sealing)


def as_buffer(data: object, what: str) -> memoryview:
    """``data`` as a flat byte view, without a copy."""
    if type(data) is bytes:
        return memoryview(data)
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        return view.cast("B") if view.format != "B" or view.ndim != 1 else view
    raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}")


def as_suite(suite: int) -> Suite:
    if type(suite) is Suite:
        return suite
    try:
        return Suite(suite)
    except ValueError:
        raise ValueError(f"unknown suite {suite!r}; choose one of {list(Suite)}") from None


def checked_segment_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError("segment_size must be an int")
    if not fmt.MIN_SEGMENT_SIZE <= size <= fmt.MAX_SEGMENT_SIZE:
        raise ValueError(
            f"segment_size must be {fmt.MIN_SEGMENT_SIZE}..{fmt.MAX_SEGMENT_SIZE} bytes"
        )
    return size
