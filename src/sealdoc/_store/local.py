"""A local folder: flock-guarded compare-and-swap, kernel copies of the body.

**Versions.** A version is the file's device, inode, size and mtime (ns), plus
a short digest of its first 4 KiB: an inode freed by one replace can be
reused by the next file within one timestamp tick, and sealed documents of
one size differ in their first bytes (fresh wraps and nonces), so the digest
keeps such a reuse from passing for the old version.

**Compare-and-swap.** Writes never touch a document in place: each goes to a
hidden temporary file beside it (``.NAME.<random>.partial``) and is renamed
over it. The rename, and for a conditional replace the version check just
before it, happen under an exclusive ``flock`` on the document's folder. Every
writer in this module (``Vault.put``, the bulk engine's ``replace*``, the
``sealdoc::`` protocol) takes it, from any thread or process on this host, so
a replace that read version A can never rename over a version B that a put
committed after it read. Programs that write the files directly, and other
hosts on NFS, do not take the lock: there is no guarantee against them.

**Live temporary files.** A writer holds an ``flock`` on its own temporary file
until it is renamed or removed, so :meth:`LocalStore.clean_partials` (which
takes that lock without blocking before removing anything) never removes the
file of a writer that is still running.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from typing import BinaryIO

from .._atomic import fsync_folder
from ..exceptions import (
    DocumentChangedError,
    DocumentExistsError,
    DocumentNotFoundError,
    StoreError,
)
from .base import Entry, Head
from .common import CHUNK, Rooted, store_errors

_PARTIAL = re.compile(r"^\..+\.[0-9a-f]{16}\.partial$")
_DIGESTED = 4096
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def is_partial(name: str) -> bool:
    """Whether a file name is a writer's temporary file (never listed)."""
    return bool(_PARTIAL.match(name))


def _version(fd: int) -> str:
    st = os.fstat(fd)
    digest = hashlib.blake2b(os.pread(fd, _DIGESTED, 0), digest_size=8).hexdigest()
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{digest}"


def _version_at(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        return _version(fd)
    finally:
        os.close(fd)


LOCK_FILE = ".sealdoc-lock"  # only where a folder itself cannot be locked (NFS)


@contextlib.contextmanager
def folder_lock(folder: str) -> Iterator[None]:
    """An exclusive flock on a folder: the lock every committing writer takes.

    NFS emulates flock with byte-range locks, which a read-only descriptor
    (all a folder can be opened as) cannot take: there the lock is on a
    hidden lock file in the folder instead, the same for every writer that
    sees the same refusal.
    """
    fd = os.open(folder, os.O_RDONLY | _O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in (errno.EBADF, errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            os.close(fd)
            fd = os.open(f"{folder}/{LOCK_FILE}", os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class Partial:
    """A temporary file beside ``target``, locked while written, renamed into place.

    The store's own writer rather than :func:`sealdoc._atomic.atomic_file`
    (whose temporary files it names alike): its rename is conditional, under
    the folder lock, its version is read back from the open file, and its
    mode follows the umask like any file a store holds.
    """

    def __init__(self, target: str, *, durable: bool) -> None:
        self.target = target
        self.folder, _, name = target.rpartition("/")
        self.path = f"{self.folder}/.{name}.{secrets.token_hex(8)}.partial"
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _O_CLOEXEC  # read back for its version
        try:
            fd = os.open(self.path, flags, 0o666)
        except FileNotFoundError:  # the folder is made on the first write into it, not on each
            os.makedirs(self.folder, exist_ok=True)
            fd = os.open(self.path, flags, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)  # live: clean_partials leaves it alone
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self._durable = durable

    def commit(self, expected: str | None, *, exclusive: bool = False) -> str:
        """Rename into place (if ``target`` is still ``expected``, when given); the version.

        ``exclusive``: only if there is no ``target``, by a hard link, which
        the kernel refuses atomically when the name exists (rename would
        replace it), even against writers that take no folder lock.
        """
        self.file.flush()
        if self._durable:
            os.fsync(self.file.fileno())
        version = _version(self.file.fileno())
        with folder_lock(self.folder):
            if expected is not None:
                _check(_version_at(self.target), expected, self.target)
            if exclusive:
                _link_new(self.path, self.target)
                os.unlink(self.path)
            else:
                os.rename(self.path, self.target)
        self.file.close()
        if self._durable:
            fsync_folder(self.folder)
        return version

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _link_new(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        raise DocumentExistsError(f"{target!r} already exists; nothing was written") from None


def _check(found: str | None, expected: str, path: str) -> None:
    if found is None:
        raise DocumentNotFoundError(f"no object {path!r} in the store (deleted meanwhile)")
    if found != expected:
        raise DocumentChangedError(f"{path!r} changed since it was read; nothing was written")


class LocalStore(Rooted):
    """A folder on this host's file system (see the module's docstring)."""

    conditional = True

    def __init__(self, root: str, *, url: str | None = None, durable: bool = True) -> None:
        self.root = root.rstrip("/") or "/"
        self._url = url or f"file://{self.root}"
        self._durable = durable
        self.stats: Counter[str] = Counter()  # bytes moved per copy method, for tests

    # -- reading ---------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[Entry]:
        start = prefix.rpartition("/")[0]
        with store_errors("list", prefix):
            yield from _walk(self._full(start) if start else self.root, start, prefix)

    def read_head(self, path: str, length: int) -> Head:
        with store_errors("read", path):
            fd = os.open(self._full(path), os.O_RDONLY | _O_CLOEXEC)
            try:
                data = os.pread(fd, length, 0)
                return Head(data, os.fstat(fd).st_size, _version(fd))
            finally:
                os.close(fd)

    def open_range(self, path: str, start: int, version: str) -> BinaryIO:
        # The open file keeps reading the inode it opened, whatever is renamed
        # over the name later: once its version matches, every read is of it.
        with store_errors("read", path):
            f = open(self._full(path), "rb")  # noqa: SIM115 - returned to the caller
            try:
                _check(_version(f.fileno()), version, path)
                f.seek(start)
            except BaseException:
                f.close()
                raise
            return f

    # -- writing -----------------------------------------------------------------------

    def put(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        return self._write(path, None, write)

    def create(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        return self._write(path, None, write, exclusive=True)

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        with store_errors("replace", path):
            _check(_version_at(self._full(path)), version, path)  # fail before writing
        return self._write(path, version, write)

    def _write(
        self,
        path: str,
        expected: str | None,
        write: Callable[[BinaryIO], object],
        *,
        exclusive: bool = False,
    ) -> str:
        with store_errors("write", path):
            partial = Partial(self._full(path), durable=self._durable)
            try:
                write(partial.file)
                return partial.commit(expected, exclusive=exclusive)
            except BaseException:
                partial.discard()
                raise

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        with store_errors("replace", path):
            src = os.open(self._full(path), os.O_RDONLY | _O_CLOEXEC)
            try:
                _check(_version(src), version, path)
                size = os.fstat(src).st_size
                if not 0 <= body_offset <= size:
                    raise StoreError(f"{path!r} is shorter than its header ({size} bytes)")
                partial = Partial(self._full(path), durable=self._durable)
                try:
                    partial.file.write(header)
                    partial.file.flush()
                    self._copy(src, partial.file.fileno(), body_offset, size - body_offset)
                    return partial.commit(version)
                except BaseException:
                    partial.discard()
                    raise
            finally:
                os.close(src)

    def _copy(self, src: int, dst: int, offset: int, count: int) -> None:
        """``count`` bytes of ``src`` from ``offset`` appended to ``dst``, by the kernel if it can.

        copy_file_range first (may share extents on btrfs/XFS/NFS 4.2), then
        sendfile, then a bounded loop: the body never passes through Python
        unless both kernel paths are refused.
        """
        start = os.lseek(dst, 0, os.SEEK_CUR)
        done = 0
        for method in ("copy_file_range", "sendfile"):
            done = self._kernel_copy(method, src, dst, offset=offset, start=start, count=count)
            if done == count:
                break
            if done:
                raise StoreError("the document got shorter while it was copied")
        while done < count:  # neither kernel path is available here
            data = os.pread(src, min(CHUNK, count - done), offset + done)
            if not data:
                raise StoreError("the document got shorter while it was copied")
            os.pwrite(dst, data, start + done)
            done += len(data)
            self.stats["loop"] += len(data)
        os.lseek(dst, start + done, os.SEEK_SET)

    def _kernel_copy(
        self, method: str, src: int, dst: int, *, offset: int, start: int, count: int
    ) -> int:
        """Bytes copied by one kernel path; 0 if this kernel or file system refuses it."""
        done = 0
        try:
            while done < count:
                if method == "copy_file_range":
                    n = os.copy_file_range(src, dst, count - done, offset + done, start + done)
                else:
                    os.lseek(dst, start + done, os.SEEK_SET)
                    n = os.sendfile(dst, src, offset + done, count - done)
                if n == 0:
                    break  # the source ended early
                done += n
                self.stats[method] += n
        except (AttributeError, OSError):
            if done:
                raise
            return 0
        return done

    def delete(self, path: str) -> None:
        full = self._full(path)
        with store_errors("delete", path), folder_lock(full.rpartition("/")[0] or "/"):
            os.unlink(full)

    def clean_partials(self, prefix: str, before: float) -> int:
        start = prefix.rpartition("/")[0]
        removed = 0
        for full in _partials(self._full(start) if start else self.root, start, prefix):
            removed += _remove_if_abandoned(full, before)
        return removed


def _remove_if_abandoned(full: str, before: float) -> int:
    try:
        fd = os.open(full, os.O_RDONLY | _O_CLOEXEC)
    except FileNotFoundError:
        return 0  # renamed or removed by its writer meanwhile
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # a live writer holds it
        if os.fstat(fd).st_mtime >= before:
            return 0
        with contextlib.suppress(FileNotFoundError):
            os.unlink(full)
            return 1
        return 0
    finally:
        os.close(fd)


def _sorted_entries(folder: str) -> list[tuple[str, os.DirEntry[str]]]:
    """A folder's entries by their path key: a folder sorts as ``name/``.

    With ``/`` appended, sorting each folder and walking depth-first gives
    the global UTF-8 byte order of the full paths (``a.b`` < ``a/x`` <
    ``a0``), the order S3 lists in.
    """
    try:
        with os.scandir(folder) as it:
            entries = [(e.name + "/" if _is_dir(e) else e.name, e) for e in it]
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries.sort(key=lambda pair: pair[0])
    return entries


def _is_dir(entry: os.DirEntry[str]) -> bool:
    return entry.is_dir(follow_symlinks=False)


def _files(folder: str, rel: str, prefix: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every file below ``folder`` in path order, entering only folders ``prefix`` can reach."""
    for key, entry in _sorted_entries(folder):
        path = f"{rel}/{key}" if rel else key
        if not key.endswith("/"):
            yield path, entry
        elif path.startswith(prefix) or prefix.startswith(path):
            yield from _files(entry.path, path[:-1], prefix)


def _walk(folder: str, rel: str, prefix: str) -> Iterator[Entry]:
    for path, entry in _files(folder, rel, prefix):
        if path.startswith(prefix) and not is_partial(entry.name) and entry.name != LOCK_FILE:
            try:
                size = entry.stat().st_size
            except FileNotFoundError:
                continue  # removed while listed
            yield Entry(path, size)


def _partials(folder: str, rel: str, prefix: str) -> Iterator[str]:
    for path, entry in _files(folder, rel, prefix):
        if is_partial(entry.name):
            # ".NAME.<16 hex>.partial" is the temporary file of document NAME
            target = entry.name[1 : -len(".0123456789abcdef.partial")]
            if (path[: -len(entry.name)] + target).startswith(prefix):
                yield entry.path
