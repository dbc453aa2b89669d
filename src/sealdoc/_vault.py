"""Vault: a store of sealed documents over any fsspec URL (DESIGN.md, "Storage").

sealdoc speaks no storage protocol itself: every read, write, listing and
delete goes through fsspec. Writes are atomic through fsspec's own
``autocommit=False`` files (a temporary file renamed on a local disk, a
multipart upload completed on S3, a dict entry set in memory).
"""

from __future__ import annotations

import base64
import contextlib
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

import fsspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from . import _format as fmt
from ._bulk import (
    BulkOptions,
    BulkReport,
    Inventory,
    Remote,
    Source,
    run_bulk,
    run_inventory,
    source_of,
)
from ._bulk.options import Progress
from ._deliver import deliver
from ._envelope import (
    _mapping,
    _new_sealer,
    inspect,
    open_parsed,
    providers_of,
    write_sealed,
)
from ._envelope import open as open_document
from ._envelope import seal as seal_document
from ._format import Header, Suite
from ._reader import SealedReader, read_header
from ._storage import pending_write, protocols
from ._types import ReadableStream
from ._uri import KeysOrUris, resolve_keys
from .exceptions import (
    DocumentNotFoundError,
    InvalidDocumentIdError,
    SealdocError,
    StoreError,
)

DOC_ID_BINDING = "sealdoc:doc_id"
SUFFIX = ".sdoc"
MAX_DOC_ID_BYTES = 512
_NAME_AD = b"sealdoc-vault-name-v1"
_NAME_CHUNK = 200  # below the 255-byte file-name limit of local file systems
NAME_KEY_LEN = 64  # AES-256-SIV


def check_doc_id(doc_id: object) -> str:
    """A doc id is 1-512 UTF-8 bytes of ``/``-separated, non-empty, safe segments."""
    if not isinstance(doc_id, str):
        raise TypeError(f"a doc id is a str, not {type(doc_id).__name__}")
    size = len(doc_id.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= MAX_DOC_ID_BYTES:
        raise InvalidDocumentIdError(f"a doc id is 1 to {MAX_DOC_ID_BYTES} UTF-8 bytes")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in doc_id):
        raise InvalidDocumentIdError("a doc id cannot hold NUL, control or surrogate characters")
    if "\\" in doc_id:
        raise InvalidDocumentIdError("a doc id cannot hold a backslash")
    if doc_id.startswith("/"):
        raise InvalidDocumentIdError("a doc id cannot be an absolute path")
    for segment in doc_id.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidDocumentIdError("a doc id cannot have empty, '.' or '..' segments")
        if len(segment.encode("utf-8")) > 255 - len(SUFFIX):
            raise InvalidDocumentIdError("each '/' segment of a doc id is at most 250 bytes")
    return doc_id


class _OpaqueNames:
    """Object names that say nothing about the doc id: AES-SIV of it (RFC 5297).

    Deterministic, so the same id always finds the same object; decryptable
    by the holder of the name key, so ``list()`` still returns doc ids.
    """

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != NAME_KEY_LEN:
            raise ValueError(f"name_key must be {NAME_KEY_LEN} bytes (Vault.generate_name_key())")
        self._siv = AESSIV(key)

    def __repr__(self) -> str:
        return "_OpaqueNames(<secret>)"

    def encode(self, doc_id: str) -> str:
        raw = self._siv.encrypt(doc_id.encode("utf-8"), [_NAME_AD])
        name = base64.b32encode(raw).decode("ascii").rstrip("=").lower()
        chunks = [name[i : i + _NAME_CHUNK] for i in range(2, len(name), _NAME_CHUNK)]
        return "/".join([name[:2], *chunks]) + SUFFIX

    def decode(self, relative: str) -> str | None:
        if not relative.endswith(SUFFIX):
            return None
        name = relative[: -len(SUFFIX)].replace("/", "").upper()
        try:
            raw = base64.b32decode(name + "=" * (-len(name) % 8))
            return self._siv.decrypt(raw, [_NAME_AD]).decode("utf-8")
        except (ValueError, InvalidTag, UnicodeDecodeError):
            return None  # not one of ours


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


class Vault:
    """Sealed documents in any fsspec store, one per doc id.

    ``url`` is any fsspec URL (``file:///srv/docs``, ``memory://docs``,
    ``s3://bucket/prefix``...); ``storage_options`` go to fsspec. ``keys``
    is a provider, a key URI, or a sequence of them. Each
    document is sealed under its own key for ``keys`` and bound to its doc id,
    so an object copied or moved under another id does not open. With
    ``name_key``, object names are AES-SIV encryptions of the doc ids: a
    listing of the store says nothing about whose documents they are.
    On a local disk each write is fsynced before it is renamed into place;
    ``durable=False`` skips that (as plain fsspec writes do), for bulk loads
    that can be redone after a crash.
    """

    def __init__(
        self,
        url: str,
        *,
        keys: KeysOrUris,
        storage_options: Mapping[str, Any] | None = None,
        name_key: bytes | None = None,
        suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
        segment_size: int = fmt.DEFAULT_SEGMENT_SIZE,
        durable: bool = True,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, not {type(url).__name__}")
        self._providers = providers_of(resolve_keys(keys))
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
        with _store(f"open {url}"):
            self._fs, root = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
        self._root = root.rstrip("/")
        self._local = "file" in protocols(self._fs)
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

    # -- paths ---------------------------------------------------------------------

    def _path(self, doc_id: str) -> str:
        doc_id = check_doc_id(doc_id)
        name = self._names.encode(doc_id) if self._names else doc_id + SUFFIX
        return f"{self._root}/{name}" if self._root else name

    def _binding(self, doc_id: str) -> dict[str, str]:
        return {DOC_ID_BINDING: doc_id}

    # -- writing ---------------------------------------------------------------------

    def put(
        self,
        doc_id: str,
        data: bytes | bytearray | memoryview | ReadableStream,
        *,
        context: Mapping[str, str] | None = None,
    ) -> None:
        """Seal ``data`` and store it under ``doc_id``, replacing any previous version.

        Atomic: a reader sees the old document or the new one, never a mix;
        if anything fails (a provider, the store, a full disk), the previous
        version stays as it was.
        """
        path = self._path(doc_id)
        binding = self._binding(doc_id)
        if isinstance(data, bytes | bytearray | memoryview):
            sealed = seal_document(
                data,
                keys=self._providers,
                context=context,
                binding=binding,
                suite=self._suite,
                segment_size=self._segment_size,
            )
            self._write(path, doc_id, lambda f: f.write(sealed))
            return
        if not callable(getattr(data, "read", None)):
            raise TypeError(
                f"data must be bytes or a readable binary file, not {type(data).__name__}"
            )
        # Wrapped (and the arguments checked) before anything is written.
        sealer = _new_sealer(
            self._providers,
            context=context,
            binding=binding,
            suite=self._suite,
            segment_size=self._segment_size,
        )
        self._write(path, doc_id, lambda f: write_sealed(sealer, data, f))

    def _write(self, path: str, doc_id: str, produce: Any) -> None:
        with _store(f"write {doc_id!r}", doc_id):
            pending = pending_write(self._fs, path, fsync=self._durable)
            try:
                produce(pending.file)
                pending.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    pending.discard()
                raise

    def _read_sealed(self, doc_id: str) -> bytes:
        """The stored bytes of a document, unopened."""
        path = self._path(doc_id)
        with _store(f"read {doc_id!r}", doc_id):
            data: bytes = self._fs.cat_file(path)
        return data

    def _write_sealed(self, doc_id: str, sealed: bytes) -> None:
        """Replace a document's stored bytes atomically."""
        self._write(self._path(doc_id), doc_id, lambda f: f.write(sealed))

    # -- bulk ----------------------------------------------------------------------------

    def _bulk_source(self) -> Source:
        return source_of(self, self._providers, self._name_key)

    def inventory(
        self,
        prefix: str = "",
        *,
        workers: int = 16,
        allow_empty: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> Inventory:
        """What protects the documents under ``prefix``, from headers alone (no key is used).

        Counts every sealed object, whatever its name; objects that are not
        sealed or cannot be read are listed in ``unreadable``. Shows that a
        key version protects nothing (``only_on``) before it is destroyed.
        EmptyStoreError if there is nothing there, unless ``allow_empty``.
        """
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        return run_inventory(
            self._bulk_source(),
            prefix,
            workers=workers,
            allow_empty=allow_empty,
            progress=progress,
            stop=stop,
        )

    def rewrap_all(self, options: BulkOptions | None = None, **kwargs: Any) -> BulkReport:
        """Rewrap every document under ``prefix``; the options are :class:`BulkOptions` fields.

        ``prefix``, ``to`` (default: bring each wrap to its key's current
        version), ``drop``, ``select`` (a predicate on the Header),
        ``workers``, ``dry_run``, ``checkpoint`` (a file that makes a rerun
        resume), ``retries``, ``verify``, ``stop``... Documents already
        current are skipped from their header alone. Returns a BulkReport.
        """
        return self._bulk("rewrap", BulkOptions.build(options, kwargs))

    def rotate_all(self, options: BulkOptions | None = None, **kwargs: Any) -> BulkReport:
        """Rotate (fresh document key, body re-encrypted) every selected document.

        Same options as :meth:`rewrap_all`. Every selected document is
        rotated: use ``checkpoint`` to make a rerun resume rather than rotate
        twice.
        """
        return self._bulk("rotate", BulkOptions.build(options, kwargs))

    def _bulk(self, operation: str, options: BulkOptions) -> BulkReport:
        remote = None
        if options.client is not None:
            remote = Remote(self.spec(), self.key_uris, _source_from_spec)
        return run_bulk(self._bulk_source(), operation, options, remote=remote)

    def delete(self, doc_id: str) -> None:
        """Remove a document. DocumentNotFoundError if there is none."""
        path = self._path(doc_id)
        with _store(f"delete {doc_id!r}", doc_id):
            if not self._fs.exists(path):
                raise FileNotFoundError(path)
            self._fs.rm_file(path)

    # -- reading -----------------------------------------------------------------------

    def get(self, doc_id: str, *, context: Mapping[str, str] | None = None) -> bytes:
        """The plaintext of a document; every pair in ``context`` must match."""
        path = self._path(doc_id)
        with _store(f"read {doc_id!r}", doc_id):
            sealed = self._fs.cat_file(path)
        return open_document(
            sealed, keys=self._providers, context=context, binding=self._binding(doc_id)
        )

    def open(self, doc_id: str, *, context: Mapping[str, str] | None = None) -> SealedReader:
        """A seekable reader over a document; it fetches only the segments it reads.

        Close it (or use it in a ``with`` block) to release the store's file.
        """
        path = self._path(doc_id)
        with _store(f"read {doc_id!r}", doc_id):
            f = self._fs._open(path, mode="rb", cache_type="none", block_size=0)
        try:
            with _store(f"read {doc_id!r}", doc_id):
                parsed = read_header(f)
            reader = open_parsed(
                f,
                parsed,
                self._providers,
                _mapping(context, "context"),
                self._binding(doc_id),
            )
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
    ) -> bytes:
        """A transit copy of a document for the recipients in ``to`` only.

        See :func:`sealdoc.deliver`. With ``fresh_key=True`` (the default) the
        copy no longer carries the doc-id binding; with ``fresh_key=False`` it
        does, and its recipient opens it with
        ``binding={"sealdoc:doc_id": doc_id}``.
        """
        return deliver(
            self._read_sealed(doc_id),
            keys=self._providers,
            to=to,
            fresh_key=fresh_key,
            context=context,
            binding=self._binding(doc_id),
        )

    def inspect(self, doc_id: str) -> Header:
        """The document's header, read without any key."""
        path = self._path(doc_id)
        with (
            _store(f"read {doc_id!r}", doc_id),
            self._fs._open(path, mode="rb", cache_type="none", block_size=0) as f,
        ):
            return inspect(f)

    def exists(self, doc_id: str) -> bool:
        path = self._path(doc_id)
        with _store(f"look up {doc_id!r}", doc_id):
            return bool(self._fs.exists(path))

    def list(self, prefix: str = "") -> Iterator[str]:
        """The doc ids in the vault (starting with ``prefix``), sorted."""
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str")
        with _store("list the vault"):
            found = self._fs.find(self._root) if self._fs.exists(self._root) else []
        start = len(self._root) + 1 if self._root else 0
        ids = []
        for path in found:
            relative = path[start:] if path.startswith(self._root) else path
            if self._names is not None:
                doc_id = self._names.decode(relative)
            elif relative.endswith(SUFFIX):
                doc_id = relative[: -len(SUFFIX)]
            else:
                doc_id = None  # not a document of this vault
            if doc_id is not None and doc_id.startswith(prefix):
                ids.append(doc_id)
        yield from sorted(ids)


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
