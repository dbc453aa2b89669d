"""Bulk jobs on a dask.distributed cluster: batches of object names, vaults rebuilt on workers.

The client lists and keeps the checkpoint; each task gets ``batch_size``
names (never one task per document: Dask costs milliseconds per task) and
the vault's spec, with its keys as key URIs whose secrets come from the
workers' own environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from .._args import as_list
from .._store.base import Entry
from ..exceptions import EmptyStoreError
from .checkpoint import Checkpoint
from .engine import _nothing_at, job_identity, listing, preflight, run_here
from .options import BulkOptions
from .report import BulkReport, Tally
from .source import Source


@attrs.frozen
class Remote:
    """How a worker opens the same vault: its spec, and a function from spec to Source."""

    spec: dict[str, Any] = attrs.field(repr=False)  # holds the name key, if any
    key_uris: list[str] | None
    rebuild: Callable[[dict[str, Any]], Source]


def _batch(task: dict[str, Any]) -> tuple[BulkReport, list[str]]:
    """One task on a Dask worker: rebuild the vault from its spec, run the batch."""
    opts = BulkOptions(to=task["to_uris"] or None, add=task["add_uris"] or None, **task["options"])
    entries = [(Entry(path), doc_id) for path, doc_id in task["items"]]
    return run_here(task["rebuild"](task["spec"]), task["operation"], opts, items=entries)


class _Batches:
    """The listing in batches, less what an earlier run finished; each path begun."""

    def __init__(
        self, source: Source, options: BulkOptions, marks: Checkpoint, tally: Tally
    ) -> None:
        self.listed = 0
        self._it = self._make(source, options, marks, tally)

    def _make(
        self, source: Source, options: BulkOptions, marks: Checkpoint, tally: Tally
    ) -> Iterator[list[tuple[str, str | None]]]:
        batch: list[tuple[str, str | None]] = []
        for entry, doc_id in listing(source, options.prefix):
            self.listed += 1
            if marks.finished(entry.path):
                tally.add("resumed")
                continue
            marks.begin(entry.path)
            batch.append((entry.path, doc_id))
            if len(batch) == options.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def next(self) -> list[tuple[str, str | None]] | None:
        return next(self._it, None)


def run_on_dask(remote: Remote, source: Source, operation: str, options: BulkOptions) -> BulkReport:
    if remote.key_uris is None:
        raise ValueError(
            "a Dask job rebuilds the vault on each worker: give the Vault its keys as key URIs "
            "(passphrases and PINs from the workers' environment), not provider objects"
        )
    to_uris = as_list(options.to) if options.to is not None else []
    add_uris = as_list(options.add) if options.add is not None else []
    if any(not isinstance(u, str) for u in [*to_uris, *add_uris]):
        raise ValueError("with a Dask client, to= and add= take key URIs")
    started = time.monotonic()
    preflight(source, options, time.time())
    marks = Checkpoint(
        None if options.dry_run else options.checkpoint, job_identity(source, operation, options)
    )
    task = {
        "rebuild": remote.rebuild,
        "spec": remote.spec,
        "operation": operation,
        "to_uris": to_uris,
        "add_uris": add_uris,
        "options": {
            "select": options.select,
            "drop": options.drop,
            "allow_classical": options.allow_classical,
            "workers": options.workers,
            "dry_run": options.dry_run,
            "retries": options.retries,
            "backoff": options.backoff,
            "verify": options.verify,
            "allow_unconditional": True,  # checked once, here
            "remove_replaced_versions": options.remove_replaced_versions,
        },
    }
    tally = Tally()
    batches = _Batches(source, options, marks, tally)
    try:
        interrupted = _drive(options, task, batches, marks, tally)
    finally:
        marks.close()
    if batches.listed == 0 and not options.allow_empty:
        raise EmptyStoreError(_nothing_at(source, options.prefix))
    return tally.report(
        operation,
        dry_run=options.dry_run,
        duration_s=time.monotonic() - started,
        interrupted=interrupted,
    )


def _drive(
    options: BulkOptions, task: dict[str, Any], batches: _Batches, marks: Checkpoint, tally: Tally
) -> bool:
    """Keep a few batches per worker in flight; True if ``stop`` ended it early."""
    from distributed import as_completed  # noqa: PLC0415 - the optional extra 'dask'

    client = options.client
    queue = as_completed()
    pending: dict[Any, list[tuple[str, str | None]]] = {}

    def submit() -> None:
        batch = batches.next()
        if batch is not None:
            future = client.submit(_batch, {**task, "items": batch}, pure=False)
            pending[future] = batch
            queue.add(future)

    for _ in range(2 * max(1, len(client.scheduler_info().get("workers", {})))):
        submit()
    done, interrupted = 0, False
    for future in queue:
        batch = pending.pop(future)
        report, finished = future.result()
        tally.merge(report)
        finished_set = set(finished)
        for path, _ in batch:
            marks.end(path, finished=path in finished_set)
        done += len(batch)
        if options.progress is not None:
            options.progress(done, max(done, batches.listed))
        if options.stop is not None and options.stop.is_set():
            interrupted = True  # in-flight batches finish; no new one starts
            continue
        submit()
    return interrupted
