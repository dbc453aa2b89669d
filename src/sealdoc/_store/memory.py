"""fsspec's memory file system: compare-and-swap under one lock.

A version is a digest of the object's bytes. Every write of this module
(``Vault.put``, ``replace*``, ``delete``) checks and stores under one
process-wide lock, so a replace never reverts a put made after it read.
Code that writes into ``fs.store`` directly does not take the lock.
Memory objects are whole ``bytes`` anyway, so nothing here streams; a
listing gathers the matching names (not their contents) before sorting.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from ..exceptions import DocumentChangedError, DocumentExistsError
from .base import Entry, Head
from .common import Rooted, store_errors

LOCK = threading.RLock()  # one for every memory store: they share fsspec's dict


def _version(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class MemoryStore(Rooted):
    """Objects in ``fsspec.filesystem("memory")`` under ``root``."""

    conditional = True

    def __init__(self, fs: Any, root: str, *, url: str | None = None) -> None:
        self._fs = fs
        self.root = root.rstrip("/")
        self._url = url or f"memory://{self.root}"

    def _current(self, path: str) -> bytes:
        data: bytes = self._fs.cat_file(self._full(path))
        return data

    def list(self, prefix: str = "") -> Iterator[Entry]:
        base = self.root + "/" if self.root else ""
        start = base + prefix
        with LOCK:
            names = sorted(k for k in self._fs.store if k.startswith(start))
        for name in names:
            yield Entry(name[len(base) :])

    def read_head(self, path: str, length: int) -> Head:
        with store_errors("read", path):
            data = self._current(path)
        return Head(data[:length], len(data), _version(data))

    def open_range(self, path: str, start: int, version: str) -> BinaryIO:
        with store_errors("read", path):
            data = self._current(path)
        _check(data, version, path)
        return io.BytesIO(data[start:])

    def put(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        return self._store(path, None, write)

    def create(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        return self._store(path, None, write, exclusive=True)

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        with store_errors("replace", path):
            _check(self._current(path), version, path)
        return self._store(path, version, write)

    def _store(
        self,
        path: str,
        expected: str | None,
        write: Callable[[BinaryIO], object],
        *,
        exclusive: bool = False,
    ) -> str:
        buffer = io.BytesIO()
        write(buffer)
        data = buffer.getvalue()
        with store_errors("write", path), LOCK:
            if expected is not None:
                _check(self._current(path), expected, path)
            if exclusive and self._fs.exists(self._full(path)):
                raise DocumentExistsError(f"{path!r} already exists; nothing was written")
            self._fs.pipe_file(self._full(path), data)
        return _version(data)

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        with store_errors("replace", path), LOCK:
            old = self._current(path)
            _check(old, version, path)
            data = header + old[body_offset:]
            self._fs.pipe_file(self._full(path), data)
        return _version(data)

    def delete(self, path: str) -> None:
        with store_errors("delete", path), LOCK:
            if not self._fs.exists(self._full(path)):
                raise FileNotFoundError(path)
            self._fs.rm_file(self._full(path))

    def clean_partials(self, prefix: str, before: float) -> int:
        return 0  # memory writes are stored in one step: nothing is ever partial


def _check(data: bytes, expected: str, path: str) -> None:
    if _version(data) != expected:
        raise DocumentChangedError(f"{path!r} changed since it was read; nothing was written")
