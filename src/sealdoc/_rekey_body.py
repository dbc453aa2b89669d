"""A sealed body passing through a rewrap: its length checked, its segments authenticated.

The bytes and stream forms of rewrap walk a body the same way, in chunks
of whole segments, so that both find the same fault with the same message
(docs/lifecycle.md, "rewrap or rotate?"). Constant memory: two chunks of
about 1 MiB for a stream, one scratch chunk to authenticate into.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import cast

from . import _format as fmt
from ._format import ParsedHeader
from ._reader import read_into
from ._stream import SegmentCipher, plaintext_length
from ._types import ReadableStream, SeekableStream
from .exceptions import DecryptionError

_CHUNK = 1024 * 1024
_PROBE = 64 * 1024


def chunk_length(segment_size: int) -> int:
    """About 1 MiB of whole segments: one read, one authentication run, one write."""
    seg_ct = segment_size + fmt.TAG_LEN
    return seg_ct * max(1, _CHUNK // seg_ct)


class BodyCheck:
    """Authenticates a body's segments in order, as chunks of whole segments come by.

    The plaintext goes to a scratch buffer that is overwritten by the next
    chunk and dropped at the end: nothing decrypted leaves this object.
    """

    def __init__(self, cipher: SegmentCipher, segment_size: int) -> None:
        self._cipher = cipher
        self._size = segment_size
        self._index = 0
        self._scratch = bytearray()

    def __repr__(self) -> str:
        return "BodyCheck(<secret>)"

    def __call__(self, chunk: memoryview, *, final: bool) -> None:
        if len(self._scratch) < len(chunk):
            self._scratch = bytearray(len(chunk))
        out = memoryview(self._scratch)[: len(chunk)]
        self._cipher.open_run(self._index, chunk, out, self._size, final=final)
        self._index += len(chunk) // (self._size + fmt.TAG_LEN)


def view_chunks(body: memoryview, segment_size: int) -> Iterator[tuple[memoryview, bool]]:
    """A body in memory as (chunk, is the last) pairs; at least one, maybe empty."""
    step = chunk_length(segment_size)
    for start in range(0, max(len(body), 1), step):
        yield body[start : start + step], start + step >= len(body)


def stream_chunks(
    src: ReadableStream, segment_size: int, length: int | None
) -> Iterator[tuple[memoryview, bool]]:
    """The rest of ``src`` as (chunk, is the last) pairs, reading one chunk ahead.

    Reading ahead is how an unseekable source tells its last chunk (the one
    whose final segment is flagged last) before handing it out. A chunk is
    valid only until the next one is asked for. With the body's ``length``
    known, a small body gets buffers of its own size, not of a (crafted)
    16 MiB segment.
    """
    step = chunk_length(segment_size)
    if length is not None:
        step = min(step, max(length, 1))  # one chunk holds it all: alignment no longer matters
    # A bulk rewrap passes a header-only stream for every document: a first
    # read of at most 64 KiB finds such an empty body without zero-filling
    # 2 MiB of buffers for it; a longer body grows the buffer to full chunks.
    probe = min(step, _PROBE)
    current = bytearray(probe)
    with memoryview(current) as view:
        have = read_into(src, view)
    if have == probe < step:
        current.extend(bytes(step - probe))
        with memoryview(current) as view:
            have += read_into(src, view[probe:])
    upcoming: bytearray | None = None
    while True:
        more = 0
        if have == step:
            upcoming = upcoming if upcoming is not None else bytearray(step)
            with memoryview(upcoming) as view:
                more = read_into(src, view)
        yield memoryview(current)[:have], more == 0
        if more == 0:
            return
        assert upcoming is not None
        current, upcoming, have = upcoming, current, more


def seekable_body(src: ReadableStream, parsed: ParsedHeader) -> int | None:
    """The body's length, checked as the bytes form checks it; None if ``src`` cannot seek.

    Called with ``src`` just past the header, and leaves it there.
    """
    try:
        seekable = cast(SeekableStream, src)
        if not seekable.seekable():
            return None
        here = seekable.tell()
    except (AttributeError, OSError, ValueError):
        return None
    end = seekable.seek(0, os.SEEK_END)
    seekable.seek(here)
    plaintext_length(end - here, parsed.core.segment_size)  # DecryptionError if truncated
    return end - here


def verify_ahead(src: ReadableStream, check: BodyCheck, segment_size: int, length: int) -> None:
    """Authenticate the whole body of a seekable ``src``, then rewind to the body's start."""
    seekable = cast(SeekableStream, src)
    start = seekable.tell()
    seen = 0
    for chunk, final in stream_chunks(src, segment_size, length):
        seen += len(chunk)
        if final and seen != length:
            raise DecryptionError("the source changed length while being read")
        check(chunk, final=final)
    seekable.seek(start)


def checked_chunks(
    src: ReadableStream, segment_size: int, *, length: int | None, check: BodyCheck | None
) -> Iterator[memoryview]:
    """The body of ``src`` chunk by chunk, each checked before it is handed out.

    With ``length`` (a seekable source, already checked) the body must still
    be that long; with ``check`` every segment is authenticated, and the
    body's length with its last segment. Without either (an unseekable
    source, no verify) the body is passed on as it comes.
    """
    seen = 0
    for chunk, final in stream_chunks(src, segment_size, length):
        seen += len(chunk)
        if final and length is not None and seen != length:
            raise DecryptionError("the source changed length while being read")
        if check is not None:
            if final:
                plaintext_length(seen, segment_size)  # the same message as the bytes form
            check(chunk, final=final)
        yield chunk
