"""The plaintext reader returned by open_stream: sequential or random access."""

from __future__ import annotations

import io
import os
from typing import cast

from . import _format as fmt
from ._buffers import build_bytes
from ._format import ParsedHeader
from ._stream import BodyLayout, SegmentCipher, check_final_segment, seek_target
from ._types import ReadableStream, SeekableStream
from .exceptions import DecryptionError, FormatError


def read_exact(src: ReadableStream, n: int) -> bytes:
    """Up to ``n`` bytes; fewer only at end of stream."""
    parts: list[bytes] = []
    remaining = n
    while remaining:
        chunk = src.read(remaining)
        if chunk is None:
            raise OSError("the source is non-blocking and has no data ready")
        if not chunk:
            break
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError("the source must be opened in binary mode")
        parts.append(bytes(chunk))
        remaining -= len(chunk)
    return b"".join(parts)


def read_into(src: ReadableStream, view: memoryview) -> int:
    """Fill ``view`` from ``src``; fewer bytes only at end of stream."""
    readinto = getattr(src, "readinto", None)
    have = 0
    while have < len(view):
        if readinto is not None:
            got = readinto(view[have:])
            if got is None:
                raise OSError("the source is non-blocking and has no data ready")
        else:
            chunk = src.read(len(view) - have)
            if chunk is None:
                raise OSError("the source is non-blocking and has no data ready")
            got = len(chunk)
            view[have : have + got] = chunk
        if not got:
            break
        have += got
    return have


def read_header(src: ReadableStream) -> ParsedHeader:
    """Read and parse one header, bounding memory before trusting header_len."""
    prelude = read_exact(src, fmt.PRELUDE_LEN)
    rest = read_exact(src, fmt.parse_prelude(prelude) - fmt.PRELUDE_LEN)
    return joined_header(prelude, rest)


def joined_header(prelude: bytes, rest: bytes) -> ParsedHeader:
    """The header of a prelude and the rest read after it (either face's reads)."""
    header_len = fmt.parse_prelude(prelude)
    if len(rest) < header_len - fmt.PRELUDE_LEN:
        raise FormatError(f"truncated header: {len(prelude) + len(rest)} of {header_len} bytes")
    return fmt.parse_header(prelude + rest)


def _seekable(src: ReadableStream) -> bool:
    try:
        return bool(cast(SeekableStream, src).seekable())
    except (AttributeError, OSError, ValueError):
        return False


class SealedReader(io.RawIOBase):
    """Reads the plaintext of one sealed document.

    Every byte handed out comes from a segment that has been authenticated
    as a whole, for its position. Truncation and extension are caught when
    the end is read; on a seekable source also as soon as the length is
    needed (``length``, ``seek`` from the end), which authenticates the last
    segment first. A read from the middle fetches only the segments it
    covers.
    """

    def __init__(self, src: ReadableStream, parsed: ParsedHeader, cipher: SegmentCipher) -> None:
        super().__init__()
        self._src = cast(SeekableStream, src)  # seek/tell used only when seekable
        self._cipher = cipher
        self._size = parsed.core.segment_size
        self._pos = 0
        self._cache_index = -1
        self._cache = b""
        self._random = _seekable(src)
        self._ct_buffer = bytearray()
        self._owns_source = False
        self._length: int | None = None
        if self._random:
            self._base = self._src.tell()
            end = self._src.seek(0, os.SEEK_END)
            # From the size; trusted once the last segment has authenticated.
            self._layout = BodyLayout(end - self._base, self._size)
            self._length = self._layout.length
            self._count = self._layout.count
            self._length_checked = False
        else:
            self._next = 0  # next segment the sequential reader will read
            self._lookahead = b""
            self._done = False

    def __repr__(self) -> str:
        return f"<sealdoc reader pos={self._pos} length={self._length}>"

    # -- io.RawIOBase ---------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._random

    def tell(self) -> int:
        self._check_open()
        return self._pos

    @property
    def length(self) -> int | None:
        """The plaintext length, authenticated; None until known on an unseekable source."""
        if self._random:
            self._check_length()
        return self._length

    def _check_length(self) -> None:
        """Authenticate the last segment, and with it the length."""
        if not self._length_checked:
            index, cache = self._cache_index, self._cache
            self._load(self._count - 1)
            if index >= 0:  # keep the segment being read in the cache
                self._cache_index, self._cache = index, cache

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._check_open()
        if not self._random:
            raise io.UnsupportedOperation("the sealed source is not seekable")
        assert self._length is not None
        if whence == os.SEEK_END:
            self._check_length()
        self._pos = seek_target(self._pos, offset, whence, self._length)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        self._check_open()
        out = memoryview(buffer).cast("B")
        done = 0
        while done < len(out):
            if self._random:
                direct = self._read_whole_segments(out[done:])
                if direct:
                    done += direct
                    continue
            segment = self._segment_at(self._pos)
            if segment is None:
                break
            offset = self._pos - self._cache_index * self._size
            n = min(len(segment) - offset, len(out) - done)
            if n <= 0:
                break
            out[done : done + n] = segment[offset : offset + n]
            done += n
            self._pos += n
        return done

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes; the result is allocated once, at its final size."""
        self._check_open()
        if size is None or size < 0:
            return self.readall()
        if not self._random:
            return super().read(size) or b""
        assert self._length is not None
        want = max(0, min(size, self._length - self._pos))
        if want == 0 and size > 0:
            self._check_length()  # end of file is only reported once authenticated

        def fill(out: memoryview) -> None:
            got = self.readinto(out)
            if got != want:  # pragma: no cover - the length was authenticated at open
                raise DecryptionError("the source changed length while being read")

        return build_bytes(want, fill)

    def readall(self) -> bytes:
        self._check_open()
        if self._random:
            data = self.read(max(0, (self._length or 0) - self._pos))
            self._check_length()  # reading to the end authenticates the end
            return data
        parts: list[bytes] = []
        while True:
            chunk = self.read(1024 * 1024)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    def _read_whole_segments(self, out: memoryview) -> int:
        """Decrypt aligned, whole, non-final segments straight into ``out``.

        Saves a segment-sized allocation and copy per segment on large
        sequential reads. If a segment fails, the bytes written into ``out``
        for this call are zeroed before the error is raised, so no
        unauthenticated plaintext is left in the caller's buffer.
        """
        index, offset = divmod(self._pos, self._size)
        count = min(len(out) // self._size, self._count - 1 - index)
        if offset or count <= 0:
            return 0
        start, end = self._layout.span(index, count)
        need = end - start
        if len(self._ct_buffer) < need:
            self._ct_buffer = bytearray(need)
        view = memoryview(self._ct_buffer)[:need]
        self._src.seek(self._base + start)
        if read_into(self._src, view) != need:
            raise DecryptionError("the source changed length while being read")
        target = out[: count * self._size]
        try:
            written = self._cipher.open_run(index, view, target, self._size, final=False)
        except DecryptionError:
            target[:] = bytes(len(target))
            raise
        self._pos += written
        return written

    # -- segments ---------------------------------------------------------------------

    def _segment_at(self, pos: int) -> bytes | None:
        index = pos // self._size
        if index == self._cache_index:
            return self._cache
        if self._random:
            if index >= self._count:
                self._check_length()  # end of file is only reported once authenticated
                return None
            self._load(index)
            return self._cache
        return self._sequential(index)

    def _load(self, index: int) -> None:
        start, end = self._layout.span(index)
        self._src.seek(self._base + start)
        last = index == self._count - 1
        data = read_exact(self._src, self._size + fmt.TAG_LEN)
        if len(data) != end - start:
            raise DecryptionError("the source changed length while being read")
        self._cache = self._cipher.open(index, last, data)
        self._cache_index = index
        if last:
            self._length_checked = True

    def _sequential(self, index: int) -> bytes | None:
        if index != self._next:
            # Only reachable after end of stream: positions only move forward.
            return None
        if self._done:
            return None
        seg_ct = self._size + fmt.TAG_LEN
        data = self._lookahead + read_exact(self._src, seg_ct - len(self._lookahead))
        self._lookahead = b""
        if len(data) == seg_ct:
            self._lookahead = read_exact(self._src, 1)
            last = not self._lookahead
        else:
            check_final_segment(len(data), index)
            last = True
        self._cache = self._cipher.open(index, last, data)
        self._cache_index = index
        self._next = index + 1
        if last:
            self._done = True
            self._length = index * self._size + len(self._cache)
        return self._cache

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed sealdoc reader")

    def close_source_on_close(self) -> None:
        """Make this reader close its source too (when it opened the source itself)."""
        self._owns_source = True

    def close(self) -> None:
        self._cache = b""
        if not self.closed and self._owns_source:
            close = getattr(self._src, "close", None)
            if callable(close):
                close()
        super().close()
