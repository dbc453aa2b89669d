"""A writable file object that seals what is written to it, segment by segment."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from types import TracebackType

from . import _format as fmt
from ._stream import SegmentCipher
from ._types import WritableStream


def _write_all(dst: WritableStream, data: memoryview) -> None:
    done = 0
    while done < len(data):
        n = dst.write(data[done:])
        if n is None:
            return
        if n == 0:
            raise OSError("the destination accepted no bytes")
        done += n


class SealedWriter(io.RawIOBase):
    """Seals the bytes written to it into ``dst``; ``close()`` finishes the document.

    A segment is sealed as soon as more data follows it, so memory stays at
    about two segments whatever is written. The last segment can only be
    known at ``close()``, which seals it with the last-segment flag and then
    calls ``commit``. Leaving a ``with`` block by an exception calls
    :meth:`discard` instead: the partial document is never committed, so a
    failed write cannot leave a shorter document that opens cleanly.
    """

    def __init__(
        self,
        dst: WritableStream,
        header: bytes,
        cipher: SegmentCipher,
        segment_size: int,
        *,
        commit: Callable[[], None] = lambda: None,
        discard: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self._dst = dst
        self._cipher = cipher
        self._size = segment_size
        self._pending = bytearray()
        self._index = 0
        self._commit = commit
        self._discard = discard
        self._out = bytearray()
        self._written = 0
        _write_all(dst, memoryview(header))

    def __repr__(self) -> str:
        return f"<sealdoc writer segments={self._index}>"

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("I/O operation on a closed sealdoc writer")
        view = memoryview(data).cast("B")
        self._pending += view
        # Keep at least one byte back: the segment it belongs to may be the last.
        full = (len(self._pending) - 1) // self._size
        if full > 0:
            self._seal(memoryview(self._pending)[: full * self._size], final=False)
            del self._pending[: full * self._size]
        self._written += len(view)
        return len(view)

    def _seal(self, plaintext: memoryview, *, final: bool) -> None:
        need = len(plaintext) + fmt.TAG_LEN * max(1, -(-len(plaintext) // self._size))
        if len(self._out) < need:
            self._out = bytearray(need)
        out = memoryview(self._out)
        n = self._cipher.seal_run(self._index, plaintext, out, self._size, final=final)
        self._index += max(1, -(-len(plaintext) // self._size))
        _write_all(self._dst, out[:n])

    def close(self) -> None:
        """Seal the last segment and commit the document.

        Called while an exception is propagating (as ``fsspec.open``'s
        ``with`` block does, without telling the file why it closes), it
        discards instead: a write that failed part-way never commits.
        """
        if self.closed:
            return
        if sys.exc_info()[1] is not None:
            self.discard()
            return
        try:
            self._seal(memoryview(self._pending), final=True)
            self._pending = bytearray()
            self._commit()
        except BaseException:
            self._discard()
            raise
        finally:
            super().close()

    def discard(self) -> None:
        """Abandon the document: nothing is committed."""
        if not self.closed:
            self._pending = bytearray()
            self._discard()
            super().close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.close()

    def __del__(self) -> None:
        # Garbage collection must never commit a document nobody closed.
        if not self.closed:
            self.discard()

    @property
    def bytes_written(self) -> int:
        """Plaintext bytes written so far."""
        return self._written
