"""Where the CLI reads and writes: paths, ``-`` for stdin/stdout, and fsspec URLs.

Outputs are all-or-nothing: a local file is written under a hidden name
(0600, O_EXCL) and renamed into place only when everything authenticated;
a URL goes through fsspec's uncommitted writes. An existing output is never
replaced without ``--force``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from .. import _format as fmt
from .._atomic import TargetExistsError, atomic_file, create_new
from .._storage import pending_write
from .errors import RefusedError

CHUNK = 1024 * 1024
_MAX_HTML_PAGE = 128 * 1024 * 1024
_SNIFF = 64


def is_url(target: str) -> bool:
    return "://" in target or target.startswith("sealdoc::")


@contextlib.contextmanager
def open_input(spec: str, storage_options: Mapping[str, Any]) -> Iterator[BinaryIO]:
    """IN: ``-`` (stdin), a local path, or any fsspec URL (``s3://bucket/x.sdoc``)."""
    if spec == "-":
        yield sys.stdin.buffer
        return
    if is_url(spec):
        import fsspec  # noqa: PLC0415 - as in Vault: only when a URL is opened

        with fsspec.open(spec, "rb", **dict(storage_options)) as fh:
            yield fh
        return
    with open(spec, "rb") as fh:
        yield fh


def _seekable(src: Any) -> bool:
    try:
        return bool(src.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def sniff(src: BinaryIO) -> bytes:
    """The first bytes of ``src`` without consuming them (``src`` must be seekable or peekable)."""
    if hasattr(src, "peek"):
        return bytes(src.peek(_SNIFF)[:_SNIFF])
    start = src.tell()
    head = src.read(_SNIFF)
    src.seek(start)
    return head


def is_html(head: bytes) -> bool:
    return head[:4] != fmt.MAGIC and head.lstrip().lower().startswith((b"<!doctype", b"<html"))


@contextlib.contextmanager
def spooled(src: BinaryIO) -> Iterator[BinaryIO]:
    """``src`` as a seekable file: itself if it can seek, else a private 0600 copy.

    The copy holds what came in (a sealed document, never plaintext), lives in
    a fresh 0700 folder, and is removed on the way out.
    """
    if _seekable(src):
        yield src
        return
    folder = tempfile.mkdtemp(prefix="sealdoc-")  # 0700
    try:
        with create_new(os.path.join(folder, "input"), read=True) as fh:
            shutil.copyfileobj(src, fh, CHUNK)
            fh.seek(0)
            yield fh
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def sealed_input(
    spec: str, storage_options: Mapping[str, Any], *, spool: bool = True
) -> Iterator[tuple[BinaryIO, bool]]:
    """IN as a sealed stream (seekable if ``spool``), and whether it came from an .html page."""
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open_input(spec, storage_options))
        if spool:
            src = stack.enter_context(spooled(src))
        if is_html(sniff(src)):
            from .._html import sealed_from_html  # noqa: PLC0415 - only for a page, and heavy

            yield io.BytesIO(sealed_from_html(src.read(_MAX_HTML_PAGE))), True
        else:
            yield src, False


class _Target:
    """Where OUT goes, checked before any work is done."""

    def __init__(self, spec: str, *, force: bool, storage_options: Mapping[str, Any]) -> None:
        self.spec = spec
        self.force = force
        self.storage_options = dict(storage_options)
        if spec == "-":
            return
        if is_url(spec):
            import fsspec.core  # noqa: PLC0415 - as in Vault: only when a URL is opened

            self.fs, self.path = fsspec.core.url_to_fs(spec, **self.storage_options)
            exists = self.fs.exists(self.path)
        else:
            exists = os.path.lexists(spec)
        if exists and not force:
            raise RefusedError(f"{spec} exists: give --force to replace it")


def check_output(
    spec: str, *, force: bool, storage_options: Mapping[str, Any] | None = None
) -> _Target:
    """Fail now (exit 3) if OUT exists and ``--force`` was not given."""
    return _Target(spec, force=force, storage_options=storage_options or {})


@contextlib.contextmanager
def open_output(target: _Target) -> Iterator[BinaryIO]:
    """OUT, all or nothing: nothing is visible at OUT unless the block completes."""
    if target.spec == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if is_url(target.spec):
        pending = pending_write(target.fs, target.path)
        try:
            yield pending.file
            pending.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                pending.discard()
            raise
        return
    with _local_output(Path(target.spec), force=target.force) as fh:
        yield fh


@contextlib.contextmanager
def _local_output(path: Path, *, force: bool) -> Iterator[BinaryIO]:
    # 0600 from the start under a fresh name, so a planted file or symlink
    # cannot redirect the plaintext; --force keeps the old file's mode.
    try:
        with atomic_file(path, overwrite=force, keep_mode=force) as fh:
            yield fh
    except TargetExistsError:
        raise RefusedError(f"{path} exists: give --force to replace it") from None


def copy_authenticated(reader: Any, dst: BinaryIO, *, to_stdout: bool, stream: bool) -> None:
    """Copy an opened document's plaintext to ``dst``; stdout only once all of it authenticated.

    A file output is hidden until it is complete, so it can be written as
    the segments come. Bytes on stdout cannot be taken back: unless
    ``stream`` (``--stream``) is given, the whole document is first
    authenticated (every segment decrypted into nowhere), then read again
    from the start. The source is seekable here (see :func:`spooled`).
    """
    if to_stdout and not stream:
        while reader.read(CHUNK):
            pass
        reader.seek(0)
    while chunk := reader.read(CHUNK):
        dst.write(chunk)


__all__ = [
    "check_output",
    "copy_authenticated",
    "is_url",
    "open_input",
    "open_output",
    "sealed_input",
    "spooled",
]
