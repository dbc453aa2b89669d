"""S3 and Azure Blob through obstore, for the sync Vault and the bulk engine.

The sync face of :mod:`sealdoc._store.objects` (the async one is
``ObjectStore`` there): the same obstore store, options, error mapping,
ranges and listing filter, called through obstore's blocking functions,
which release the GIL while Rust does the request.

* **Version** = the object's ETag.
* ``read_head``: one ranged GET; an empty object (416) is looked up instead.
* ``open_range`` / ``open_file``: ranged GETs with ``If-Match``: a reader
  never mixes two versions of a document.
* Writes up to :data:`PART` bytes: one PUT, conditional as asked (``If-Match``
  on the version read for a replace, ``If-None-Match: *`` for a create).
  Larger writes: on S3 a multipart upload whose completion carries the
  same condition (botocore: obstore's multipart uploads take no condition);
  on Azure one conditional Put Blob of the whole document, held in memory
  (docs/storage.md).
* A conditional write refused, or failed without an answer, is looked at
  again: if the object now holds exactly the bytes sent, the write landed
  (its answer was lost, and a retry met its own object), and it is reported
  as written. Sealed documents never repeat bytes, so another writer's
  object never matches.
* ``replace_header`` of an object over :data:`PART`: on S3 part 1 is the
  new header plus enough old body to make a part, and S3 copies the rest
  itself (``UploadPartCopy`` with ``CopySourceIfMatch``); on Azure the
  service copies the body (Put Block From URL, :mod:`.azure_copy`), or,
  without the account key or a SAS, or while another writer's uncommitted
  blocks are in the way, the whole object is read and written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ..exceptions import (
    DocumentChangedError,
    DocumentExistsError,
    DocumentNotFoundError,
    SealdocError,
    StoreError,
)
from .base import Entry, Head
from .common import Rooted, relative
from .objects import (
    PART,
    EmptyRangeError,
    NoContainerError,
    ObjectStore,
    azure_target,
    connect,
    errors,
    is_s3,
    listed,
    ranged,
)

if TYPE_CHECKING:
    from .azure_copy import BlockCopier
    from .s3 import S3Store
    from .versions import Versioning

READ_BUFFER = 64 * 1024  # a segment: Vault.open fetches what it reads, a segment at a time
_CHANGED = (DocumentChangedError, StoreError)
_UNADDRESSABLE = frozenset({"", ".", ".."})  # path segments obstore refuses


def open_blob_store(url: str, options: Mapping[str, Any]) -> BlobStore:
    """The sync backend of an ``s3://``, ``az://`` or ``abfs://`` URL."""
    store, root = connect(url, options)
    if is_s3(url):
        return S3BlobStore(store, root, url, options)
    from .azure_copy import block_copier  # noqa: PLC0415

    container, config, _ = azure_target(url, options)
    copier = block_copier(url, container, config)
    if copier is None:
        return BlobStore(store, root, url)
    return AzureBlobStore(store, root, url, copier)


class BlobStore(Rooted):
    """One bucket or container under a root prefix: a VaultStore on obstore."""

    conditional = True

    def __init__(self, store: Any, root: str, url: str) -> None:
        self._store = store
        self.root = root
        self._url = url

    def async_face(self) -> ObjectStore:
        """The async backend over the same obstore store (one connection pool, one config)."""
        return ObjectStore(self._store, self.root, self._url)

    # -- reading -------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[Entry]:
        import obstore  # noqa: PLC0415 - an optional extra

        folder, entries = listed(self.root, prefix)
        try:
            with errors(self._url, "list", prefix):
                for batch in obstore.list(self._store, prefix=folder, chunk_size=1000):
                    yield from entries(batch)
        except NoContainerError:
            # lists nothing, as a missing folder: a bulk job refuses it as an empty
            # store ("check the URL", exit 3) and allow_empty accepts it (docs/cli.md)
            return

    def read_head(self, path: str, length: int) -> Head:
        import obstore  # noqa: PLC0415

        key = self._full(path)
        try:
            with errors(self._url, "read", path):
                result = obstore.get(self._store, key, options=ranged(0, max(1, length)))
                data = bytes(result.bytes())
        except EmptyRangeError:  # an empty object has no byte 0
            meta = self._head(path)
            return Head(b"", int(meta["size"]), str(meta["e_tag"]))
        meta = result.meta
        return Head(data[:length], int(meta["size"]), str(meta["e_tag"]))

    def _head(self, path: str) -> Any:
        import obstore  # noqa: PLC0415

        try:
            with errors(self._url, "read", path):
                return obstore.head(self._store, self._full(path))
        except DocumentNotFoundError:
            # A HEAD's 404 has no body to tell a missing object from a missing bucket or
            # container (a typo in the URL): a GET's answer names it. Only on a miss.
            with contextlib.suppress(EmptyRangeError), errors(self._url, "read", path):
                obstore.get(self._store, self._full(path), options=ranged(0, 1))
            raise

    def _range(self, path: str, start: int, end: int, version: str) -> bytes:
        return self._sized_range(path, start, end, version)[0]

    def _sized_range(self, path: str, start: int, end: int, version: str) -> tuple[bytes, int]:
        """Bytes ``start``..``end`` of ``version``, and the whole object's size."""
        import obstore  # noqa: PLC0415

        with errors(self._url, "read", path):
            result = obstore.get(self._store, self._full(path), options=ranged(start, end, version))
            return bytes(result.bytes()), int(result.meta["size"])

    def open_range(self, path: str, start: int, version: str) -> BinaryIO:
        meta = self._head(path)
        if str(meta["e_tag"]) != version:
            raise DocumentChangedError(f"{path!r} in {self._url} changed since it was read")
        raw = _RangedFile(self, path, int(meta["size"]), version, start)
        return cast("BinaryIO", io.BufferedReader(raw, buffer_size=1 << 20))

    def open_file(self, path: str) -> BinaryIO:
        """A seekable reader of the current version of ``path`` (Vault.open's file)."""
        meta = self._head(path)
        raw = _RangedFile(self, path, int(meta["size"]), str(meta["e_tag"]), 0)
        return cast("BinaryIO", io.BufferedReader(raw, buffer_size=READ_BUFFER))

    def read(self, path: str) -> bytes:
        """The whole object, one version of it."""
        import obstore  # noqa: PLC0415

        with errors(self._url, "read", path):
            return bytes(obstore.get(self._store, self._full(path)).bytes())

    def exists(self, path: str) -> bool:
        try:
            self._head(path)
        except DocumentNotFoundError:
            return False
        return True

    # -- writing -------------------------------------------------------------------

    def put(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        return self._write(path, write, None)

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        return self._write(path, write, {"e_tag": version})

    def create(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        try:
            return self._write(path, write, "create")
        except DocumentChangedError as exc:
            raise DocumentExistsError(f"{path!r} already exists; nothing was written") from exc

    def _write(self, path: str, write: Callable[[BinaryIO], object], mode: Any) -> str:
        sink = _Sink(self._spill(path, mode))
        try:
            write(cast("BinaryIO", sink))
            if sink.upload is not None:
                return str(sink.upload.finish())
        except BaseException:
            if sink.upload is not None:
                sink.upload.abort()
            raise
        return self._put(path, bytes(sink.buffer), mode)

    def _spill(self, path: str, mode: Any) -> Callable[[], Any] | None:
        """Where a write over PART goes: None keeps it in memory for one PUT."""
        return None

    def _put(self, path: str, body: bytes, mode: Any) -> str:
        """One PUT of ``body`` under ``mode``; a write whose answer was lost counts as written."""
        import obstore  # noqa: PLC0415

        try:
            with errors(self._url, "write", path):
                if mode is None:
                    # over a part (Azure, which keeps writes in memory): blocks, then a list
                    done = obstore.put(self._store, self._full(path), body, chunk_size=PART)
                else:
                    done = obstore.put(self._store, self._full(path), body, mode=mode)
        except _CHANGED:
            if mode is None:
                raise
            landed = self._landed(path, body)
            if landed is None:
                raise
            return landed
        return str(done["e_tag"])

    def _landed(self, path: str, body: bytes) -> str | None:
        """The object's version if it holds exactly ``body`` (this write landed), else None."""
        try:
            meta = self._head(path)
            if int(meta["size"]) != len(body):
                return None
            version = str(meta["e_tag"])
            if version == f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"':
                return version  # S3's ETag of a single PUT: no need to read it back
            stored = self._range(path, 0, len(body), version) if body else b""
        except SealdocError:
            return None  # the refusal stands
        return version if hmac.compare_digest(stored, body) else None

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        fill = max(1, PART - len(header))
        try:
            data, total = self._sized_range(path, body_offset, body_offset + fill, version)
        except EmptyRangeError as exc:
            raise StoreError(f"{path!r} is no longer than its header") from exc
        rest = body_offset + len(data)
        if rest >= total:  # small: the whole object in one conditional PUT
            return self._put(path, header + data, {"e_tag": version})
        return self._copy_rest(path, version, header + data, rest, total)

    def _copy_rest(self, path: str, version: str, first: bytes, start: int, total: int) -> str:
        """``first`` then bytes ``start``.. of ``version``: here read and written again."""
        rest = self._range(path, start, total, version)
        return self._put(path, first + rest, {"e_tag": version})

    def delete(self, path: str) -> None:
        import obstore  # noqa: PLC0415

        self._head(path)  # S3 and Azure answer a delete of nothing with success
        with errors(self._url, "delete", path):
            obstore.delete(self._store, self._full(path))

    def clean_partials(self, prefix: str, before: float) -> int:
        """Nothing to clean: Azure keeps a killed writer's blocks uncommitted and invisible.

        The service discards uncommitted blocks after seven days.
        """
        return 0


class AzureBlobStore(BlobStore):
    """Azure with the account key or a SAS: a large header replace copies the body server-side."""

    def __init__(self, store: Any, root: str, url: str, copier: BlockCopier) -> None:
        super().__init__(store, root, url)
        self._copier = copier

    def list(self, prefix: str = "") -> Iterator[Entry]:
        """The SDK's listing, without the names obstore cannot address (as on S3)."""
        for name, size, etag in self._copier.listing(self._full(prefix)):
            if _addressable(name):
                yield Entry(relative(self.root, name), size, etag)

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        meta = self._head(path)
        if str(meta["e_tag"]) != version:
            raise DocumentChangedError(f"{path!r} in {self._url} changed; nothing was written")
        total = int(meta["size"])
        if total - body_offset <= PART:  # small: one conditional PUT moves less than the requests
            return super().replace_header(path, version, header, body_offset)
        from .azure_copy import BlocksInTheWayError  # noqa: PLC0415

        try:
            return self._copier.replace_header(
                self._full(path), path, version, header, body=(body_offset, total)
            )
        except BlocksInTheWayError:
            # read and written again: one conditional Put Blob, which also discards them
            return super().replace_header(path, version, header, body_offset)


class S3BlobStore(BlobStore):
    """S3: obstore for the calls of every document, botocore for the rest.

    botocore (through s3fs's settings for the same ``storage_options``) does
    what obstore cannot: multipart uploads completed under a condition,
    server-side part copies, versions and stale uploads.
    """

    def __init__(self, store: Any, root: str, url: str, options: Mapping[str, Any]) -> None:
        super().__init__(store, root, url)
        self._options = dict(options)
        self._botocore: S3Store | None = None
        self._lock = threading.Lock()

    def _s3(self) -> S3Store:
        if self._botocore is None:
            with self._lock:  # the bulk engine's workers: one botocore client, not one each
                if self._botocore is None:
                    self._botocore = self._open_s3()
        return self._botocore

    def list(self, prefix: str = "") -> Iterator[Entry]:
        """botocore's listing (``S3Store.list``), without the keys obstore cannot address.

        obstore fails a whole listing on one key with an empty, ``.`` or
        ``..`` segment (``a//b``): one such object beside the documents,
        written by any tool, stopped every job. It also shows a folder
        marker (``sub/``) as an object ``sub``, which the jobs then reported
        missing. Such keys are never documents (doc ids refuse those
        segments, opaque names have none). The listing costs botocore's CPU
        per page of 1,000 keys, not per document read or written.
        """
        with _naming(self._url):
            for entry in self._s3().list(prefix):
                if _addressable(self._full(entry.path)):
                    yield entry

    def _open_s3(self) -> S3Store:
        import fsspec.core  # noqa: PLC0415 - only for what obstore cannot do

        from .s3 import S3Store  # noqa: PLC0415

        # botocore's retries and timeouts bounded as obstore's are (objects.py): an
        # unreachable endpoint is a StoreError in seconds, not after minutes
        bounded = {"connect_timeout": 5, "read_timeout": 60, "retries": _RETRIES}
        options = {"config_kwargs": bounded, **self._options}
        with errors(self._url, "open", ""):
            fs, bucket_root = fsspec.core.url_to_fs(self._url, **options)
        return S3Store(fs, bucket_root, url=self._url)

    def _spill(self, path: str, mode: Any) -> Callable[[], Any] | None:
        from .s3 import upload_for  # noqa: PLC0415

        cond = {} if mode is None else {"IfNoneMatch": "*"} if mode == "create" else None
        if cond is None:
            cond = {"IfMatch": mode["e_tag"]}
        return lambda: upload_for(self._s3(), path, cond)

    def _copy_rest(self, path: str, version: str, first: bytes, start: int, total: int) -> str:
        return self._s3().copy_rest(path, version, first, start, total)

    def clean_partials(self, prefix: str, before: float) -> int:
        return self._s3().clean_partials(prefix, before)

    # -- versioned buckets (VersionedStore) ----------------------------------------

    def versioning(self) -> Versioning:
        return self._s3().versioning()

    def remove_replaced(self, path: str, version: str) -> int:
        return self._s3().remove_replaced(path, version)

    def remove_versions(self, path: str) -> int:
        return self._s3().remove_versions(path)


_RETRIES = {"max_attempts": 4, "mode": "standard"}


@contextlib.contextmanager
def _naming(url: str) -> Iterator[None]:
    """botocore's errors, which name the operation, made to name the store too."""
    try:
        yield
    except StoreError as exc:
        if url in str(exc):
            raise
        raise StoreError(f"the store {url}: {exc}") from exc


def _addressable(key: str) -> bool:
    """Whether obstore can address ``key``: no empty, ``.`` or ``..`` segment, no folder marker."""
    return not _UNADDRESSABLE.intersection(key.split("/"))


class _Sink(io.RawIOBase):
    """The file a write is given: in memory up to PART, then handed to ``spill()``'s upload."""

    def __init__(self, spill: Callable[[], Any] | None) -> None:
        super().__init__()
        self._spill = spill
        self.buffer = bytearray()
        self.upload: Any = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.upload is not None:
            self.upload.write(data)
            return len(memoryview(data))
        self.buffer += data
        if self._spill is not None and len(self.buffer) > PART:
            self.upload = self._spill()
            self.upload.write(bytes(self.buffer))
            self.buffer = bytearray()
        return len(memoryview(data))


class _RangedFile(io.RawIOBase):
    """A seekable file of one version of an object: each read is one ranged GET with If-Match."""

    def __init__(self, store: BlobStore, path: str, size: int, version: str, start: int) -> None:
        super().__init__()
        self._store = store
        self._path = path
        self._size = size
        self._version = version
        self._pos = start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        end = min(self._size, self._pos + len(buffer))
        if end <= self._pos:
            return 0
        data = self._store._range(self._path, self._pos, end, self._version)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
