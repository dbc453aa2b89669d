"""Filling a new ``bytes`` object in place, without a final copy."""

from __future__ import annotations

import io
from collections.abc import Callable

# Below this a copy is cheaper than setting up the BytesIO.
_SMALL = 64 * 1024


def build_bytes(size: int, fill: Callable[[memoryview], None]) -> bytes:
    """Return a ``bytes`` of ``size`` whose contents ``fill`` writes.

    ``io.BytesIO`` keeps its contents in a ``bytes`` object, lends it out as
    a writable view through ``getbuffer()`` and, once the view is released,
    hands that same object back from ``getvalue()`` (CPython does not copy
    when the sizes match). Sealing 10 MiB into a ``bytearray`` and copying
    it to ``bytes`` costs about half as much again as the encryption itself
    (docs/performance.md). Where an implementation does copy, the result is
    the same, only slower. If ``fill`` raises, the partly written buffer is
    dropped and never reaches the caller.
    """
    if size < _SMALL:
        buf = bytearray(size)
        fill(memoryview(buf))
        return bytes(buf)
    bio = io.BytesIO()
    bio.seek(size - 1)
    bio.write(b"\x00")
    with bio.getbuffer() as view:
        fill(view)
    return bio.getvalue()
