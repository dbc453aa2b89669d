"""Writes that become visible all at once, on any fsspec backend."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import attrs

from ._store.local import Partial
from ._store.memory import LOCK


@attrs.frozen
class PendingWrite:
    """A file to write into, and how to publish it or throw it away."""

    file: Any
    commit: Callable[[], None]
    discard: Callable[[], None]


def protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return tuple(proto) if isinstance(proto, tuple | list) else (proto,)


def pending_write(fs: Any, path: str, *, fsync: bool = True) -> PendingWrite:
    """Open ``path`` for a write that readers see only once committed.

    * local disk: a temporary file in the same folder, fsynced (unless
      ``fsync=False``), then renamed over the target;
    * memory: fsspec's memory files are visible as soon as they are opened,
      so the bytes are gathered first and stored in one step;
    * object stores (s3fs, gcsfs, adlfs): fsspec's uncommitted buffered file;
      the object appears when the upload completes, never partly.

    sealdoc opens through ``_open`` because fsspec's ``open`` files every
    uncommitted handle in a transaction list that is never emptied.
    """
    kinds = protocols(fs)
    if "memory" in kinds:
        buffer = io.BytesIO()

        def store() -> None:
            with LOCK:
                fs.pipe_file(path, buffer.getvalue())

        return PendingWrite(buffer, store, buffer.close)
    if "file" in kinds:
        return _local_pending_write(fs, path, fsync=fsync)
    f = fs._open(path, mode="wb", autocommit=False)

    def commit() -> None:
        f.close()
        f.commit()

    def discard() -> None:
        from fsspec.spec import AbstractBufferedFile  # noqa: PLC0415 - loaded with the store

        f.discard()
        if isinstance(f, AbstractBufferedFile):
            # s3fs's discard() aborts the upload but leaves the file open, and
            # its close() at garbage collection then fails on the dropped buffer.
            f.closed = True

    return PendingWrite(f, commit, discard)


def _local_pending_write(fs: Any, path: str, *, fsync: bool) -> PendingWrite:
    """A temporary file beside the target, fsynced, then renamed over it.

    Not fsspec's own uncommitted local file: that one lives in the system
    temporary folder, and moving it onto another file system is a copy that
    a reader can catch half done. A hidden name in the same folder makes the
    final ``mv`` a rename, which is atomic. The rename takes the folder lock
    of :mod:`sealdoc._store.local`, so it is ordered with the Vault's puts and
    the bulk engine's conditional replaces; the temporary file is locked while
    written, so a cleaner never removes it from under this writer.
    """
    partial = Partial(fs._strip_protocol(path), durable=fsync)

    def commit() -> None:
        partial.commit(None)

    return PendingWrite(partial.file, commit, partial.discard)
