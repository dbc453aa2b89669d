"""AsyncVault: the Vault's async face (docs/async.md).

Every rule comes from the sync :class:`~sealdoc.Vault` it holds (doc-id
checks, opaque names, binding, keys, sealing and unlocking, header
parsing): this face only moves bytes, through an async store, and sends
blocking work (key providers, large segment runs) to a bounded thread pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .. import _format as fmt
from .._format import Header, ParsedHeader, Suite
from .._heads import HEAD_READ, header_wanted, public_header
from .._store.base import Head
from .._store.objects import UnsupportedOptionError, is_object_url
from .._uri import KeysOrUris
from .._vault import Vault
from ..exceptions import DocumentNotFoundError
from ._pool import offload
from ._reader import AsyncReader
from ._store import AsyncStore, NativeStore, ThreadedStore
from ._streams import sealed_chunks

_T = TypeVar("_T")
# The Vault that holds the rules when the store is reached through obstore:
# it never reads or writes (the async store does), so its root is a name only.
_RULES_ONLY = "memory://sealdoc-aio-rules"


class AsyncVault:
    """Sealed documents in a store, one per doc id, for asyncio services.

    The same documents, names, guarantees and arguments as
    ``Vault(url, keys=..., storage_options=...)``: a document put by one is
    read by the other. ``pool`` bounds the threads that run sync key
    providers and the crypto of large inputs (default: one process-wide pool
    of at most 32 threads).
    """

    def __init__(
        self,
        url: str,
        *,
        keys: KeysOrUris | None = None,
        storage_options: Mapping[str, Any] | None = None,
        name_key: bytes | None = None,
        suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
        segment_size: int = fmt.DEFAULT_SEGMENT_SIZE,
        pool: ThreadPoolExecutor | None = None,
        key_for: Callable[[str, Mapping[str, str]], str | None] | None = None,
    ) -> None:
        self._pool = pool
        self._args: dict[str, Any] = {
            "keys": keys,
            "key_for": key_for,
            "storage_options": storage_options,
            "name_key": name_key,
            "suite": suite,
            "segment_size": segment_size,
        }
        self._store: AsyncStore
        native = _native(url, storage_options or {}, pool)
        if native is not None:
            # S3 and Azure natively async through obstore; the rules need no
            # store of their own (doc-id checks, names, keys, binding)
            self._store = native
            self._rules = Vault(_RULES_ONLY, **{**self._args, "storage_options": None})
            self._sync: Vault | None = None
        else:
            self._rules = self._sync = Vault(url, **self._args)
            self._store = ThreadedStore(self._rules.store, pool)
        self.url = url

    def __repr__(self) -> str:
        opaque = ", opaque names" if self._args["name_key"] else ""
        return f"AsyncVault({self.url!r}{opaque})"

    @property
    def vault(self) -> Vault:
        """The sync Vault over the same store (for the bulk verbs, run from a thread)."""
        if self._sync is None:
            self._sync = Vault(self.url, **self._args)
        return self._sync

    async def _first(self, doc_id: str, fn: Callable[[str], Awaitable[_T]]) -> _T:
        """``fn(path)`` on the first place the document is found (as Vault._reading)."""
        for path in self._rules._candidates(doc_id):
            try:
                return await fn(path)
            except DocumentNotFoundError:  # noqa: PERF203 - at most two candidates
                continue
        raise DocumentNotFoundError(f"no document {doc_id!r} in the vault")

    # -- writing -------------------------------------------------------------------

    async def put(
        self,
        doc_id: str,
        data: Any,
        *,
        context: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> None:
        """Seal ``data`` (bytes, an async iterable of bytes, or an ``async read``) under ``doc_id``.

        Atomic as ``Vault.put``: readers see the old document or the new one;
        a put that fails or is cancelled leaves the old one as it was. ``key``
        (or the vault's ``key_for``) names the key to seal under, as ``Vault.put``.
        """
        rules = self._rules
        paths = rules._candidates(doc_id)  # the id is checked before anything else
        if isinstance(data, bytes | bytearray | memoryview):
            sealed = await offload(self._pool, rules._sealed, doc_id, data, context, key)
            await self._store.put(paths[0], sealed)
        else:
            sealer = await offload(self._pool, rules._sealer, doc_id, context, key)
            await self._store.put(paths[0], sealed_chunks(sealer, data, self._pool))
        for stale in paths[1:]:
            # a copy under the pre-padding name would be listed twice and read first
            with contextlib.suppress(DocumentNotFoundError):
                await self._store.delete(stale)

    async def delete(self, doc_id: str) -> None:
        """Remove a document. DocumentNotFoundError if there is none."""
        await self._first(doc_id, self._store.delete)

    # -- reading -------------------------------------------------------------------

    async def get(self, doc_id: str, *, context: Mapping[str, str] | None = None) -> bytes:
        """The plaintext of a document; every pair in ``context`` must match."""
        rules = self._rules
        rules._keys("open documents")
        sealed = await self._first(doc_id, self._store.get)
        return await offload(self._pool, rules._opened, doc_id, sealed, context)

    async def open(self, doc_id: str, *, context: Mapping[str, str] | None = None) -> AsyncReader:
        """An async reader over a document: ``seek``, ``read``, ``close``, ``async with``."""
        providers = self._rules._keys("open documents")
        path, head, parsed = await self._open_header(doc_id)
        return await self._reader(doc_id, path, head, parsed, providers, context=context)

    async def _open_header(self, doc_id: str) -> tuple[str, Head, ParsedHeader]:
        """Where the document is, its head and its parsed header (no key needed).

        The first half of :meth:`open`, as ``Vault._open_header``: a server
        decides whether to go on (authorization) before any key is unwrapped.
        """

        async def header(path: str) -> tuple[str, Head, ParsedHeader]:
            head = await self._head(path)
            return path, head, fmt.parse_header(head.data)

        return await self._first(doc_id, header)

    async def _reader(
        self,
        doc_id: str,
        path: str,
        head: Head,
        parsed: ParsedHeader,
        providers: Any,
        *,
        context: Mapping[str, str] | None = None,
        verified: bool = False,
    ) -> AsyncReader:
        """The second half of :meth:`open`: unlock (in the pool), and the reader.

        ``verified``: the caller has authenticated the length of ``head``'s
        version already (a server's cache), so the reader does not again.
        """
        cipher = await offload(self._pool, self._rules._cipher, doc_id, parsed, context, providers)
        return AsyncReader(
            self._store,
            path,
            head,
            parsed=parsed,
            cipher=cipher,
            pool=self._pool,
            verified=verified,
        )

    async def _head(self, path: str) -> Head:
        head = await self._store.head(path, HEAD_READ)
        wanted = header_wanted(head)
        return await self._store.head(path, wanted) if wanted else head

    async def inspect(self, doc_id: str) -> Header:
        """The document's header, read without any key."""

        async def header(path: str) -> Header:
            return public_header(await self._head(path))

        return await self._first(doc_id, header)

    async def exists(self, doc_id: str) -> bool:
        try:
            await self._first(doc_id, lambda path: self._store.head(path, 0))
        except DocumentNotFoundError:
            return False
        return True

    async def list(self, prefix: str = "") -> AsyncIterator[str]:
        """The doc ids starting with ``prefix``, in store order (as ``Vault.list``)."""
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        rules = self._rules
        async for entry in self._store.list(rules._pushed_down(prefix)):
            doc_id = rules._listed(entry.path, prefix)
            if doc_id is not None:
                yield doc_id


def _native(
    url: str, options: Mapping[str, Any], pool: ThreadPoolExecutor | None
) -> AsyncStore | None:
    """obstore's async backend for S3 and Azure; None where the sync Vault's backend serves.

    As the sync Vault does (``open_store``): options obstore has no
    counterpart for go through fsspec, run in the bounded pool. The listing
    is the sync backend's, run in the pool a page at a time: one listing
    rule for both faces (keys obstore cannot address skipped, not fatal).
    """
    if not is_object_url(url):
        return None
    from .._store.blobs import open_blob_store  # noqa: PLC0415 - an optional extra

    try:
        sync = open_blob_store(url, options)
    except UnsupportedOptionError:
        return None
    return NativeStore(sync.async_face(), ThreadedStore(sync, pool))
