"""Bulk rewrap and rotate over a Vault: concurrent, idempotent, resumable, with a report.

A document already at the target keys is skipped from its header alone; a
checkpoint file records finished doc ids so that a rerun after a crash
(even SIGKILL) does not read them again; every rewritten document is opened
again before it counts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ._envelope import inspect, providers_of
from ._format import Header
from ._rekey import is_current, rewrap, rotate, wrapped_exactly_for
from .exceptions import DecryptionError, KeyProviderError, SealdocError, StoreError

if TYPE_CHECKING:
    from ._vault import Vault
    from .providers._base import KeyProvider

Select = Callable[[Header], bool]
_TRANSIENT = (StoreError, KeyProviderError)


@attrs.frozen
class Failure:
    """A document the job could not rewrite, and why (no secret in it)."""

    doc_id: str
    error: str


@attrs.frozen
class BulkReport:
    """What a bulk job did. ``to_json()`` gives it for an operator or an auditor."""

    operation: str
    dry_run: bool
    scanned: int
    rewritten: int
    skipped: int
    resumed: int
    failed: tuple[Failure, ...]
    before: dict[str, int] = attrs.field(hash=False)
    after: dict[str, int] = attrs.field(hash=False)
    duration_s: float

    @property
    def docs_per_second(self) -> float:
        return self.scanned / self.duration_s if self.duration_s > 0 else 0.0

    def to_json(self) -> str:
        data = attrs.asdict(self)
        data["docs_per_second"] = round(self.docs_per_second, 1)
        return json.dumps(data, indent=2, sort_keys=True)


class _Checkpoint:
    """Finished doc ids, one per line after a line naming the job, fsynced in batches.

    A checkpoint left by another job (another operation, store or prefix) is
    refused: resuming from it would skip documents this job never touched.
    """

    def __init__(self, path: str | os.PathLike[str] | None, job: dict[str, str]) -> None:
        self._path = Path(path) if path is not None else None
        self._job = job
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._started = False
        self.done: set[str] = set()
        if self._path is not None and self._path.exists():
            self._load(self._path)

    def _load(self, path: Path) -> None:
        lines = path.read_text("utf-8").splitlines(keepends=True)
        if not lines:
            return
        try:
            head = json.loads(lines[0])
        except ValueError:
            head = None
        if not isinstance(head, dict) or head.get("sealdoc_checkpoint") != 1:
            raise ValueError(f"{path} is not a sealdoc checkpoint")
        if head.get("job") != self._job:
            theirs = head.get("job", {})
            raise ValueError(
                f"{path} is the checkpoint of another job ({theirs.get('operation')} of "
                f"{theirs.get('url')} under {theirs.get('prefix')!r}); use a new file for this one"
            )
        self._started = True
        # A line cut short by a crash has no newline: it does not count.
        for line in lines[1:]:
            if line.endswith("\n"):
                self.done.add(json.loads(line))

    def add(self, doc_id: str) -> None:
        if self._path is None:
            return
        with self._lock:
            self._pending.append(doc_id)
            if len(self._pending) >= 64:
                self._flush()

    def _flush(self) -> None:
        assert self._path is not None
        if not self._pending:
            return
        with open(self._path, "a", encoding="utf-8") as fh:
            if not self._started:
                head = {"sealdoc_checkpoint": 1, "job": self._job}
                fh.write(json.dumps(head, sort_keys=True) + "\n")
                self._started = True
            fh.write("".join(json.dumps(d) + "\n" for d in self._pending))
            fh.flush()
            os.fsync(fh.fileno())
        self._pending.clear()

    def close(self) -> None:
        if self._path is not None:
            with self._lock:
                self._flush()


def inventory(vault: Vault, prefix: str = "") -> dict[str, int]:
    """Documents per wrapped key (``kind:key_id#version``), from headers alone."""
    counts: Counter[str] = Counter()
    for doc_id in vault.list(prefix):
        for wrapped in vault.inspect(doc_id).wrapped_keys:
            counts[wrapped.label] += 1
    return dict(sorted(counts.items()))


def run_bulk(
    vault: Vault,
    operation: str,
    *,
    prefix: str = "",
    to: KeyProvider | Sequence[KeyProvider] | None = None,
    select: Select | None = None,
    workers: int = 8,
    dry_run: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    retries: int = 3,
    backoff: float = 0.2,
    verify: bool = True,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    batch_size: int = 200,
    ids: Sequence[str] | None = None,
) -> BulkReport:
    """Run one bulk job; ``progress(done, total)`` is called as documents finish.

    With a dask.distributed ``client``, documents go to the cluster in
    batches of ``batch_size`` (one task per batch, never per document).
    """
    if operation not in ("rewrap", "rotate"):
        raise ValueError("operation is 'rewrap' or 'rotate'")
    if workers < 1 or batch_size < 1:
        raise ValueError("workers and batch_size must be at least 1")
    job: dict[str, Any] = {
        "prefix": prefix,
        "to": to,
        "select": select,
        "workers": workers,
        "dry_run": dry_run,
        "checkpoint": checkpoint,
        "retries": retries,
        "backoff": backoff,
        "verify": verify,
        "progress": progress,
    }
    if client is not None:
        return _run_on_dask(vault, operation, client=client, batch_size=batch_size, **job)
    report, _ = _run_here(vault, operation, ids=ids, **job)
    return report


def _run_here(
    vault: Vault,
    operation: str,
    *,
    prefix: str,
    to: KeyProvider | Sequence[KeyProvider] | None,
    select: Select | None,
    workers: int,
    dry_run: bool,
    checkpoint: str | os.PathLike[str] | None,
    retries: int,
    backoff: float,
    verify: bool,
    progress: Callable[[int, int], None] | None,
    ids: Sequence[str] | None,
) -> tuple[BulkReport, list[str]]:
    """The job in this process: a thread pool over the documents. Also returns the ids done."""
    started = time.monotonic()
    targets = _as_list(to) if to is not None else list(vault._providers)
    marks = _Checkpoint(checkpoint, _job(vault, operation, prefix))
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    counts = Counter[str]()
    failures: list[Failure] = []
    finished_ids: list[str] = []
    lock = threading.Lock()

    def one(doc_id: str) -> None:
        if doc_id in marks.done:
            with lock:
                counts["resumed"] += 1
            return
        wrote: list[list[str]] = []  # set once an attempt has written the document
        try:
            outcome, old, new = _with_retries(
                lambda: _process(
                    vault,
                    operation,
                    doc_id,
                    targets=targets,
                    to=targets if to is not None else None,  # key URIs resolved once
                    select=select,
                    dry_run=dry_run,
                    verify=verify,
                    wrote=wrote,
                ),
                retries,
                backoff,
            )
        except (SealdocError, ValueError) as exc:
            # ValueError: a document this job must not change as asked (rotate
            # refusing to drop a wrapped key it cannot re-create); the others go on
            with lock:
                failures.append(Failure(doc_id, f"{type(exc).__name__}: {_why(exc)}"))
            return
        if outcome == "current" and wrote:
            # an earlier attempt wrote it and only its check failed: this job rewrote it
            outcome, old = "rewritten", wrote[0]
        with lock:
            counts[outcome] += 1
            before.update(old)
            after.update(new)
        if outcome != "selected-out" and not dry_run:
            marks.add(doc_id)
            with lock:
                finished_ids.append(doc_id)

    finished = [0]

    def tracked(doc_id: str) -> None:
        try:
            one(doc_id)
        finally:
            if progress is not None:
                with lock:
                    finished[0] += 1
                    done = finished[0]
                progress(done, len(doc_ids))

    doc_ids = list(vault.list(prefix)) if ids is None else list(ids)
    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(tracked, doc_ids))
    finally:
        marks.close()
    return BulkReport(
        operation=operation,
        dry_run=dry_run,
        scanned=len(doc_ids),
        rewritten=counts["rewritten"],
        skipped=counts["current"] + counts["selected-out"],
        resumed=counts["resumed"],
        failed=tuple(sorted(failures, key=lambda f: f.doc_id)),
        before=dict(sorted(before.items())),
        after=dict(sorted(after.items())),
        duration_s=time.monotonic() - started,
    ), finished_ids


# -- Dask ---------------------------------------------------------------------------------


def _dask_batch(
    spec: dict[str, Any], operation: str, ids: list[str], options: dict[str, Any]
) -> tuple[BulkReport, list[str]]:
    """One task on a Dask worker: rebuild the vault from its spec, run the batch."""
    from ._uri import key_from_uri  # noqa: PLC0415
    from ._vault import Vault  # noqa: PLC0415

    vault = Vault(
        spec["url"],
        keys=spec["keys"],
        storage_options=spec["storage_options"],
        name_key=spec["name_key"],
        suite=spec["suite"],
        segment_size=spec["segment_size"],
        durable=spec["durable"],
    )
    to = options.pop("to_uris")
    targets = [key_from_uri(u) for u in to] if to else None
    return _run_here(
        vault, operation, to=targets, prefix="", checkpoint=None, progress=None, ids=ids, **options
    )


def _run_on_dask(
    vault: Vault,
    operation: str,
    *,
    client: Any,
    batch_size: int,
    prefix: str,
    to: Any,
    select: Select | None,
    workers: int,
    dry_run: bool,
    checkpoint: str | os.PathLike[str] | None,
    retries: int,
    backoff: float,
    verify: bool,
    progress: Callable[[int, int], None] | None,
) -> BulkReport:
    from distributed import as_completed  # noqa: PLC0415 - the optional extra 'dask'

    if vault.key_uris is None:
        raise ValueError(
            "a Dask job rebuilds the vault on each worker: give the Vault its keys as key URIs "
            "(passphrases and PINs from the workers' environment), not provider objects"
        )
    to_uris = list(to) if isinstance(to, list | tuple) else ([to] if to is not None else [])
    if any(not isinstance(u, str) for u in to_uris):
        raise ValueError("with a Dask client, to= takes key URIs")
    started = time.monotonic()
    marks = _Checkpoint(checkpoint, _job(vault, operation, prefix))
    every = list(vault.list(prefix))
    todo = [d for d in every if d not in marks.done]
    spec = vault.spec()
    options = {
        "select": select,
        "workers": workers,
        "dry_run": dry_run,
        "retries": retries,
        "backoff": backoff,
        "verify": verify,
        "to_uris": to_uris,
    }
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    futures = [
        client.submit(_dask_batch, spec, operation, b, dict(options), pure=False) for b in batches
    ]
    reports: list[BulkReport] = []
    done = 0
    try:
        for future in as_completed(futures):
            report, finished = future.result()
            reports.append(report)
            for doc_id in finished:
                marks.add(doc_id)
            done += report.scanned
            if progress is not None:
                progress(done, len(todo))
    finally:
        marks.close()
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for r in reports:
        before.update(r.before)
        after.update(r.after)
    return BulkReport(
        operation=operation,
        dry_run=dry_run,
        scanned=len(every),
        rewritten=sum(r.rewritten for r in reports),
        skipped=sum(r.skipped for r in reports),
        resumed=len(every) - len(todo),
        failed=tuple(sorted((f for r in reports for f in r.failed), key=lambda f: f.doc_id)),
        before=dict(sorted(before.items())),
        after=dict(sorted(after.items())),
        duration_s=time.monotonic() - started,
    )


def _job(vault: Vault, operation: str, prefix: str) -> dict[str, str]:
    return {"operation": operation, "url": vault.url, "prefix": prefix}


def _as_list(to: KeyProvider | Sequence[KeyProvider]) -> list[KeyProvider]:
    # key URIs resolved once per job, not once per document
    return list(providers_of(to))


def _with_retries(
    work: Callable[[], tuple[str, Iterable[str], Iterable[str]]], retries: int, backoff: float
) -> tuple[str, Iterable[str], Iterable[str]]:
    for attempt in range(retries + 1):
        try:
            return work()
        except _TRANSIENT:  # noqa: PERF203 - retrying is the point of this loop
            if attempt == retries:
                raise
            time.sleep(backoff * (2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _process(
    vault: Vault,
    operation: str,
    doc_id: str,
    *,
    targets: list[KeyProvider],
    to: KeyProvider | Sequence[KeyProvider] | None,
    select: Select | None,
    dry_run: bool,
    verify: bool,
    wrote: list[list[str]],
) -> tuple[str, list[str], list[str]]:
    header = vault.inspect(doc_id)
    labels = [w.label for w in header.wrapped_keys]
    if select is not None and not select(header):
        return "selected-out", labels, labels
    if operation == "rewrap" and (
        is_current(header, keys=targets) if to is None else wrapped_exactly_for(header, targets)
    ):
        return "current", labels, labels
    if dry_run:
        return "rewritten", labels, labels
    sealed = vault._read_sealed(doc_id)
    binding = vault._binding(doc_id)
    if operation == "rewrap":
        new = rewrap(sealed, keys=vault._providers, to=to, binding=binding)
    else:
        new = rotate(sealed, keys=vault._providers, to=to, binding=binding)
    vault._write_sealed(doc_id, new)
    wrote.append(labels)
    if verify:  # the new object must open before it counts
        if operation == "rewrap":
            # the body is byte for byte the old one: reading the new header back
            # from the store and authenticating it proves what changed
            with vault.open(doc_id):
                pass
        else:
            vault.get(doc_id)
    return "rewritten", labels, [w.label for w in inspect(new).wrapped_keys]


__all__ = ["BulkReport", "Failure", "inventory", "run_bulk"]


def _why(exc: BaseException) -> str:
    """For the operator's report: an opening error's details, which its str() leaves out."""
    if isinstance(exc, DecryptionError | KeyProviderError):
        return "; ".join(line.strip() for line in exc.details().splitlines())
    return str(exc)
