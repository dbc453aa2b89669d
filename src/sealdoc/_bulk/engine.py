"""A bulk job in this process: list, hand out, retry, record, report.

Per document (see ``document.py``): one ranged read of its head, a decision
from the header alone, then a conditional replace of the header (rewrap) or
a streamed re-encryption (rotate), verified before it becomes visible. A
document changed under the job is read again and redone once, then
reported as changed; a deleted one is reported as missing; neither is ever
overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from .._args import as_list
from .._audit import record
from .._envelope import providers_of
from .._provider_api import KeyProvider
from .._store.base import Entry, VersionedStore, versioning_of
from .._uri import resolve_keys
from ..exceptions import (
    DecryptionError,
    DocumentChangedError,
    DocumentNotFoundError,
    EmptyStoreError,
    FormatError,
    KeyProviderError,
    SealdocError,
    StoreError,
    UnsafeStoreError,
)
from .checkpoint import Checkpoint
from .document import Done, Plan, process
from .options import BulkOptions
from .pool import run_pool
from .report import BulkReport, Failure, Tally
from .root import check_root
from .source import Source


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, DocumentChangedError | DocumentNotFoundError):
        return False  # not a fault: the document itself moved on
    return isinstance(exc, StoreError | KeyProviderError)


def targets_of(options: BulkOptions) -> tuple[KeyProvider, ...] | None:
    return _resolved(options.to)


def _resolved(keys: Any) -> tuple[KeyProvider, ...] | None:
    return None if keys is None else providers_of(resolve_keys(as_list(keys)))


def _added_label(provider: KeyProvider) -> str:
    """An ``add=`` target in a checkpoint: a device by its public key, which its label is not."""
    recipient = getattr(provider, "recipient", None)
    if not isinstance(recipient, str):
        return _label(provider)
    return f"{_label(provider)}@{hashlib.sha256(recipient.encode()).hexdigest()[:16]}"


def job_identity(source: Source, operation: str, options: BulkOptions) -> dict[str, Any]:
    """What a checkpoint is matched on: a rerun of another job must not skip anything."""
    to = targets_of(options)
    targets = [_label(p) for p in (to if to is not None else source.keys)]
    select = options.select
    drop = options.drop
    add = _resolved(options.add)
    return {
        "operation": operation,
        "url": source.url,
        "prefix": options.prefix,
        "name_key": source.name_key,
        "targets": targets,
        "to": to is not None,
        "drop": None if drop is None else [_label(d) for d in as_list(drop)],
        **({} if add is None else {"add": [_added_label(p) for p in add]}),
        "select": None if select is None else _predicate_identity(select),
    }


def _predicate_identity(select: object) -> str:
    """A predicate's name and a digest of its code, defaults and closure.

    A name alone lets one ``lambda`` resume from another's checkpoint, and the
    documents the first one left out (finished, for it) are then skipped by the
    second. A closure value without a stable repr makes every run differ: the
    checkpoint is then refused, which is safe, never skipped.
    """
    name = getattr(select, "__qualname__", type(select).__qualname__)
    func = getattr(select, "__func__", select)
    code = getattr(func, "__code__", None)
    parts: list[object] = [name]
    if code is not None:
        parts += [code.co_code, code.co_consts, code.co_names]
    cells = getattr(func, "__closure__", None) or ()
    parts += [getattr(func, "__defaults__", None), getattr(func, "__kwdefaults__", None)]
    parts += [cell.cell_contents for cell in cells]
    if code is None:
        parts.append(select)
    digest = hashlib.sha256(repr(parts).encode("utf-8", "backslashreplace")).hexdigest()[:16]
    return f"{name}:{digest}"


def _label(item: object) -> str:
    key_ids, key = getattr(item, "key_ids", None), getattr(item, "key", None)
    if callable(key_ids) and callable(key):
        # a keyring: every key's current version, so that rotating one customer's
        # key makes another job (a checkpoint of the last one skips nothing)
        return ",".join(_ring_labels(key_ids, key))
    current = getattr(item, "current_key", None)
    if callable(current):
        try:
            return str(current().label)
        except KeyProviderError:
            # a keyring whose default key has no enabled primary (destroyed) still
            # rewraps its per-customer documents: the job must run, not crash here
            kind = getattr(item, "kind", type(item).__name__)
            key_id = str(getattr(item, "key_id", "?"))
            ring_id = getattr(item, "ring_id", None)
            if isinstance(ring_id, str):  # as its wraps spell it: name@kr-...
                key_id = f"{key_id}@{ring_id}"
            return f"{kind}:{key_id}#none"
    label = getattr(item, "label", None)
    if isinstance(label, str):
        return label
    return str(item) if isinstance(item, str) else f"{getattr(item, 'kind', type(item).__name__)}:?"


def _ring_labels(key_ids: Any, key: Any) -> list[str]:
    return [_current_or_none(key(key_id), key_id) for key_id in key_ids()]


def _current_or_none(provider: Any, key_id: str) -> str:
    try:
        return str(provider.current_key().label)
    except SealdocError:  # no enabled primary (destroyed): a state of its own
        return f"{key_id}#-"


def listing(source: Source, prefix: str) -> Iterator[tuple[Entry, str | None]]:
    """The vault's documents under a doc-id prefix, in path order, streamed.

    Objects that are not named as the vault's documents (files written
    through the ``sealdoc::`` protocol, say) come with doc id None: the job
    handles them as unbound documents if they are sealed, and skips them if
    they are not, so that what ``inventory`` counts is what a job can move.
    """
    previous = None
    for entry in source.store.list(source.list_prefix(prefix)):
        if previous is not None and entry.path <= previous:
            raise StoreError(
                "the store's listing is not in path order; the job cannot resume safely"
            )
        previous = entry.path
        doc_id = source.doc_id_of(entry.path)
        if doc_id is not None and doc_id.startswith(prefix):
            yield entry, doc_id
        elif doc_id is None and not source.opaque and entry.path.startswith(prefix):
            yield entry, None  # not a vault name: maybe a sealdoc:: file


def preflight(source: Source, options: BulkOptions, started: float) -> None:
    check_root(source, listing(source, options.prefix))  # a dry run too: it would mislead
    if options.dry_run:
        return
    if not source.store.conditional and not options.allow_unconditional:
        raise UnsafeStoreError(
            f"{source.url}: this store cannot refuse to overwrite a document changed during the "
            "job (no compare-and-swap), so a concurrent write could be lost; stop the writers and "
            "pass allow_unconditional=True to run anyway"
        )
    source.store.clean_partials(source.list_prefix(options.prefix), before=started)


def run_here(
    source: Source,
    operation: str,
    options: BulkOptions,
    *,
    items: Iterable[tuple[Entry, str | None]] | None = None,
) -> tuple[BulkReport, list[str]]:
    """The job on a thread pool here. Also returns the paths finished (for a Dask client)."""
    if operation not in ("rewrap", "rotate"):
        raise ValueError("operation is 'rewrap' or 'rotate'")
    started_wall, started = time.time(), time.monotonic()
    options, plan = _plan(source, operation, options)
    versioning = _versioning(source, options)
    plan = attrs.evolve(
        plan,
        versioned=versioning is not None,
        remove_replaced=options.remove_replaced_versions,
    )
    if items is None:
        preflight(source, options, started_wall)
    marks = Checkpoint(
        None if options.dry_run or items is not None else options.checkpoint,
        job_identity(source, operation, options),
    )
    job = _Job(source, plan, options, marks, count_ahead=items is None)
    try:
        stream = items if items is not None else listing(source, options.prefix)
        interrupted = run_pool(
            stream, job.work, workers=options.workers, stop=options.stop, admit=job.admit
        )
    finally:
        job.over.set()  # the progress pre-pass has nothing left to count for
        marks.close()
    if job.seen[0] == 0 and items is None and not options.allow_empty and not interrupted:
        raise EmptyStoreError(_nothing_at(source, options.prefix))
    report = job.tally.report(
        operation,
        dry_run=options.dry_run,
        duration_s=time.monotonic() - started,
        interrupted=interrupted,
        versioning=None if versioning is None else versioning.status,
    )
    return report, job.finished


def _versioning(source: Source, options: BulkOptions) -> Any:
    """The bucket's versioning, if it keeps replaced versions; refuse a removal it forbids."""
    versioning = versioning_of(source.store)
    if versioning is not None and versioning.object_lock and options.remove_replaced_versions:
        raise UnsafeStoreError(
            f"{source.url}: {versioning.why_no_removal}; run without "
            "remove_replaced_versions (the versions a job replaces then stay, and the "
            "report counts them)"
        )
    return versioning


def _plan(source: Source, operation: str, options: BulkOptions) -> tuple[BulkOptions, Plan]:
    """The options with the target keys resolved (once per job), and what to do per document."""
    to, add = targets_of(options), _resolved(options.add)
    if to is not None or add is not None:
        options = attrs.evolve(options, to=to, add=add)
    plan = Plan(
        operation=operation,
        keys=source.keys,
        to=to,
        drop=options.drop,
        select=options.select,
        dry_run=options.dry_run,
        verify=options.verify,
        add=add,
        allow_classical=options.allow_classical,
    )
    return options, plan


class _Job:
    """What the pool's threads share in one run: the tally, the checkpoint, the progress."""

    def __init__(
        self,
        source: Source,
        plan: Plan,
        options: BulkOptions,
        marks: Checkpoint,
        *,
        count_ahead: bool,
    ) -> None:
        self.source, self.plan, self.options, self.marks = source, plan, options, marks
        self.tally = Tally()
        self.finished: list[str] = []
        self.seen = [0, 0, 0]  # listed by the job, done, counted by the pre-pass
        self.over = threading.Event()
        self._lock = threading.Lock()
        if options.progress is not None and count_ahead:
            _count_ahead(source, options, self.seen, self.over)

    def _progressed(self) -> None:
        with self._lock:
            self.seen[1] += 1
            if self.options.progress is not None:
                self.options.progress(self.seen[1], max(self.seen))

    def admit(self, item: tuple[Entry, str | None]) -> bool:
        self.seen[0] += 1
        if self.marks.finished(item[0].path):
            self.tally.add("resumed")
            self._progressed()
            return False
        self.marks.begin(item[0].path)
        return True

    def work(self, item: tuple[Entry, str | None]) -> None:
        entry, doc_id = item
        options = self.options
        ok = _one(self.source, self.plan, options, path=entry.path, doc_id=doc_id, tally=self.tally)
        self.marks.end(entry.path, finished=ok)
        if ok and not options.dry_run:
            with self._lock:
                self.finished.append(entry.path)
        self._progressed()


def _count_ahead(
    source: Source, options: BulkOptions, seen: list[int], over: threading.Event
) -> None:
    """The progress total, by a streaming pre-pass: a second listing that only counts.

    It runs beside the job (one more listing: a request per 1,000 names on
    S3) and usually ends long before it; until then the total shown is the
    larger of what it and the job have listed.
    """

    def count() -> None:
        with contextlib.suppress(Exception):  # the job's own listing reports store errors
            for _ in listing(source, options.prefix):
                seen[2] += 1
                if over.is_set() or (options.stop is not None and options.stop.is_set()):
                    return

    threading.Thread(target=count, name="sealdoc-bulk-count", daemon=True).start()


def _nothing_at(source: Source, prefix: str) -> str:
    where = f"{source.url!r}" + (f" with prefix {prefix!r}" if prefix else "")
    return (
        f"no documents under {where}: check the URL, the prefix and the store's credentials "
        "(allow_empty=True accepts an empty store)"
    )


def _one(  # noqa: PLR0911 - one return per outcome the report counts
    source: Source,
    plan: Plan,
    options: BulkOptions,
    *,
    path: str,
    doc_id: str | None,
    tally: Tally,
) -> bool:
    """One document, retried and sorted into the report; True when it is finished."""
    stop = options.stop
    if stop is not None and stop.is_set():
        tally.add("abandoned")
        return False
    try:
        done = _with_retries(lambda: _changed_once(source, plan, path, doc_id), options)
    except DocumentChangedError as exc:
        tally.problem("changed", Failure(doc_id, _why(exc), path))
        return False
    except DocumentNotFoundError as exc:
        tally.problem("missing", Failure(doc_id, _why(exc), path))
        return False
    except FormatError as exc:
        if doc_id is None:  # an object beside the vault's documents, not sealed: not ours
            tally.add("skipped")
            return True
        tally.problem("failed", Failure(doc_id, _why(exc), path))
        return False
    except Exception as exc:
        if stop is not None and stop.is_set() and _transient(exc):
            tally.add("abandoned")
            return False
        tally.problem("failed", Failure(doc_id, _why(exc), path))
        return False
    tally.add(done.outcome, done.before, done.after, done.added)
    if plan.versioned and done.replaced is not None:
        _replaced_version(source, plan, path, done.replaced, tally)
    return True


def _replaced_version(source: Source, plan: Plan, path: str, version: str, tally: Tally) -> None:
    """A versioned bucket kept the old ciphertext: count it, or remove it when asked."""
    store = source.store
    if not plan.remove_replaced or not isinstance(store, VersionedStore):
        tally.bump("replaced_versions_kept")
        return
    try:
        removed = store.remove_replaced(path, version)
    except SealdocError as exc:  # the document is done; its old version is only left behind
        record("store.remove_version", "failed", detail=f"{source.url} {path}: {exc}")
        tally.bump("replaced_versions_kept")
        return
    record("store.remove_version", "ok", detail=f"{source.url} {path} {version} x{removed}")
    tally.bump("replaced_versions_removed", removed)


def _why(exc: BaseException) -> str:
    if isinstance(exc, DecryptionError | KeyProviderError):
        # the operator's report: an opening error's details, which its str() leaves out
        details = "; ".join(line.strip() for line in exc.details().splitlines())
        return f"{type(exc).__name__}: {details}"
    if isinstance(exc, SealdocError | ValueError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc} (unexpected; please report it)"


def _changed_once(source: Source, plan: Plan, path: str, doc_id: str | None) -> Done:
    """A document changed under the job is read again and redone, once."""
    binding = source.binding_for(doc_id) if doc_id is not None else {}
    try:
        return process(source.store, plan, path, doc_id, binding)
    except DocumentChangedError:
        return process(source.store, plan, path, doc_id, binding)


def _with_retries(work: Any, options: BulkOptions) -> Done:
    """Transient faults retried with jittered exponential backoff, cut short by ``stop``.

    The first attempt runs bare: tenacity's bookkeeping costs about 0.4 ms a
    call here, a tenth of a document's CPU budget, and most documents never
    need a second attempt.
    """
    try:
        return work()  # type: ignore[no-any-return]
    except Exception as exc:
        if not _transient(exc) or options.retries == 0:
            raise
        exc_first = exc
    # imported here, on the first retry: tenacity pulls in asyncio (and tornado
    # where installed), which every CLI start would otherwise pay
    import tenacity  # noqa: PLC0415

    stop = options.stop
    halt: Any = tenacity.stop_after_attempt(options.retries)
    if stop is not None:
        halt = halt | tenacity.stop_when_event_set(stop)

    def sleep(seconds: float) -> None:
        if stop is not None:
            stop.wait(seconds)  # a signal ends the wait, not only the job
        else:
            time.sleep(seconds)

    sleep(options.backoff)  # before the second attempt, as tenacity waits before the others
    if stop is not None and stop.is_set():
        raise exc_first
    retrying = tenacity.Retrying(
        stop=halt,
        wait=tenacity.wait_exponential_jitter(
            multiplier=options.backoff, max=30, jitter=options.backoff
        ),
        retry=tenacity.retry_if_exception(_transient),
        sleep=sleep,
        reraise=True,
    )
    return retrying(work)  # type: ignore[no-any-return]
