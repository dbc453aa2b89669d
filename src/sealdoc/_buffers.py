"""Buffer helpers: filling a new ``bytes`` in place, writing a whole buffer to a stream."""

from __future__ import annotations

import io
from collections.abc import Callable

from ._types import WritableStream
from .exceptions import StoreError

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


def write_all(dst: WritableStream, data: bytes | bytearray | memoryview) -> int:
    """Write every byte of ``data`` to ``dst``; return ``len(data)``.

    The one write loop of the package, for every sealed header and body
    written to a caller's stream (``seal_stream``, ``SealedWriter``,
    ``rewrap_stream``, ``rotate_stream``, the bulk jobs).

    - A short write (a raw file, a pipe, a socket taking part of the buffer)
      is continued from where it stopped, until all of ``data`` is written.
    - ``None`` from ``write`` means the stream took everything: buffered
      writers and plain objects whose ``write`` returns nothing do that.
      (A non-blocking raw stream returns None for "would block"; sealdoc
      writes only to blocking streams.)
    - ``0`` for a non-empty rest is a stream that makes no progress: it
      raises :class:`~sealdoc.exceptions.StoreError` (also an ``OSError``)
      at once rather than loop forever, and what was written so far is an
      incomplete document that the caller must discard.

    An empty ``data`` writes nothing and calls ``write`` not at all.
    """
    view = memoryview(data)
    total = view.nbytes
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    done = 0
    while done < total:
        n = dst.write(view[done:])
        if n is None:  # a buffered writer, or a write() that returns nothing: took it all
            break
        if n <= 0:
            raise StoreError(
                f"the destination stream accepted no bytes ({done} of {total} written):"
                " the document written to it is incomplete"
            )
        done += n
    return total
