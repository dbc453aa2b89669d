"""Vault: a store of sealed documents over any fsspec URL (docs/storage.md, "Vault").

Reads go through fsspec; writes, deletes and listings go through the
vault's :mod:`store <sealdoc._store>` backend (``Vault.store``), which makes
each write atomic and orders it with the bulk engine's conditional replaces
(a folder lock on a local disk, If-Match on S3, a lock in memory).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from . import _format as fmt
from ._bulk.options import BulkOptions, Progress
from ._bulk.report import BulkReport
from ._deliver import deliver
from ._envelope import (
    Sealer,
    checked_map,
    new_sealer,
    providers_of,
    unlock,
    write_sealed,
)
from ._envelope import open as open_document
from ._envelope import seal as seal_document
from ._format import Header, InternalMap, ParsedHeader, Suite
from ._heads import HEAD_READ, header_wanted, public_header
from ._load import PutSource, files_under, put_many
from ._names import (
    DOC_ID_BINDING,
    SUFFIX,
    _OpaqueNames,
    check_doc_id,
)

if TYPE_CHECKING:
    from ._bulk.inventory import Inventory
    from ._bulk.source import Source
    from ._provider_api import KeyProvider
from ._provider_api import with_key
from ._reader import SealedReader, read_header
from ._store.base import VaultStore, versioning_of
from ._store.factory import open_store
from ._store.versions import delete_with_versions
from ._stream import SegmentCipher
from ._types import ReadableStream
from ._uri import KeysOrUris, resolve_keys
from .exceptions import (
    DocumentNotFoundError,
    InvalidDocumentIdError,
    SealdocError,
    StoreError,
)

_T = TypeVar("_T")


@contextlib.contextmanager
def _store(what: str, doc_id: str | None = None) -> Iterator[None]:
    """Store failures as sealdoc errors, with the cause kept."""
    try:
        yield
    except SealdocError:
        raise
    except FileNotFoundError as exc:
        raise DocumentNotFoundError(f"no document {doc_id!r} in the vault") from exc
    except Exception as exc:
        raise StoreError(f"the store failed to {what}: {type(exc).__name__}: {exc}") from exc


_NO_KEYS = (
    "this vault was opened without keys; pass keys= to Vault() to {what} "
    "(listing, inspect and inventory need none)"
)


class Vault:
    """Sealed documents in any fsspec store, one per doc id.

    ``url`` is any fsspec URL (``file:///srv/docs``, ``memory://docs``,
    ``s3://bucket/prefix``...); ``storage_options`` go to fsspec. ``keys``
    is a provider, a key URI, or a sequence of them; without keys a vault
    can list, inspect and count (inventory) but not open or write. Each
    document is sealed under its own key for ``keys`` and bound to its doc id,
    so an object copied or moved under another id does not open. With
    ``name_key``, object names are AES-SIV encryptions of the (padded) doc
    ids: a listing of the store says nothing about whose documents they are.
    On a local disk each write is fsynced before it is renamed into place;
    ``durable=False`` skips that (as plain fsspec writes do), for bulk loads
    that can be redone after a crash. ``key_for(doc_id, context)`` picks the
    key each put seals under (a customer's KeyStore subject) when the put
    names none.
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
        durable: bool = True,
        key_for: Callable[[str, Mapping[str, str]], str | None] | None = None,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, not {type(url).__name__}")
        self._providers = providers_of(resolve_keys(keys)) if keys is not None else []
        # kept to rebuild this vault elsewhere (a Dask worker): key URIs only
        uris = [keys] if isinstance(keys, str) else keys
        self.key_uris: list[str] | None = (
            list(uris)
            if isinstance(uris, list | tuple) and all(isinstance(k, str) for k in uris)
            else None
        )
        self._storage_options = dict(storage_options or {})
        self._name_key = name_key
        self._names = _OpaqueNames(name_key) if name_key is not None else None
        self._suite = suite
        self._segment_size = segment_size
        self._durable = durable
        if key_for is not None and not callable(key_for):
            raise TypeError("key_for is a callable (doc_id, context) -> key id")
        self._key_for = key_for
        with _store(f"open {url}"):
            self._backend, self._reads = open_store(url, self._storage_options, durable=durable)
        self.url = url

    def spec(self) -> dict[str, Any]:
        """What a worker needs to open this vault again (key URIs, not keys).

        With opaque names it includes the name key: use TLS between Dask's
        client, scheduler and workers.
        """
        return {
            "url": self.url,
            "keys": self.key_uris,
            "storage_options": self._storage_options,
            "name_key": self._name_key,
            "suite": self._suite,
            "segment_size": self._segment_size,
            "durable": self._durable,
        }

    @staticmethod
    def generate_name_key() -> bytes:
        """A fresh key for opaque names. Keep it as safely as a KEK."""
        return AESSIV.generate_key(512)

    def __repr__(self) -> str:
        opaque = ", opaque names" if self._names else ""
        return f"Vault({self.url!r}{opaque})"

    def _keys(self, what: str) -> Any:
        if not self._providers:
            raise SealdocError(_NO_KEYS.format(what=what))
        return self._providers

    # -- the store seam ------------------------------------------------------------

    @property
    def store(self) -> VaultStore:
        """The backend under this vault (a :class:`~sealdoc._store.base.DocumentStore`).

        Paths on it are relative to the vault's root: :meth:`path_of` and
        :meth:`doc_id_of` translate. Its ``conditional`` says whether its
        replaces are a true compare-and-swap (docs/storage.md).
        """
        return self._backend

    @property
    def providers(self) -> tuple[KeyProvider, ...]:
        """The key providers this vault opens and seals with (empty without ``keys``)."""
        return tuple(self._providers)

    def path_of(self, doc_id: str) -> str:
        """The store-relative path a document is written to (opaque or not)."""
        doc_id = check_doc_id(doc_id)
        return self._names.encode(doc_id) if self._names else doc_id + SUFFIX

    def doc_id_of(self, path: str) -> str | None:
        """The doc id of a listed store-relative path; None if it is not this vault's document.

        With opaque names, names written before padding (older versions)
        decode too.
        """
        if self._names is not None:
            return self._names.decode(path)
        if not path.endswith(SUFFIX):
            return None
        try:
            return check_doc_id(path[: -len(SUFFIX)])
        except InvalidDocumentIdError:
            return None

    def binding_for(self, doc_id: str) -> dict[str, str]:
        """The binding a document of this vault is sealed and opened with."""
        return InternalMap({DOC_ID_BINDING: doc_id})  # sealdoc's own reserved key

    # -- paths ---------------------------------------------------------------------

    def _candidates(self, doc_id: str) -> list[str]:
        """Where a document may be: its name, then (opaque) its pre-padding name."""
        first = self.path_of(doc_id)
        return [first, self._names.legacy(doc_id)] if self._names else [first]

    def _reading(self, doc_id: str, what: str, fn: Callable[[str], _T]) -> _T:
        """``fn(full path)`` on the first place the document is found."""
        candidates = self._candidates(doc_id)
        for i, relative in enumerate(candidates):
            try:
                with _store(f"{what} {doc_id!r}", doc_id):
                    return fn(relative)
            except DocumentNotFoundError:  # noqa: PERF203 - at most two candidates
                if i == len(candidates) - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _binding(self, doc_id: str) -> dict[str, str]:
        return self.binding_for(doc_id)

    # -- writing ---------------------------------------------------------------------

    def put(
        self,
        doc_id: str,
        data: bytes | bytearray | memoryview | ReadableStream,
        *,
        context: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> None:
        """Seal ``data`` and store it under ``doc_id``, replacing any previous version.

        ``key`` names the key of the vault's first provider to seal under (a
        KeyStore subject such as ``"C-1007"``, or a keyring key); without it,
        the vault's ``key_for(doc_id, context)`` decides, if it was given.
        Other providers (escrow) wrap as configured.

        Atomic: a reader sees the old document or the new one, never a mix;
        if anything fails (a provider, the store, a full disk), the previous
        version stays as it was. A put that returned is never reverted by a
        bulk job running at the same time (docs/storage.md, per backend).
        """
        check_doc_id(doc_id)  # first of all; its (opaque) name is derived once, by _write
        if isinstance(data, bytes | bytearray | memoryview):
            sealed = self._sealed(doc_id, data, context, key)
            self._write(doc_id, lambda f: f.write(sealed))
            return
        if not callable(getattr(data, "read", None)):
            raise TypeError(
                f"data must be bytes or a readable binary file, not {type(data).__name__}"
            )
        # Wrapped (and the arguments checked) before anything is written.
        sealer = self._sealer(doc_id, context, key)
        self._write(doc_id, lambda f: write_sealed(sealer, data, f))

    # -- the rules both faces share (sealdoc.aio moves the bytes its own way) ------

    def _sealing_keys(self, doc_id: str, context: Mapping[str, str] | None, key: str | None) -> Any:
        """The providers a put seals with: the vault's, its first one bound to ``key``
        (or to what ``key_for`` says for this document) when there is one."""
        providers = self._keys("put documents")
        if key is None and self._key_for is not None:
            key = self._key_for(doc_id, dict(context or {}))
        return providers if key is None else with_key(providers, key)

    def _sealed(
        self,
        doc_id: str,
        data: bytes | bytearray | memoryview,
        context: Mapping[str, str] | None,
        key: str | None = None,
    ) -> bytes:
        """The whole sealed document ``put`` stores for ``doc_id`` (no I/O)."""
        return seal_document(
            data,
            keys=self._sealing_keys(doc_id, context, key),
            context=context,
            binding=self._binding(doc_id),
            suite=self._suite,
            segment_size=self._segment_size,
        )

    def _sealer(
        self, doc_id: str, context: Mapping[str, str] | None, key: str | None = None
    ) -> Sealer:
        """A new document for ``doc_id``: its key wrapped, its header made (no store I/O)."""
        return new_sealer(
            self._sealing_keys(doc_id, context, key),
            context=context,
            binding=self._binding(doc_id),
            suite=self._suite,
            segment_size=self._segment_size,
        )

    def _opened(self, doc_id: str, sealed: bytes, context: Mapping[str, str] | None) -> bytes:
        """The plaintext of ``doc_id``'s stored bytes (no I/O)."""
        providers = self._keys("open documents")
        return open_document(sealed, keys=providers, context=context, binding=self._binding(doc_id))

    def _cipher(
        self,
        doc_id: str,
        parsed: ParsedHeader,
        context: Mapping[str, str] | None,
        providers: Any = None,
    ) -> SegmentCipher:
        """Unlock ``doc_id``'s parsed header: the cipher of its segments (no store I/O)."""
        if providers is None:
            providers = self._keys("open documents")
        ctx = checked_map(context, "context")
        return unlock(parsed, providers, ctx, self._binding(doc_id)).cipher()

    def put_many(
        self,
        items: Mapping[str, PutSource] | Iterable[tuple[str, PutSource]],
        *,
        context: Mapping[str, str] | None = None,
        key: str | None = None,
        workers: int = 8,
        replace: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> BulkReport:
        """Store many documents concurrently: ``{doc_id: bytes or a local file's path}``.

        Each is put as :meth:`put` does (sealed, bound to its doc id, atomic),
        with the same ``context`` and ``key``, on ``workers`` threads. A doc id already
        stored with the same content and context is skipped, so a rerun after
        an interruption resumes: "the same" is checked by opening the stored
        document with this vault's keys (no digest is stored in the clear).
        One stored with other content is replaced only with ``replace=True``;
        otherwise it is reported as failed and left as it was. Returns a
        :class:`BulkReport` (operation ``"put"``): ``rewritten`` counts the
        documents stored, ``skipped`` the unchanged ones, ``failed`` the rest,
        with the reason. ``progress(done, seen)`` is called as they finish;
        ``stop``, once set, starts no new document (``interrupted`` is then true).
        """
        return put_many(
            self,
            items,
            context=context,
            key=key,
            workers=workers,
            replace=replace,
            progress=progress,
            stop=stop,
        )

    def put_folder(
        self,
        folder: str | os.PathLike[str],
        *,
        prefix: str = "",
        context: Mapping[str, str] | None = None,
        key: str | None = None,
        workers: int = 8,
        replace: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> BulkReport:
        """:meth:`put_many` of every file under ``folder``, its doc id ``prefix`` + relative path.

        Relative paths use ``/`` whatever the platform. A file whose path is
        not a valid doc id is reported as failed; the others are stored.
        """
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        files = ((prefix + relative, path) for relative, path in files_under(folder))
        return self.put_many(
            files,
            context=context,
            key=key,
            workers=workers,
            replace=replace,
            progress=progress,
            stop=stop,
        )

    def _write(self, doc_id: str, produce: Callable[[Any], object]) -> None:
        with _store(f"write {doc_id!r}", doc_id):
            self._backend.put(self.path_of(doc_id), produce)
        if self._names is not None:
            # a copy under the pre-padding name would be listed twice and read first
            with contextlib.suppress(DocumentNotFoundError), _store(f"write {doc_id!r}", doc_id):
                self._backend.delete(self._names.legacy(doc_id))

    def _read_sealed(self, doc_id: str) -> bytes:
        """The stored bytes of a document, unopened."""
        data: bytes = self._reading(doc_id, "read", self._reads.read)
        return data

    def _write_sealed(self, doc_id: str, sealed: bytes) -> None:
        """Replace a document's stored bytes atomically (unconditionally)."""
        self._write(doc_id, lambda f: f.write(sealed))

    # -- bulk ----------------------------------------------------------------------------

    # The bulk engine (and Dask support) is imported by the methods that run a
    # job: a put or a get never needs it (docs/performance.md, "CLI start-up").

    def _bulk_source(self) -> Source:
        from ._bulk.source import source_of  # noqa: PLC0415 - see above

        return source_of(self, tuple(self._providers), self._name_key)

    def inventory(
        self,
        prefix: str = "",
        *,
        workers: int = 16,
        allow_empty: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        gone: Collection[str] = frozenset(),
    ) -> Inventory:
        """What protects the documents under ``prefix``, from headers alone (no key is used).

        Counts every sealed object, whatever its name; objects that are not
        sealed or cannot be read are listed in ``unreadable``. Shows that a
        key version protects nothing (``only_on``) before it is destroyed.
        EmptyStoreError if there is nothing there, unless ``allow_empty``.
        ``gone``: labels already unusable (disabled, destroyed versions), which
        ``only_on`` then does not count as keeping a document readable.
        """
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        from ._bulk.inventory import run_inventory  # noqa: PLC0415 - see _bulk_source

        return run_inventory(
            self._bulk_source(),
            prefix,
            workers=workers,
            allow_empty=allow_empty,
            progress=progress,
            stop=stop,
            gone=gone,
        )

    def rewrap_all(self, options: BulkOptions | None = None, **kwargs: Any) -> BulkReport:
        """Rewrap every document under ``prefix``; the options are :class:`BulkOptions` fields.

        ``prefix``, ``to`` (default: each wrap brought to its own key id's
        current version with the vault's keys; per-customer and escrow wraps
        stay under their keys), ``drop``, ``add`` (keys or recipients wrapped
        for beside the others, e.g. ``["age1pq1..."]``; ``allow_classical``
        as for :func:`sealdoc.rewrap`), ``select`` (a predicate on the
        Header), ``workers``, ``dry_run``, ``checkpoint`` (a file that makes
        a rerun resume), ``retries``, ``verify``, ``stop``... Documents
        already current, or already holding every ``add`` wrap, are skipped
        from their header alone. Returns a BulkReport.
        """
        return self._bulk("rewrap", BulkOptions.build(options, kwargs))

    def rotate_all(self, options: BulkOptions | None = None, **kwargs: Any) -> BulkReport:
        """Rotate (fresh document key, body re-encrypted) every selected document.

        Same options as :meth:`rewrap_all`. Every selected document is
        rotated: use ``checkpoint`` to make a rerun resume rather than rotate
        twice. Every wrap is re-created; a document with a wrap the vault's
        keys cannot re-create is reported as failed (WrapLossError), untouched.
        """
        return self._bulk("rotate", BulkOptions.build(options, kwargs))

    def _bulk(self, operation: str, options: BulkOptions) -> BulkReport:
        from ._bulk.dask import Remote  # noqa: PLC0415 - see _bulk_source
        from ._bulk.jobs import run_bulk  # noqa: PLC0415

        self._keys(f"{operation} documents")
        remote = None
        if options.client is not None:
            remote = Remote(self.spec(), self.key_uris, _source_from_spec)
        return run_bulk(self._bulk_source(), operation, options, remote=remote)

    def delete(self, doc_id: str, *, remove_versions: bool = False) -> None:
        """Remove a document. DocumentNotFoundError if there is none.

        On a versioned S3 bucket the old versions stay, with their ciphertext
        (``inventory().versioning`` says so); ``remove_versions=True`` removes
        them too (audited; refused under Object Lock, before anything is deleted).
        """
        store = self._backend
        if remove_versions:
            kept = versioning_of(store)
            self._reading(
                doc_id, "delete", lambda path: delete_with_versions(store, path, self.url, kept)
            )
            return
        self._reading(doc_id, "delete", store.delete)

    # -- reading -----------------------------------------------------------------------

    def get(self, doc_id: str, *, context: Mapping[str, str] | None = None) -> bytes:
        """The plaintext of a document; every pair in ``context`` must match."""
        check_doc_id(doc_id)  # first of all; its name is derived once, where it is read
        self._keys("open documents")
        return self._opened(doc_id, self._read_sealed(doc_id), context)

    def open(self, doc_id: str, *, context: Mapping[str, str] | None = None) -> SealedReader:
        """A seekable reader over a document; it fetches only the segments it reads.

        Close it (or use it in a ``with`` block) to release the store's file.
        """
        check_doc_id(doc_id)
        providers = self._keys("open documents")
        f, parsed = self._open_header(doc_id)
        return self._reader(doc_id, f, parsed, providers, context)

    def _open_header(self, doc_id: str) -> tuple[Any, ParsedHeader]:
        """The document's file, positioned after its header, and the header (no key needed).

        The first half of :meth:`open`: a server decides whether to go on
        (authorization) from the header before any key is unwrapped.
        """
        self.path_of(doc_id)
        f = self._reading(doc_id, "read", self._reads.open_file)
        try:
            with _store(f"read {doc_id!r}", doc_id):
                return f, read_header(f)
        except BaseException:
            f.close()
            raise

    def _reader(
        self,
        doc_id: str,
        f: Any,
        parsed: ParsedHeader,
        providers: Any,
        context: Mapping[str, str] | None = None,
    ) -> SealedReader:
        """The second half of :meth:`open`: unlock, and a reader that closes ``f``."""
        try:
            reader = SealedReader(f, parsed, self._cipher(doc_id, parsed, context, providers))
        except BaseException:
            f.close()
            raise
        reader.close_source_on_close()
        return reader

    def deliver(
        self,
        doc_id: str,
        *,
        to: Any,
        fresh_key: bool = True,
        context: Mapping[str, str] | None = None,
        allow_classical: bool = False,
    ) -> bytes:
        """A transit copy of a document for the recipients in ``to`` only.

        See :func:`sealdoc.deliver`. With ``fresh_key=True`` (the default) the
        copy no longer carries the doc-id binding; with ``fresh_key=False`` it
        does, and its recipient opens it with
        ``binding={"sealdoc:doc_id": doc_id}``.
        """
        check_doc_id(doc_id)
        providers = self._keys("deliver documents")
        return deliver(
            self._read_sealed(doc_id),
            keys=providers,
            to=to,
            fresh_key=fresh_key,
            context=context,
            binding=self._binding(doc_id),
            allow_classical=allow_classical,
        )

    def inspect(self, doc_id: str) -> Header:
        """The document's header, read without any key, in one ranged read of the store."""
        return self._reading(doc_id, "read", self.header_of)

    def header_of(self, path: str) -> Header:
        """The header of the object at store-relative ``path``: usually one ranged read.

        A header longer than the first read (many wraps) costs a second one.
        """
        head = self._backend.read_head(path, HEAD_READ)
        wanted = header_wanted(head)
        if wanted:
            head = self._backend.read_head(path, wanted)
        return public_header(head)

    def exists(self, doc_id: str) -> bool:
        with _store(f"look up {doc_id!r}", doc_id):
            return any(self._reads.exists(p) for p in self._candidates(doc_id))

    def list(self, prefix: str = "") -> Iterator[str]:
        """The doc ids in the vault starting with ``prefix``, streamed in store order.

        Store order is the UTF-8 byte order of the stored names (for plain
        names, ``doc_id + ".sdoc"``), the same on every run. With plain names
        the prefix is pushed down to the store's listing; with opaque names it
        cannot be (the names are encrypted): every name is listed, decoded
        and filtered, still streamed.
        """
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        with _store("list the vault"):
            for entry in self._backend.list(self._pushed_down(prefix)):
                doc_id = self._listed(entry.path, prefix)
                if doc_id is not None:
                    yield doc_id

    def _pushed_down(self, prefix: str) -> str:
        """The store-listing prefix for a doc-id ``prefix``: none with opaque names."""
        return prefix if self._names is None else ""

    def _listed(self, path: str, prefix: str) -> str | None:
        """The doc id of a listed path when it is this vault's and starts with ``prefix``."""
        doc_id = self.doc_id_of(path)
        return doc_id if doc_id is not None and doc_id.startswith(prefix) else None


def _source_from_spec(spec: dict[str, Any]) -> Source:
    """On a Dask worker: the vault of ``Vault.spec()``, as the bulk engine sees it."""
    vault = Vault(
        spec["url"],
        keys=spec["keys"],
        storage_options=spec["storage_options"],
        name_key=spec["name_key"],
        suite=spec["suite"],
        segment_size=spec["segment_size"],
        durable=spec["durable"],
    )
    return vault._bulk_source()
