"""Crash-safe local files: a private temp file beside the target, fsync, rename, fsync the folder.

The one writer of whole local files in sealdoc: the keyring, X25519
identities, bulk checkpoints and the CLI's outputs all go through
:func:`atomic_file` (or :func:`write_atomic` for bytes at hand), so a crash
leaves the old file or the new one, never a mix. The temporary file is
``.NAME.<16 hex>.partial`` in the target's folder, the name
:mod:`sealdoc._store.local` gives its own (it adds a conditional rename
under a folder lock, which this module does not do), and it is locked
while written: ``LocalStore.clean_partials`` never removes a live one.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # pragma: no cover - no advisory locks on this platform
    fcntl = None  # type: ignore[assignment]

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class TargetExistsError(FileExistsError):
    """The target appeared while an ``overwrite=False`` write was under way; it is left as is."""


def temp_path(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.NAME.<16 hex>.partial``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")


def temp_paths(path: Path) -> list[Path]:
    """The temporary files of writes to ``path`` that exist now (live or left by a kill)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{16}}\.partial")
    return sorted(
        p
        for p in path.parent.glob(f".{glob.escape(path.name)}.*.partial")
        if pattern.fullmatch(p.name)
    )


def create_new(path: str | os.PathLike[str], *, mode: int = 0o600, read: bool = False) -> BinaryIO:
    """A file that did not exist, with ``mode`` from the start (O_EXCL, no symlink followed).

    FileExistsError if the name is taken, even by a dangling symlink: a file
    planted there cannot redirect what is written, and the contents are
    never readable by others, even for an instant. ``read`` opens it for
    reading too (``w+b``).
    """
    flags = os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    flags |= os.O_RDWR if read else os.O_WRONLY
    fd = os.open(path, flags, mode)
    try:
        return os.fdopen(fd, "w+b" if read else "wb")
    except BaseException:
        os.close(fd)
        os.unlink(path)  # created just now by O_EXCL: ours to remove
        raise


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` survive a crash (best effort where it cannot be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY | _O_CLOEXEC)
    except OSError:  # pragma: no cover - platforms without folder descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse a folder fsync
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str],
    *,
    mode: int = 0o600,
    overwrite: bool = True,
    keep_mode: bool = False,
) -> Iterator[BinaryIO]:
    """A file to write into that replaces ``path`` only once the block completes.

    If the block raises, ``path`` is untouched and the temporary file is
    removed. ``overwrite=False`` never replaces a ``path`` that exists by
    the end (:class:`TargetExistsError`, nothing written); ``keep_mode``
    gives the new file the permission bits of the one it replaces (a
    ``--force`` replaces contents, not who may read them).
    """
    target = Path(path)
    tmp = temp_path(target)
    fh = create_new(tmp, mode=mode)
    try:
        with fh:
            _lock(fh)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            if keep_mode:
                _copy_mode(target, tmp)
            _publish(tmp, target, overwrite=overwrite)  # still locked
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(target.parent)


# Where a file system has no working locks (an NFS mount without a lock
# daemon), the write goes on unlocked: the lock only tells a local store's
# clean-up that the temp file is live, and a store needs locks anyway.
_NO_LOCKS = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS})


def _lock(fh: BinaryIO) -> None:
    if fcntl is None:
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # live: clean_partials leaves it
    except OSError as exc:
        if exc.errno not in _NO_LOCKS:
            raise


def _copy_mode(target: Path, tmp: Path) -> None:
    """Give ``tmp`` the permission bits of the regular file ``target``, if it is the user's own.

    ``lstat``, so a symlink planted at the target lends no mode; a file of
    someone else's lends none either (a decrypted document is never
    published with modes another user chose). Otherwise ``tmp`` keeps 0600.
    """
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return
    own = getattr(os, "getuid", lambda: info.st_uid)()  # no uids: every file is one's own
    if stat.S_ISREG(info.st_mode) and info.st_uid == own:
        os.chmod(tmp, stat.S_IMODE(info.st_mode))


def _publish(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if the target appeared meanwhile: never clobbered
    except FileExistsError:
        raise TargetExistsError(f"{target} exists") from None
    except OSError:  # a file system without hard links
        if os.path.lexists(target):
            raise TargetExistsError(f"{target} exists") from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file."""
    with atomic_file(path, mode=mode) as fh:
        fh.write(data)


__all__ = [
    "TargetExistsError",
    "atomic_file",
    "create_new",
    "fsync_folder",
    "temp_path",
    "temp_paths",
    "write_atomic",
]
