"""The async reader of one stored document: seek, read, close, ``async with``.

It fetches exactly the segments a read covers (one ranged request per read,
the layout from :class:`sealdoc._stream.BodyLayout`), all of one version of
the object, and hands out only bytes of segments that authenticated. Each
read is a whole request, so a reader cancelled mid-read (a client that went
away) holds no connection: the cancelled request is dropped with its task.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

from .._format import Header, ParsedHeader
from .._store.base import Head
from .._stream import BodyLayout, SegmentCipher, seek_target
from ..exceptions import DecryptionError
from ._pool import INLINE_CRYPTO, offload
from ._store import AsyncStore
from ._streams import open_run

CHUNK = 1024 * 1024  # what ``async for`` yields at a time


class AsyncReader:
    """The plaintext of one document, read from its store on demand.

    ``header`` is the document's public header; ``size`` its plaintext
    length, from the stored size: a read that reaches the end authenticates
    it (a truncated or extended object fails there), and
    :meth:`verified_size` authenticates it at once.
    """

    def __init__(
        self,
        store: AsyncStore,
        path: str,
        head: Head,
        *,
        parsed: ParsedHeader,
        cipher: SegmentCipher,
        pool: ThreadPoolExecutor | None,
        verified: bool = False,
    ) -> None:
        self._store = store
        self._path = path
        self._version = head.version
        self._base = len(parsed.raw)
        self._layout = BodyLayout(head.size - self._base, parsed.core.segment_size)
        self._cipher = cipher
        self._pool = pool
        self.header: Header = parsed.public(self._layout.length)
        self.size: int = self._layout.length
        self._pos = 0
        self._cache_first = -1
        self._cache = b""
        # True when the caller already authenticated this version's length
        # (a server's cache of it, held per version and checked per request)
        self._end_checked = verified
        self.closed = False

    def __repr__(self) -> str:
        return f"<sealdoc async reader pos={self._pos} size={self.size}>"

    async def __aenter__(self) -> AsyncReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._cache = b""
        self.closed = True

    def tell(self) -> int:
        self._check_open()
        return self._pos

    async def seek(self, offset: int, whence: int = 0) -> int:
        self._check_open()
        if whence == 2:
            await self.verified_size()
        self._pos = seek_target(self._pos, offset, whence, self.size)
        return self._pos

    async def verified_size(self) -> int:
        """The plaintext length, once the last segment has authenticated."""
        if not self._end_checked:
            last = self._layout.count - 1
            cache = self._cache_first, self._cache
            await self._segments(last, 1)
            self._cache_first, self._cache = cache  # keep the run being read
        return self.size

    async def _prefetch(self, offset: int, n: int) -> None:
        """Fetch the run of segments covering ``[offset, offset + n)`` and authenticate the length.

        The two at once: when the run does not reach the last segment, that
        segment is fetched concurrently with it (two GETs in flight, not one
        after the other). Nothing is handed out; the next read of the run is
        served from what this fetched.
        """
        self._check_open()
        want = min(n, self.size - offset)
        if want <= 0:
            await self.verified_size()
            return
        first, count = self._layout.covering(offset, want)
        if self._end_checked or first + count == self._layout.count:
            await self._segments(first, count)
            return
        fetches = [
            asyncio.ensure_future(self._fetch(first, count)),
            asyncio.ensure_future(self._fetch(self._layout.count - 1, 1)),
        ]
        try:
            run, _ = await asyncio.gather(*fetches)
        except BaseException:
            for fetch in fetches:  # gather leaves the other one running
                fetch.cancel()
            raise
        self._end_checked = True
        self._cache_first, self._cache = first, run

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); ``b""`` at the end."""
        self._check_open()
        want = self.size - self._pos if size < 0 else min(size, self.size - self._pos)
        if want <= 0:
            if size != 0:
                await self.verified_size()  # the end is only reported once authenticated
            return b""
        first, count = self._layout.covering(self._pos, want)
        plain, at = await self._segments(first, count)
        offset = at + self._pos - first * self._layout.segment_size
        self._pos += want
        return plain[offset : offset + want]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(CHUNK):
            yield chunk

    async def _segments(self, first: int, count: int) -> tuple[bytes, int]:
        """The plaintext of segments ``first`` .. ``first + count - 1``, authenticated.

        Returned as a buffer and the offset of segment ``first`` in it: the
        last run stays cached, so small sequential reads cost no request.
        """
        seg = self._layout.segment_size
        if self._cache_first >= 0 and first >= self._cache_first:
            offset = (first - self._cache_first) * seg
            if offset + min(count * seg, self.size - first * seg) <= len(self._cache):
                return self._cache, offset
        plain = await self._fetch(first, count)
        self._cache_first, self._cache = first, plain
        if first + count == self._layout.count:
            self._end_checked = True
        return plain, 0

    async def _fetch(self, first: int, count: int) -> bytes:
        """Segments ``first`` .. ``first + count - 1``, fetched and authenticated (no caching)."""
        seg = self._layout.segment_size
        start, end = self._layout.span(first, count)
        data = await self._store.read_range(
            self._path, self._base + start, self._base + end, self._version
        )
        if len(data) != end - start:
            raise DecryptionError("the source changed length while being read")
        final = first + count == self._layout.count
        if len(data) > INLINE_CRYPTO:
            plain = await offload(self._pool, open_run, self._cipher, first, data, seg, final)
        else:
            plain = open_run(self._cipher, first, data, seg, final)
        return plain

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed sealdoc reader")
