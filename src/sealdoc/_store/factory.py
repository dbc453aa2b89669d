"""The backend of a URL or a file system: ``open_store(url, options)``, ``store_for(fs, root)``."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from typing import Any, BinaryIO, Protocol

from .._storage import protocols
from .base import VaultStore
from .generic import GenericStore
from .local import LocalStore
from .memory import MemoryStore
from .objects import UnsupportedOptionError, is_object_url

log = logging.getLogger("sealdoc.store")


class Reads(Protocol):
    """How a Vault reads whole documents and opens them; paths relative to the store's root."""

    def read(self, path: str) -> bytes: ...

    def open_file(self, path: str) -> BinaryIO: ...

    def exists(self, path: str) -> bool: ...


def open_store(
    url: str, options: Mapping[str, Any], *, durable: bool = True
) -> tuple[VaultStore, Reads]:
    """The backend of ``url`` and how a Vault reads from it.

    S3 and Azure Blob go through obstore (:mod:`.blobs`) when it is
    installed and takes the ``storage_options``; anything else, and those
    two otherwise, through fsspec (s3fs for S3; docs/storage.md).
    """
    if is_object_url(url) and importlib.util.find_spec("obstore") is not None:
        from .blobs import open_blob_store  # noqa: PLC0415 - an optional extra

        try:
            store = open_blob_store(url, options)
        except UnsupportedOptionError as exc:
            log.info("%s goes through fsspec: %s", url, exc)
        else:
            return store, store
    # fsspec is imported when a store is opened, not by `import sealdoc` or `--help`:
    # its import scans every installed package's entry points (half of --help's cost)
    import fsspec.core  # noqa: PLC0415

    fs, root = fsspec.core.url_to_fs(url, **dict(options))
    root = root.rstrip("/")
    return store_for(fs, root, url=url, durable=durable), FsReads(fs, root)


class FsReads:
    """Reads through an fsspec file system under ``root``."""

    def __init__(self, fs: Any, root: str) -> None:
        self._fs = fs
        self._root = root

    def _full(self, path: str) -> str:
        return f"{self._root}/{path}" if self._root else path

    def read(self, path: str) -> bytes:
        return bytes(self._fs.cat_file(self._full(path)))

    def open_file(self, path: str) -> BinaryIO:
        f: BinaryIO = self._fs._open(self._full(path), mode="rb", cache_type="none", block_size=0)
        return f

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._full(path)))


def store_for(fs: Any, root: str, *, url: str | None = None, durable: bool = True) -> VaultStore:
    """The store of ``root`` on fsspec file system ``fs``: the most capable backend for it.

    A local folder, memory and S3 (s3fs) get their own backend with a true
    compare-and-swap; any other file system gets :class:`GenericStore`
    (``conditional`` False).
    """
    kinds = protocols(fs)
    if "file" in kinds or "local" in kinds:
        return LocalStore(root, url=url, durable=durable)
    if "memory" in kinds:
        return MemoryStore(fs, root, url=url)
    if ("s3" in kinds or "s3a" in kinds) and hasattr(fs, "call_s3"):
        from .s3 import S3Store  # noqa: PLC0415 - s3fs is an optional extra

        return S3Store(fs, root, url=url)
    return GenericStore(fs, root, url=url, durable=durable)
