"""The keyring file's lock, and the removal of the copies a killed save left beside it.

A save writes ``.NAME.<16 hex>.partial`` (:mod:`sealdoc._atomic`) and
renames it over the keyring. A save killed before the rename leaves that
copy behind: a whole keyring, encrypted under the passphrase in use, that
no later destroy would reach. Every change and every load removes such
leftovers, under the keyring's lock (no other sealdoc save is under way
then) and only those whose own lock is free (no writer holds them).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from .._atomic import temp_paths
from ..exceptions import KeyringError
from ._local_format import lock_path, sidecar_path

try:
    import fcntl
except ImportError:  # pragma: no cover - no advisory locks on this platform
    fcntl = None  # type: ignore[assignment]

_log = logging.getLogger(__name__)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive advisory lock on a file beside the keyring (POSIX flock).

    The lock file is never the keyring itself: the keyring is replaced by
    rename, so a lock on it would be a lock on a file that is gone. Where
    there is no fcntl (Windows), only the in-process lock applies. With
    ``wait=False`` the block runs at once and is given False when the lock
    was busy or could not be taken (the caller then skips what needs it).
    """
    if fcntl is None:  # pragma: no cover
        yield True
        return
    try:
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o600)
    except OSError as exc:
        if not wait:
            yield False
            return
        raise KeyringError(f"cannot lock keyring {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if wait:
                raise
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def write_lock_record(path: Path, record: bytes) -> None:
    """Put ``record`` in the lock file (the caller holds its lock), in place.

    The lock file is never renamed (its lock would go with the old inode), so
    a crash mid-write can leave it unreadable: it then counts as no record.
    """
    fd = os.open(lock_path(path), os.O_WRONLY | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, record)
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_partials(path: Path) -> list[Path]:
    """Remove the leftovers of killed saves of the keyring (and its sidecar); return them.

    The caller holds :func:`file_lock`. A leftover is removed only while
    this process holds its own flock (the one :func:`sealdoc._atomic.atomic_file`
    takes while writing), so a copy some writer still has open is left alone.
    """
    found = [*temp_paths(path), *temp_paths(sidecar_path(path))]
    removed = [partial for partial in found if _remove_if_dead(partial)]
    if removed:
        _log.warning(
            "removed %d leftover copies of keyring %s (saves that were killed)", len(removed), path
        )
    return removed


def _remove_if_dead(partial: Path) -> bool:
    try:
        fd = os.open(partial, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC)
    except OSError:  # gone already, or a symlink: not one of ours
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    return False  # a live writer's
        # the name still names the file we hold the lock on (not a new one)
        if os.fstat(fd).st_ino != os.lstat(partial).st_ino:
            return False
        os.unlink(partial)
    except OSError:
        return False
    else:
        return True
    finally:
        os.close(fd)


__all__ = ["clean_partials", "file_lock", "write_lock_record"]
