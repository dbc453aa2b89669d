"""Loading many documents into a vault at once: ``Vault.put_many`` and ``put_folder``.

One process, a thread pool, a bounded window of work in flight (a folder of
a million files never becomes a million queued tasks), and the bulk jobs'
report (``BulkReport``, operation ``"put"``): ``rewritten`` counts the
documents stored, ``skipped`` those already stored unchanged, ``failed``
each one left as it was, with the reason.

"Unchanged" is decided with the vault's own keys, never with a digest
stored in the clear (which would let anyone holding the store confirm a
guessed document): the stored header must carry the same context and
plaintext length (read without a key), then the stored document is opened
and compared with the source, chunk by chunk. A stored document these keys
cannot open counts as changed. So a rerun after an interruption costs one
header read per file not yet stored, and a read and decryption per file
already stored: no seal, no write.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ._bulk.options import Progress
from ._bulk.report import BulkReport, Failure, Tally
from ._names import check_doc_id
from .exceptions import DocumentNotFoundError, SealdocError

if TYPE_CHECKING:
    from ._vault import Vault

#: What ``put_many`` stores under a doc id: the bytes, or a local file's path.
PutSource = bytes | bytearray | memoryview | str | os.PathLike[str]

_COMPARE_CHUNK = 1024 * 1024
_OTHER_CONTENT = "stored already, with other content or context (replace it: --force, replace=True)"


def files_under(folder: str | os.PathLike[str]) -> Iterator[tuple[str, Path]]:
    """``(relative path with '/', path)`` of every regular file under ``folder``, sorted.

    Symbolic links to files are followed; links to folders are not walked
    (a loop would never end).
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{os.fspath(folder)!r} is not a folder")
    for here, dirs, files in os.walk(root):
        dirs.sort()
        base = Path(here)
        for name in sorted(files):
            path = base / name
            if path.is_file():
                yield path.relative_to(root).as_posix(), path


def put_many(
    vault: Vault,
    items: Mapping[str, PutSource] | Iterable[tuple[str, PutSource]],
    *,
    context: Mapping[str, str] | None,
    key: str | None = None,
    workers: int,
    replace: bool,
    progress: Progress | None,
    stop: threading.Event | None,
) -> BulkReport:
    """See :meth:`sealdoc.Vault.put_many`."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int of at least 1, not {workers!r}")
    pairs = items.items() if isinstance(items, Mapping) else items
    wanted = dict(context or {})
    tally = Tally()
    started = time.monotonic()
    seen = done = 0
    interrupted = False

    def one(doc_id: str, source: PutSource) -> None:
        try:
            outcome = _put_one(vault, doc_id, source, wanted, key=key, replace=replace)
        except (SealdocError, OSError, ValueError, TypeError) as exc:
            # no secret in any of these: sealdoc's errors keep keys and
            # plaintext out, and a file's error names only its path
            tally.problem("failed", Failure(doc_id=doc_id, error=str(exc) or type(exc).__name__))
            return
        tally.add(outcome)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sealdoc-put") as pool:
        running: set[Future[None]] = set()
        for doc_id, source in pairs:
            if stop is not None and stop.is_set():
                interrupted = True
                break
            if len(running) >= 2 * workers:  # a bounded window: constant memory
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                done += len(finished)
                if progress is not None:
                    progress(done, seen)
            seen += 1
            running.add(pool.submit(one, doc_id, source))
        wait(running)
        done += len(running)
    if progress is not None:
        progress(done, seen)
    return tally.report(
        "put", dry_run=False, duration_s=time.monotonic() - started, interrupted=interrupted
    )


def _put_one(
    vault: Vault,
    doc_id: str,
    source: PutSource,
    context: dict[str, str],
    *,
    key: str | None,
    replace: bool,
) -> str:
    """``"rewritten"`` (stored) or ``"skipped"`` (already stored unchanged)."""
    check_doc_id(doc_id)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        state = _stored_state(vault, doc_id, context, len(data), lambda: _byte_chunks(data))
        if state == "same":
            return "skipped"
        if state == "different" and not replace:
            raise FileExistsError(_OTHER_CONTENT)
        vault.put(doc_id, data, context=context, key=key)
        return "rewritten"
    path = os.fspath(source)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        state = _stored_state(vault, doc_id, context, size, lambda: _file_chunks(fh))
        if state == "same":
            return "skipped"
        if state == "different" and not replace:
            raise FileExistsError(_OTHER_CONTENT)
        fh.seek(0)
        vault.put(doc_id, fh, context=context, key=key)
    return "rewritten"


def _stored_state(
    vault: Vault,
    doc_id: str,
    context: dict[str, str],
    size: int,
    chunks: Callable[[], Iterator[bytes]],
) -> str:
    """``"absent"``, ``"same"`` or ``"different"``: the stored document against the source."""
    try:
        header = vault.inspect(doc_id)
    except DocumentNotFoundError:
        return "absent"
    if header.context != context or header.plaintext_length != size:
        return "different"
    try:
        with vault.open(doc_id) as reader:
            for expected in chunks():
                if reader.read(len(expected)) != expected:
                    return "different"
            return "same" if reader.read(1) == b"" else "different"
    except SealdocError:  # these keys cannot open it (or it is damaged): not the same
        return "different"


def _file_chunks(fh: BinaryIO) -> Iterator[bytes]:
    fh.seek(0)
    while chunk := fh.read(_COMPARE_CHUNK):
        yield chunk


def _byte_chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), _COMPARE_CHUNK):
        yield data[start : start + _COMPARE_CHUNK]
