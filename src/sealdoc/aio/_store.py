"""The store seam of the async face: what AsyncVault needs from a backend.

Paths are store-relative, as in :mod:`sealdoc._store.base`; errors are the
same sealdoc errors. Two kinds of backend: object stores reached natively
async (obstore, :mod:`sealdoc._store.objects`), and every other store (a
local folder, memory, fsspec) through :class:`ThreadedStore`, which runs the
sync backend's calls in the bounded pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO, Protocol

from .._store.base import Entry, Head, VaultStore
from ..exceptions import DocumentChangedError, StoreError
from ._pool import offload

if TYPE_CHECKING:
    from .._store.objects import ObjectStore

_PAGE = 1000  # listed entries fetched per thread hop


class AsyncStore(Protocol):
    async def head(self, path: str, length: int) -> Head:
        """At most ``length`` bytes from the start, with the object's size and version."""
        ...

    async def read_range(self, path: str, start: int, end: int, version: str) -> bytes:
        """Bytes ``start`` .. ``end`` of ``version``; DocumentChangedError if it is gone."""
        ...

    async def get(self, path: str) -> bytes:
        """The whole object, one version of it."""
        ...

    async def put(self, path: str, data: bytes | AsyncIterator[bytes]) -> str:
        """Make ``path`` hold ``data`` atomically (nothing visible on failure or cancel)."""
        ...

    async def delete(self, path: str) -> None: ...

    def list(self, prefix: str) -> AsyncIterator[Entry]:
        """Objects under ``prefix`` (pushed down), in path order, page by page."""
        ...


class ThreadedStore:
    """A sync backend run in the bounded pool: same locks, same compare-and-swap."""

    def __init__(self, store: VaultStore, pool: ThreadPoolExecutor | None) -> None:
        self._store = store
        self._pool = pool

    def __repr__(self) -> str:
        return f"ThreadedStore({self._store!r})"

    async def head(self, path: str, length: int) -> Head:
        return await offload(self._pool, self._store.read_head, path, length)

    async def read_range(self, path: str, start: int, end: int, version: str) -> bytes:
        return await offload(self._pool, self._read_range, path, start, end, version)

    def _read_range(self, path: str, start: int, end: int, version: str) -> bytes:
        with self._store.open_range(path, start, version) as f:
            return f.read(end - start)

    async def get(self, path: str) -> bytes:
        return await offload(self._pool, self._get, path)

    def _get(self, path: str) -> bytes:
        head = self._store.read_head(path, 1 << 20)
        if head.size <= len(head.data):
            return head.data
        with self._store.open_range(path, len(head.data), head.version) as f:
            rest = f.read()
        if len(head.data) + len(rest) != head.size:
            raise DocumentChangedError(f"{path!r} changed while it was read")
        return head.data + rest

    async def put(self, path: str, data: bytes | AsyncIterator[bytes]) -> str:
        if isinstance(data, bytes):
            return await offload(self._pool, self._store.put, path, _writer(data))
        # The sync backend pulls the chunks from the loop as it writes them:
        # memory stays at one chunk, and a cancelled put fails the write.
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def write(f: BinaryIO) -> None:
            while True:
                pending = asyncio.run_coroutine_threadsafe(_next(data), loop)
                while True:
                    if cancelled.is_set():
                        pending.cancel()
                        raise StoreError(f"the put of {path!r} was cancelled; nothing was written")
                    try:
                        piece = pending.result(timeout=0.5)
                        break
                    except concurrent.futures.TimeoutError:
                        continue
                if piece is None:
                    return
                f.write(piece)

        try:
            return await offload(self._pool, self._store.put, path, write)
        except asyncio.CancelledError:
            cancelled.set()  # the writer thread stops at its next chunk; the store aborts
            raise

    async def delete(self, path: str) -> None:
        await offload(self._pool, self._store.delete, path)

    async def list(self, prefix: str) -> AsyncIterator[Entry]:
        listing = iter(self._store.list(prefix))

        def page() -> list[Entry]:
            return [entry for _, entry in zip(range(_PAGE), listing, strict=False)]

        while True:
            entries = await offload(self._pool, page)
            for entry in entries:
                yield entry
            if len(entries) < _PAGE:
                return


class NativeStore:
    """obstore's async calls for the documents; the sync backend's listing, run in the pool."""

    def __init__(self, native: ObjectStore, listing: ThreadedStore) -> None:
        self._native = native
        self._listing = listing

    def __repr__(self) -> str:
        return f"NativeStore({self._native!r})"

    async def head(self, path: str, length: int) -> Head:
        return await self._native.head(path, length)

    async def read_range(self, path: str, start: int, end: int, version: str) -> bytes:
        return await self._native.read_range(path, start, end, version)

    async def get(self, path: str) -> bytes:
        return await self._native.get(path)

    async def put(self, path: str, data: bytes | AsyncIterator[bytes]) -> str:
        return await self._native.put(path, data)

    async def delete(self, path: str) -> None:
        await self._native.delete(path)

    def list(self, prefix: str) -> AsyncIterator[Entry]:
        return self._listing.list(prefix)


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


def _writer(data: bytes) -> Callable[[BinaryIO], object]:
    return lambda f: f.write(data)
