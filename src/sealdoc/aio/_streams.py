"""Async ``seal_stream`` and ``open_stream`` over async byte streams.

A source is an async iterable of byte chunks (a Starlette request's
``stream()``, an aiohttp ``StreamReader.iter_chunked``) or an object with an
``async read(n)``. A destination has a ``write`` that is awaited if it
returns an awaitable, and a ``drain`` awaited after it if it has one (so an
``asyncio.StreamWriter`` works). The rules are the sync verbs': the header
is made by the same ``new_sealer``, each chunk sealed by the same
``SegmentSealer``, each segment opened by the same cipher.
"""

from __future__ import annotations

import collections
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import _format as fmt
from .._buffers import build_bytes
from .._envelope import Keys, Sealer, SegmentSealer, checked_map, new_sealer, providers_of, unlock
from .._format import Header, Suite
from .._reader import joined_header
from .._stream import SegmentCipher, check_final_segment
from ._pool import INLINE_CRYPTO, offload

# The plaintext an async stream reader opens at a time: about 1 MiB keeps the
# per-segment overhead low and each thread hop worth making.
RUN = 1024 * 1024


class Source:
    """Exact-size reads over an async iterable of chunks or an ``async read``."""

    def __init__(self, src: Any) -> None:
        if callable(getattr(src, "read", None)):
            self._read = src.read
            self._chunks: AsyncIterator[bytes] | None = None
        elif isinstance(src, AsyncIterable):
            self._chunks = aiter(src)
        else:
            raise TypeError(
                f"src must be an async iterable of bytes or have an async read(), "
                f"not {type(src).__name__}"
            )
        # chunks received and not yet handed out; the first from ``_offset``
        self._pending: collections.deque[bytes] = collections.deque()
        self._offset = 0

    async def _more(self, n: int) -> bytes:
        if self._chunks is None:
            data = await self._read(n)
        else:
            data = await anext(self._chunks, b"")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("the source must yield bytes")
        return bytes(data)

    def unread(self, data: bytes) -> None:
        """Put ``data`` back in front of what the next read returns."""
        if data:
            if self._offset:
                self._pending[0] = self._pending[0][self._offset :]
                self._offset = 0
            self._pending.appendleft(data)

    async def read_exact(self, n: int) -> bytes:
        """``n`` bytes; fewer only at the end of the stream.

        Each byte is copied once into the result: a large source chunk is
        handed out in pieces without copying its remainder each time.
        """
        parts: list[bytes | memoryview] = []
        have = 0
        while have < n:
            if not self._pending:
                data = await self._more(n - have)
                if not data:
                    break
                self._pending.append(data)
            first = self._pending[0]
            take = min(len(first) - self._offset, n - have)
            parts.append(memoryview(first)[self._offset : self._offset + take])
            have += take
            self._offset += take
            if self._offset == len(first):
                self._pending.popleft()
                self._offset = 0
        return b"".join(parts)


async def sealed_chunks(
    sealer: Sealer, src: Any, pool: ThreadPoolExecutor | None
) -> AsyncIterator[bytes]:
    """The sealed document, header first, a chunk at a time (memory: two chunks)."""
    source = Source(src)
    body = SegmentSealer(sealer)
    yield sealer.header
    current = await source.read_exact(body.chunk)
    while True:
        upcoming = await source.read_exact(body.chunk) if len(current) == body.chunk else b""
        last = not upcoming
        if len(current) > INLINE_CRYPTO:
            yield await offload(pool, _seal, body, current, last)
        else:
            yield _seal(body, current, last)
        if last:
            return
        current = upcoming


def _seal(body: SegmentSealer, data: bytes, last: bool) -> bytes:
    return bytes(body.seal(memoryview(data), last=last))


async def write_to(dst: Any, data: bytes) -> None:
    result = dst.write(data)
    if inspect.isawaitable(result):
        await result
    drain = getattr(dst, "drain", None)
    if callable(drain):
        await drain()


async def seal_stream(
    src: Any,
    dst: Any,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
    segment_size: int = fmt.DEFAULT_SEGMENT_SIZE,
    pool: ThreadPoolExecutor | None = None,
) -> int:
    """Seal everything ``src`` yields into ``dst``; the bytes written. Neither is closed.

    The document key is wrapped in the thread pool (a provider may block);
    large chunks are sealed there too.
    """
    if not callable(getattr(dst, "write", None)):
        raise TypeError(f"dst must have a write(), not {type(dst).__name__}")
    Source(src)  # the source's type is checked before any provider is called
    sealer = await offload(
        pool,
        new_sealer,
        keys,
        context=context,
        binding=binding,
        suite=suite,
        segment_size=segment_size,
    )
    written = 0
    async for piece in sealed_chunks(sealer, src, pool):
        await write_to(dst, piece)
        written += len(piece)
    return written


class AsyncStreamReader:
    """The plaintext of a sealed async stream, read forward only.

    No byte is handed out before its segment has authenticated; the end
    (truncation, extension) is known when the last segment has been read.
    """

    def __init__(
        self,
        source: Source,
        header: Header,
        cipher: SegmentCipher,
        segment_size: int,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        self._source = source
        self.header = header
        self._cipher = cipher
        self._segment_size = segment_size
        self._pool = pool
        self._index = 0
        self._done = False
        self._buffer = b""

    def __repr__(self) -> str:
        return f"<sealdoc async stream reader segment={self._index}>"

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (everything left when negative); ``b""`` at the end."""
        parts, have = [self._buffer], len(self._buffer)
        while (size < 0 or have < size) and not self._done:
            parts.append(await self._next_segment())
            have += len(parts[-1])
        self._buffer = b"".join(parts)
        cut = len(self._buffer) if size < 0 else size
        out, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return out

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while not self._done or self._buffer:
            chunk = self._buffer or await self._next_segment()
            self._buffer = b""
            if chunk:
                yield chunk

    async def _next_segment(self) -> bytes:
        """The plaintext of the next run of segments (about 1 MiB), authenticated."""
        size = self._segment_size
        seg_ct = size + fmt.TAG_LEN
        run = max(1, RUN // size) * seg_ct
        # one byte of lookahead says whether the run ends the document
        data = await self._source.read_exact(run + 1)
        last = len(data) <= run
        if last:
            count = max(1, -(-len(data) // seg_ct))
            check_final_segment(len(data) - (count - 1) * seg_ct, self._index + count - 1)
            self._done = True
        else:
            self._source.unread(data[run:])
            data = data[:run]
            count = run // seg_ct
        first = self._index
        self._index += count
        if len(data) > INLINE_CRYPTO:
            return await offload(self._pool, open_run, self._cipher, first, data, size, last)
        return open_run(self._cipher, first, data, size, last)


def open_run(cipher: SegmentCipher, first: int, data: bytes, size: int, final: bool) -> bytes:
    count = -(-len(data) // (size + fmt.TAG_LEN))

    def fill(out: memoryview) -> None:
        cipher.open_run(first, memoryview(data), out, size, final=final)

    return build_bytes(len(data) - count * fmt.TAG_LEN, fill)


async def open_stream(
    src: Any,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> AsyncStreamReader:
    """A forward-only async reader over the plaintext of a sealed async stream."""
    source = Source(src)
    providers = providers_of(keys)
    ctx = checked_map(context, "context")
    bnd = checked_map(binding, "binding")
    prelude = await source.read_exact(fmt.PRELUDE_LEN)
    rest = await source.read_exact(fmt.parse_prelude(prelude) - fmt.PRELUDE_LEN)
    parsed = joined_header(prelude, rest)
    unlocked = await offload(pool, unlock, parsed, providers, ctx, bnd)
    size = parsed.core.segment_size
    return AsyncStreamReader(source, parsed.public(None), unlocked.cipher(), size, pool)
