"""Any other fsspec backend (GCS, Azure, SFTP...): streaming rewrites, no compare-and-swap.

fsspec offers no conditional write, so ``conditional`` is False: a replace
checks the version it was given just before it writes (which narrows the
window) but cannot make the check and the write one step. Bulk jobs refuse
such a store unless the caller opts out. A header replace streams the old
body into the new object in bounded chunks (memory stays at one chunk).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from .._storage import pending_write
from ..exceptions import DocumentChangedError, UnsafeStoreError
from .base import Entry, Head
from .common import Rooted, copy_stream, relative, store_errors


def version_of(info: dict[str, Any]) -> str:
    """The best version token fsspec's ``info`` gives: an ETag, a generation, else size+mtime."""
    for name in ("ETag", "etag", "generation", "version_id", "VersionId", "md5Hash"):
        if info.get(name):
            return f"{name}:{info[name]}"
    modified = info.get(
        "mtime", info.get("LastModified", info.get("last_modified", info.get("updated")))
    )
    return f"size:{info.get('size')}:mtime:{modified}"


class GenericStore(Rooted):
    """A store on any fsspec file system, written through fsspec's atomic files."""

    conditional = False

    def __init__(self, fs: Any, root: str, *, url: str | None = None, durable: bool = True) -> None:
        self._fs = fs
        self.root = root.rstrip("/")
        self._url = url or self.root
        self._durable = durable

    def _version(self, path: str) -> str:
        return version_of(self._fs.info(self._full(path)))

    def list(self, prefix: str = "") -> Iterator[Entry]:
        # fsspec's find() has no prefix parameter on most backends: the
        # prefix's folder part is the nearest thing it can push down.
        folder = prefix.rpartition("/")[0]
        base = self._full(folder) if folder else self.root
        with store_errors("list", prefix):
            found = self._fs.find(base, detail=True) if self._fs.exists(base) else {}
        for full in sorted(found):
            path = relative(self.root, full)
            if path.startswith(prefix):
                yield Entry(path, found[full].get("size"), None)

    def read_head(self, path: str, length: int) -> Head:
        with store_errors("read", path):
            info = self._fs.info(self._full(path))
            data: bytes = self._fs.cat_file(self._full(path), start=0, end=length)
        return Head(data, int(info.get("size") or 0), version_of(info))

    def open_range(self, path: str, start: int, version: str) -> BinaryIO:
        with store_errors("read", path):
            _check(self._version(path), version, path)
            f: BinaryIO = self._fs.open(self._full(path), "rb")
            f.seek(start)
        return f

    def put(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        return self._write(path, None, write)

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        return self._write(path, version, write)

    def create(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        raise UnsafeStoreError(
            f"{self._url}: this store cannot refuse to replace an existing object when it "
            f"publishes one, so an exclusive create of {path!r} could overwrite another "
            "writer's; write it with mode 'wb' where that is acceptable"
        )

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        def write(dst: BinaryIO) -> None:
            with self._fs.open(self._full(path), "rb") as src:
                src.seek(body_offset)
                dst.write(header)
                copy_stream(src, dst)

        return self._write(path, version, write)

    def _write(self, path: str, expected: str | None, write: Callable[[BinaryIO], object]) -> str:
        with store_errors("write", path):
            if expected is not None:
                _check(self._version(path), expected, path)
            parent = self._full(path).rpartition("/")[0]
            if parent:  # folders for backends that have them; object stores ignore it
                with contextlib.suppress(Exception):
                    self._fs.makedirs(parent, exist_ok=True)
            pending = pending_write(self._fs, self._full(path), fsync=self._durable)
            try:
                write(pending.file)
                if expected is not None:  # the last look before the swap: narrows, cannot close
                    _check(self._version(path), expected, path)
                pending.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    pending.discard()
                raise
            return self._version(path)

    def delete(self, path: str) -> None:
        with store_errors("delete", path):
            if not self._fs.exists(self._full(path)):
                raise FileNotFoundError(path)
            self._fs.rm_file(self._full(path))

    def clean_partials(self, prefix: str, before: float) -> int:
        return 0  # fsspec's uncommitted files live outside the store, or are aborted uploads


def _check(found: str, expected: str, path: str) -> None:
    if found != expected:
        raise DocumentChangedError(f"{path!r} changed since it was read; nothing was written")


__all__ = ["GenericStore", "version_of"]
