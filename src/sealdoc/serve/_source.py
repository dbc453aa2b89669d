"""Where the app's documents come from: one small async interface, two adapters.

The app asks a source to open a document by id (its header, read without a
key), and only after ``authorize`` said yes, to unlock it and read byte
ranges. :class:`VaultSource` puts today's synchronous :class:`~sealdoc.Vault`
behind it, each blocking step in a worker thread from a bounded pool;
:class:`AsyncReaderSource` takes anything with an async ``open(doc_id)``
returning a reader with async ``seek``, ``read`` and ``close`` (the shape of
``sealdoc.aio.AsyncVault``). Neither holds segment crypto: the vault's
reader fetches and authenticates segments.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread

from .._deliver import check_recipients, deliver_stream
from .._format import Header, ParsedHeader
from .._vault import Vault
from ..exceptions import FormatError
from ._pipe import piped

_T = TypeVar("_T")
_ETAG_LABEL = b"sealdoc etag v1\x00"
_CHUNK = 64 * 1024
_PIECE = 256 * 1024


def etag_of(parsed: ParsedHeader) -> str:
    """A strong ETag from the header's core: kept by a rewrap, new on rotate or a new version.

    The core holds the salt, nonce prefix and key commitment, which a rotate
    or a new seal draws afresh and a rewrap leaves as they are; the body is
    the same exactly when the core is (format.md 3.1). Nothing is derived
    from the plaintext.
    """
    return '"' + hashlib.sha256(_ETAG_LABEL + parsed.core_bytes).hexdigest()[:32] + '"'


class Opened(Protocol):
    """One document, opened for one request."""

    header: Header
    """The public header (context, suite, wraps); ``plaintext_length`` is None until unlocked."""
    etag: str

    async def unlock(self) -> int:
        """Unwrap the document key; the plaintext length, authenticated."""

    def chunks(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Plaintext bytes ``[start, end)``, a segment at a time, each authenticated."""

    async def plaintext(self) -> bytes:
        """The whole plaintext (for the email copies, which need it whole)."""

    def copy_for(self, to: Sequence[Any]) -> AsyncIterator[bytes]:
        """A copy sealed for ``to`` only, as :func:`sealdoc.deliver` makes it, streamed."""

    async def aclose(self) -> None: ...


class Source(Protocol):
    async def open(self, doc_id: str) -> Opened:
        """The document; DocumentNotFoundError (or InvalidDocumentIdError) if there is none."""


def _segments(start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` pieces of ``[start, end)`` that end on segment boundaries.

    A piece holds whole segments up to ``_PIECE`` bytes (at least one
    segment): small segments are fetched a few at a time, in one store read
    and one thread hop (the reader reads a run of whole segments at once),
    and a request's memory stays within a piece.
    """
    per_piece = max(1, _PIECE // size) * size
    pos = start
    while pos < end:
        n = min(end - pos, per_piece - pos % per_piece if pos % size == 0 else size - pos % size)
        yield pos, n
        pos += n


class _VaultDocument:
    """A Vault document: a file positioned after its header, then a SealedReader."""

    def __init__(self, source: VaultSource, doc_id: str, f: Any, parsed: ParsedHeader) -> None:
        self._source = source
        self._doc_id = doc_id
        self._file = f
        self._parsed = parsed
        self._reader: Any = None
        self.header = parsed.public()
        self.etag = etag_of(parsed)

    def __repr__(self) -> str:
        return f"<sealdoc served document {self._doc_id!r}>"

    async def unlock(self) -> int:
        vault = self._source.vault
        providers = vault._keys("serve documents")

        def unlock() -> int:
            self._reader = vault._reader(self._doc_id, self._file, self._parsed, providers)
            length = self._reader.length
            assert length is not None  # a Vault's file is seekable
            return int(length)

        return await self._source.run(unlock)

    async def chunks(self, start: int, end: int) -> AsyncIterator[bytes]:
        reader = self._reader

        def read_at(offset: int, n: int) -> bytes:
            reader.seek(offset)
            return bytes(reader.read(n))

        for offset, n in _segments(start, end, self.header.segment_size):
            yield await self._source.run(read_at, offset, n)

    async def plaintext(self) -> bytes:
        reader = self._reader

        def read_all() -> bytes:
            reader.seek(0)
            return bytes(reader.read())

        return await self._source.run(read_all)

    def copy_for(self, to: Sequence[Any]) -> AsyncIterator[bytes]:
        # The recipients are checked now, before the response starts: a bad one
        # after it would be a 200 with an empty body.
        keys = self._source.vault._keys("deliver documents")
        return self._copy(keys, check_recipients(keys, list(to)))

    async def _copy(self, keys: Any, to: Sequence[Any]) -> AsyncIterator[bytes]:
        if self._reader is None:
            await self.unlock()
        reader, parsed = self._reader, self._parsed

        def copy(dst: Any) -> None:
            # The same object the grant was given for, sealed afresh as it is read.
            reader.seek(0)
            deliver_stream(reader, parsed, dst, keys=keys, to=list(to))

        async for chunk in piped(copy):
            yield chunk

    async def aclose(self) -> None:
        target = self._reader if self._reader is not None else self._file
        with anyio.CancelScope(shield=True):  # close even when the transfer was cancelled
            await self._source.run(target.close)


class VaultSource:
    """A synchronous Vault, its blocking calls in at most ``threads`` worker threads."""

    def __init__(self, vault: Vault, *, threads: int = 16) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.vault = vault
        self._limiter = anyio.CapacityLimiter(threads)

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def open(self, doc_id: str) -> Opened:
        f, parsed = await self.run(self.vault._open_header, doc_id)
        return _VaultDocument(self, doc_id, f, parsed)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class _AsyncDocument:
    """A document from an async vault's reader (see AsyncReaderSource for the shape)."""

    def __init__(self, vault: Any, doc_id: str, reader: Any, parsed: ParsedHeader) -> None:
        self._vault = vault
        self._doc_id = doc_id
        self._reader = reader
        self.header = parsed.public()
        self.etag = etag_of(parsed)

    async def unlock(self) -> int:
        # The reader is unlocked by open(); its length is authenticated as the sync one's.
        return int(await _maybe_await(self._reader.length))

    async def chunks(self, start: int, end: int) -> AsyncIterator[bytes]:
        for offset, n in _segments(start, end, self.header.segment_size):
            await self._reader.seek(offset)
            yield bytes(await self._reader.read(n))

    async def plaintext(self) -> bytes:
        await self._reader.seek(0)
        return bytes(await self._reader.read(-1))

    async def copy_for(self, to: Sequence[Any]) -> AsyncIterator[bytes]:
        # Whole, as the async vault's deliver makes it; sent in chunks.
        copy = memoryview(bytes(await self._vault.deliver(self._doc_id, to=list(to))))
        for offset in range(0, len(copy), _CHUNK):
            yield bytes(copy[offset : offset + _CHUNK])

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._reader.close()


class AsyncReaderSource:
    """An async vault: ``reader = await vault.open(doc_id)``.

    The reader has async ``seek(offset)``, ``read(n)`` (``-1``: to the end)
    and ``close()``, a ``length`` (an int or an awaitable of one: the
    authenticated plaintext length) and ``parsed_header`` (the
    ``ParsedHeader`` it read, for the ETag and for authorize). ``vault.deliver(doc_id,
    to=...)`` is awaited for the mobile channel (the copy is made whole). The key is unwrapped by
    ``open``, so here authorize runs after the unwrap (the sync Vault's
    adapter asks before it).
    """

    def __init__(self, vault: Any) -> None:
        self.vault = vault

    async def open(self, doc_id: str) -> Opened:
        reader = await self.vault.open(doc_id)
        parsed = getattr(reader, "parsed_header", None)
        if not isinstance(parsed, ParsedHeader):
            await reader.close()
            raise FormatError("the async vault's reader has no parsed_header to serve from")
        return _AsyncDocument(self.vault, doc_id, reader, parsed)


def source_for(vault: object, *, threads: int = 16) -> Source:
    """The source over a Vault, an async vault, or a Source as it is."""
    if isinstance(vault, Vault):
        return VaultSource(vault, threads=threads)
    opener = getattr(vault, "open", None)
    if opener is not None and inspect.iscoroutinefunction(opener):
        return AsyncReaderSource(vault)
    if isinstance(vault, VaultSource | AsyncReaderSource):
        return vault
    raise TypeError(
        f"DocumentApp serves a sealdoc.Vault or an async vault (async open(doc_id)), "
        f"not {type(vault).__name__}"
    )
