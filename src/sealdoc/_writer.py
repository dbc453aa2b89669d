"""A writable file object that seals what is written to it, segment by segment."""

from __future__ import annotations

import dis
import io
import logging
import sys
from collections.abc import Callable
from types import FrameType, TracebackType

from . import _format as fmt
from ._buffers import write_all
from ._stream import SegmentCipher
from ._types import WritableStream

logger = logging.getLogger("sealdoc")
_WITH_EXCEPT_START = dis.opmap.get("WITH_EXCEPT_START")


def _exiting_frames() -> set[tuple[int, int]] | None:
    """The frames now running the exit of a ``with`` block that an exception is leaving.

    A frame whose current instruction is WITH_EXCEPT_START is calling the
    ``__exit__`` of one of its ``with`` blocks because the block raised;
    everything further down the stack, this call included, runs inside that
    ``__exit__``. ``None`` on a Python that cannot show its frames.
    """
    getframe = getattr(sys, "_getframe", None)
    if getframe is None or _WITH_EXCEPT_START is None:
        return None
    found = set()
    frame: FrameType | None = getframe(1)
    while frame is not None:
        code, at = frame.f_code.co_code, frame.f_lasti
        if 0 <= at < len(code) and code[at] == _WITH_EXCEPT_START:
            found.add((id(frame), at))
        frame = frame.f_back
    return found


class SealedWriter(io.RawIOBase):
    """Seals the bytes written to it into ``dst``; ``close()`` finishes the document.

    A segment is sealed as soon as more data follows it, so memory stays at
    about two segments whatever is written. The last segment can only be
    known at ``close()``, which seals it with the last-segment flag and then
    calls ``commit``. Leaving a ``with`` block by an exception calls
    :meth:`discard` instead: the partial document is never committed, so a
    failed write cannot leave a shorter document that opens cleanly. That
    holds for a ``with`` block around a wrapper that closes this writer
    without passing the exception on (``with fsspec.open(...)``, pandas'
    handles, a ``TextIOWrapper``). A ``close()`` called by the caller, even in
    an ``except`` clause, commits; :meth:`discard` abandons.
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
        name: str = "",
    ) -> None:
        super().__init__()
        self._name = name
        # `with` exits already under way when the writer was made (it is made
        # inside some __exit__ that handles an error): not this writer's business
        self._ambient = _exiting_frames() or set()
        self._dst = dst
        self._cipher = cipher
        self._size = segment_size
        self._pending = bytearray()
        self._index = 0
        self._commit = commit
        self._discard = discard
        self._out = bytearray()
        self._written = 0
        write_all(dst, header)

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
        write_all(self._dst, out[:n])

    def close(self) -> None:
        """Seal the last segment and commit the document.

        Called from the exit of a ``with`` block that an exception is leaving
        (fsspec's ``with fsspec.open(...)`` closes its files that way without
        telling them why), it discards instead, and logs a warning: a write
        that failed part-way never commits. Called any other way, even in an
        ``except`` clause handling some other error, it commits.
        """
        if self.closed:
            return
        why = self._failed_exit() if sys.exc_info()[1] is not None else None
        if why is not None:
            self._discard_because(why)
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

    def _failed_exit(self) -> str | None:
        """Why this close must discard, or None: is a ``with`` block around it failing?"""
        name = _name_of_current()
        exiting = _exiting_frames()
        if exiting is None:  # cannot tell: never commit what may be half a document
            return f"{name} was being handled, and this Python cannot show where from"
        return f"the with block around it raised {name}" if exiting - self._ambient else None

    def _discard_because(self, why: str) -> None:
        logger.warning(
            "sealdoc: the sealed file %r was discarded, nothing was committed: %s",
            self._name or "(unnamed)",
            why,
        )
        self.discard()

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
            self._discard_because(f"the with block raised {exc_type.__name__}")
        else:
            self.close()

    def __del__(self) -> None:
        # Garbage collection must never commit a document nobody closed.
        if not self.closed:
            try:
                self._discard_because("it was never closed")
            except Exception:  # at interpreter exit, logging may be gone
                self.discard()

    @property
    def bytes_written(self) -> int:
        """Plaintext bytes written so far."""
        return self._written


def _name_of_current() -> str:
    exc = sys.exc_info()[1]
    return type(exc).__name__ if exc is not None else "an exception"
