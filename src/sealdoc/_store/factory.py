"""The backend for a file system: ``store_for(fs, root)``."""

from __future__ import annotations

from typing import Any

from .._storage import protocols
from .base import VaultStore
from .generic import GenericStore
from .local import LocalStore
from .memory import MemoryStore


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
