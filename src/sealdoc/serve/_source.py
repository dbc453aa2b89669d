"""Where the app's documents come from: one small async interface, two adapters.

The app asks a source to open a document by id (its header, read without a
key), and only after ``authorize`` said yes, to unlock it and read byte
ranges. :class:`VaultSource` puts the synchronous :class:`~sealdoc.Vault`
behind it, each blocking step in a worker thread from a bounded pool;
:class:`AsyncVaultSource` puts :class:`sealdoc.aio.AsyncVault` behind it.
Both use their vault's own split of ``open`` (the header, then the unlock),
so authorize runs before any key is unwrapped. Neither holds segment crypto:
the vault's reader fetches and authenticates segments.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread
import attrs

from .._deliver import check_recipients, deliver_stream
from .._format import Header, ParsedHeader
from .._store.base import Head
from .._vault import Vault
from ..aio import AsyncReader, AsyncVault
from ..aio._reader import CHUNK as ASYNC_PIECE
from ..exceptions import DocumentChangedError, DocumentNotFoundError
from ._pipe import piped

_T = TypeVar("_T")
_ETAG_LABEL = b"sealdoc etag v1\x00"
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
        """Unwrap the document key; the plaintext length (authenticated once :meth:`ready`)."""

    async def ready(self, span: tuple[int, int] | None) -> None:
        """Make the length proven and the document current before any answer uses them.

        ``span`` is the first ``(start, end)`` the body will send (its first
        piece is fetched now, with the last segment if the length is not yet
        authenticated), or None for an answer without a body. Raises
        :class:`StaleHeaderError` when a cached header turned out not to be the stored
        version's: nothing was sent, and the request starts again.
        """

    async def current(self) -> None:
        """StaleHeaderError if the header came from a cache and the store now holds another version.

        For a refusal, which uses no key and no body: it must be decided on
        the stored header as a fresh read would be.
        """

    def chunks(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Plaintext bytes ``[start, end)``, a segment at a time, each authenticated."""

    async def plaintext(self) -> bytes:
        """The whole plaintext (for the email copies, which need it whole)."""

    def copy_for(self, to: Sequence[Any]) -> AsyncIterator[bytes]:
        """A copy sealed for ``to`` only, as :func:`sealdoc.deliver` makes it, streamed."""

    async def aclose(self) -> None: ...


class StaleHeaderError(Exception):
    """A cached header was not the stored version's: answer the request again, uncached."""


class Source(Protocol):
    async def open(self, doc_id: str, *, fresh: bool = False) -> Opened:
        """The document; DocumentNotFoundError (or InvalidDocumentIdError) if there is none.

        ``fresh``: read from the store, never from a cache.
        """


def _segments(start: int, end: int, size: int, piece: int = _PIECE) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` pieces of ``[start, end)`` that end on segment boundaries.

    A piece holds whole segments up to ``piece`` bytes (at least one
    segment): small segments are fetched a few at a time, in one store read
    and one thread hop (the reader reads a run of whole segments at once),
    and a request's memory stays within a piece.
    """
    per_piece = max(1, piece // size) * size
    pos = start
    while pos < end:
        # to the next piece boundary even from mid-segment: a range that starts
        # inside a segment costs no extra store read for the rest of its piece
        n = min(end - pos, per_piece - pos % per_piece)
        yield pos, n
        pos += n


async def _sealed_copy(
    plain: Any, parsed: ParsedHeader, keys: Any, to: Sequence[Any]
) -> AsyncIterator[bytes]:
    """``plain`` (a blocking seek/read over the opened document) sealed for ``to``, streamed."""

    def copy(dst: Any) -> None:
        # The same object the grant was given for, sealed afresh as it is read.
        plain.seek(0)
        deliver_stream(plain, parsed, dst, keys=keys, to=list(to))

    async for chunk in piped(copy):
        yield chunk


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

    async def ready(self, span: tuple[int, int] | None) -> None:
        """Nothing to do: the sync reader authenticated the length when it was made."""

    async def current(self) -> None:
        """Nothing to do: the header was read for this request."""

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
        async for chunk in _sealed_copy(self._reader, self._parsed, keys, to):
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

    async def open(self, doc_id: str, *, fresh: bool = False) -> Opened:
        f, parsed = await self.run(self.vault._open_header, doc_id)
        return _VaultDocument(self, doc_id, f, parsed)


class _Blocking:
    """An async reader read from a plain thread (the copy's), each call run on its loop."""

    def __init__(self, reader: AsyncReader, loop: asyncio.AbstractEventLoop) -> None:
        self._reader = reader
        self._loop = loop

    def seek(self, offset: int) -> int:
        return asyncio.run_coroutine_threadsafe(self._reader.seek(offset), self._loop).result()

    def read(self, n: int = -1) -> bytes:
        return asyncio.run_coroutine_threadsafe(self._reader.read(n), self._loop).result()


class _AsyncDocument:
    """An AsyncVault document: its place and header, then an AsyncReader.

    ``known`` is set when the header came from the source's cache: the length
    it holds was authenticated for that same stored version, which
    :meth:`ready` checks before anything is answered.
    """

    def __init__(self, source: AsyncVaultSource, doc_id: str, known: _Known) -> None:
        self._source = source
        self._vault = source.vault
        self._doc_id = doc_id
        self._known = known
        self._parsed = known.parsed
        self._reader: AsyncReader | None = None
        self.header = self._parsed.public()
        self.etag = etag_of(self._parsed)

    def __repr__(self) -> str:
        return f"<sealdoc served document {self._doc_id!r}>"

    async def unlock(self) -> int:
        providers = self._vault._rules._keys("serve documents")
        known = self._known
        self._reader = await self._vault._reader(
            self._doc_id, known.path, known.head, known.parsed, providers, verified=known.cached
        )
        return self._reader.size

    async def ready(self, span: tuple[int, int] | None) -> None:
        reader = self._unlocked()
        known = self._known
        try:
            if span is not None and span[0] < span[1]:
                start, end = span
                offset, n = next(_segments(start, end, self.header.segment_size, ASYNC_PIECE))
                # the If-Match of this GET is the per-request check of a cached header
                await reader._prefetch(offset, n)
            elif known.cached:
                await self._check_current()
            else:
                await reader.verified_size()
        except (DocumentChangedError, DocumentNotFoundError) as exc:
            if not known.cached:
                raise
            self._source.forget(self._doc_id)
            raise StaleHeaderError from exc
        if not known.cached:
            # authenticated now: the header (by its MAC, at unlock) and the length
            self._source.remember(self._doc_id, known)

    async def current(self) -> None:
        if not self._known.cached:
            return
        try:
            await self._check_current()
        except (DocumentChangedError, DocumentNotFoundError) as exc:
            self._source.forget(self._doc_id)
            raise StaleHeaderError from exc

    async def _check_current(self) -> None:
        """DocumentChangedError unless the stored object is still the cached version."""
        known = self._known
        head = await self._vault._store.head(known.path, 0)
        if (head.version, head.size) != (known.head.version, known.head.size):
            raise DocumentChangedError("the stored version is not the cached one")

    async def chunks(self, start: int, end: int) -> AsyncIterator[bytes]:
        reader = self._unlocked()
        # The async reader's own run (1 MiB): on an object store each piece is
        # a GET, and the GETs, not the memory, are what a request waits on.
        for offset, n in _segments(start, end, self.header.segment_size, ASYNC_PIECE):
            await reader.seek(offset)
            yield await reader.read(n)

    async def plaintext(self) -> bytes:
        reader = self._unlocked()
        await reader.seek(0)
        return await reader.read()

    def copy_for(self, to: Sequence[Any]) -> AsyncIterator[bytes]:
        # checked before the response starts, as for a Vault document
        keys = self._vault._rules._keys("deliver documents")
        return self._copy(keys, check_recipients(keys, list(to)))

    async def _copy(self, keys: Any, to: Sequence[Any]) -> AsyncIterator[bytes]:
        if self._reader is None:
            await self.unlock()
        plain = _Blocking(self._unlocked(), asyncio.get_running_loop())
        async for chunk in _sealed_copy(plain, self._parsed, keys, to):
            yield chunk

    def _unlocked(self) -> AsyncReader:
        assert self._reader is not None, "unlock() comes first"
        return self._reader

    async def aclose(self) -> None:
        if self._reader is not None:
            with anyio.CancelScope(shield=True):
                await self._reader.close()


@attrs.frozen
class _Known:
    """Where a document is, the head's version and size, its parsed header."""

    path: str
    head: Head
    parsed: ParsedHeader
    cached: bool = False
    """True when from the cache: its length was authenticated for ``head.version``."""


class AsyncVaultSource:
    """A :class:`sealdoc.aio.AsyncVault`: the header first, the key only once authorized.

    It keeps the headers whose length it authenticated, per doc id and keyed
    by the object's version (the ETag), for at most ``cache`` documents: a
    request for one of them makes one store request, not three (the body's
    GET carries ``If-Match`` with the cached version, or, with no body, a
    HEAD compares it). A version that changed answers the request afresh,
    uncached; nothing stale is ever sent. ``cache=0`` keeps none.
    """

    def __init__(self, vault: AsyncVault, *, cache: int = 1024) -> None:
        if cache < 0:
            raise ValueError("cache must be 0 or more")
        self.vault = vault
        self._limit = cache
        self._known: OrderedDict[str, _Known] = OrderedDict()

    async def open(self, doc_id: str, *, fresh: bool = False) -> Opened:
        known = None if fresh else self._known.get(doc_id)
        if known is not None:
            self._known.move_to_end(doc_id)
            return _AsyncDocument(self, doc_id, known)
        path, head, parsed = await self.vault._open_header(doc_id)
        return _AsyncDocument(self, doc_id, _Known(path, head, parsed))

    def remember(self, doc_id: str, known: _Known) -> None:
        if self._limit == 0:
            return
        # the header's bytes are in ``parsed``; the head keeps its version and size only
        head = Head(b"", known.head.size, known.head.version)
        self._known[doc_id] = attrs.evolve(known, head=head, cached=True)
        self._known.move_to_end(doc_id)
        while len(self._known) > self._limit:
            self._known.popitem(last=False)

    def forget(self, doc_id: str) -> None:
        self._known.pop(doc_id, None)


def source_for(vault: object, *, threads: int = 16, header_cache: int = 1024) -> Source:
    """The source over a Vault, an async vault, or a Source as it is."""
    if isinstance(vault, Vault):
        return VaultSource(vault, threads=threads)
    if isinstance(vault, AsyncVault):
        return AsyncVaultSource(vault, cache=header_cache)
    if isinstance(vault, VaultSource | AsyncVaultSource):
        return vault
    raise TypeError(
        f"DocumentApp serves a sealdoc.Vault or a sealdoc.aio.AsyncVault, "
        f"not {type(vault).__name__}"
    )
