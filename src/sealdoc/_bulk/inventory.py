"""Inventory: which key versions protect which documents, from headers alone.

Every object under the URL is read once (one ranged read of its head, two
for a header longer than the first read) on the bulk engine's worker pool.
An object is counted when its prelude says it is a sealed document,
whatever its name (files written through the ``sealdoc::`` protocol too);
the others are listed under ``unreadable`` with the reason, and never stop
the count.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Collection, Iterator, Mapping

import attrs

from .._format import ParsedHeader, WrappedKey
from .._store.base import Head, versioning_of
from ..exceptions import DocumentNotFoundError, EmptyStoreError, SealdocError, StoreError
from .document import is_shredded, public_header, read_parsed
from .options import Progress
from .pool import run_pool
from .source import Source

# Kinds whose wraps a custodian cannot open: a customer's password, a device key.
NON_CUSTODIAL = frozenset({"password", "x25519", "mlkem768x25519"})
INVENTORY_READ = 8 * 1024


@attrs.frozen(eq=False)
class Inventory(Mapping[str, int]):
    """What protects the documents under a URL.

    ``counts``: documents with a wrap under each ``kind:key_id#version``.
    ``documents``: sealed documents counted. ``only_on``: per label, the
    documents that depend only on it: once every wrap under that label is
    removed, they have no wrap left of a custodial kind (any kind but
    ``password`` and ``x25519``, which only a customer or a device opens),
    so destroying it loses them. ``unreadable``: ``(name, reason)`` of every
    object that is not a sealed document or cannot be read. ``shredded``:
    documents whose every wrap is under a key version that the vault's
    keys destroyed on purpose (0 when the vault has no keys, or none that
    keeps tombstones: see ``KnowsDestroyed``); they are counted in
    ``documents`` and ``counts`` too. ``versioning``: the bucket's versioning
    status (``Enabled``, ``Suspended``) when it keeps old versions of what
    is replaced or deleted (their old ciphertext), else None.

    It is also a read-only mapping over ``counts``, as the plain dict it
    used to be.
    """

    counts: dict[str, int]
    documents: int
    only_on: dict[str, int]
    unreadable: tuple[tuple[str, str], ...] = ()
    shredded: int = 0
    versioning: str | None = None

    @property
    def by_kind(self) -> dict[str, dict[str, dict[int, int]]]:
        """The counts nested as kind -> key id -> version -> documents."""
        nested: dict[str, dict[str, dict[int, int]]] = {}
        for label, count in self.counts.items():
            kind, _, rest = label.partition(":")
            key_id, _, version = rest.rpartition("#")
            nested.setdefault(kind, {}).setdefault(key_id, {})[int(version)] = count
        return nested

    def to_json(self) -> str:
        return json.dumps(
            {
                "counts": self.counts,
                "by_kind": self.by_kind,
                "documents": self.documents,
                "only_on": self.only_on,
                "shredded": self.shredded,
                "versioning": self.versioning,
                "unreadable": [{"name": n, "reason": r} for n, r in self.unreadable],
            },
            indent=2,
            sort_keys=True,
        )

    def __getitem__(self, label: str) -> int:
        return self.counts[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Inventory):
            mine = (self.counts, self.documents, self.only_on, self.unreadable, self.shredded)
            return mine == (
                other.counts,
                other.documents,
                other.only_on,
                other.unreadable,
                other.shredded,
            )
        if isinstance(other, Mapping):
            return self.counts == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Inventory({self.counts!r}, documents={self.documents}, "
            f"only_on={self.only_on!r}, unreadable={len(self.unreadable)}, "
            f"shredded={self.shredded}, versioning={self.versioning!r})"
        )


def depends_only_on(
    wrapped: tuple[WrappedKey, ...], gone: Collection[str] = frozenset()
) -> set[str]:
    """The labels this document would be lost without (see Inventory.only_on).

    ``gone``: labels already of no use (a version disabled or destroyed): a
    wrap under one of them does not keep the document readable.
    """
    labels = {w.label for w in wrapped}
    return {
        label
        for label in labels
        if not any(
            w.label != label and w.label not in gone and w.kind not in NON_CUSTODIAL
            for w in wrapped
        )
    }


# The keywords mirror Vault.inventory, the public signature that forwards
# here (duplicates pairs the two): spelled out in both so mypy checks each call.
def run_inventory(
    source: Source,
    prefix: str = "",
    *,
    workers: int = 16,
    allow_empty: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    gone: Collection[str] = frozenset(),
) -> Inventory:
    gone = frozenset(gone)
    lock = threading.Lock()
    counts: Counter[str] = Counter()
    only_on: Counter[str] = Counter()
    unreadable: list[tuple[str, str]] = []
    seen = [0, 0, 0, 0]  # listed, done, documents, shredded
    keys = source.keys or ()

    def names() -> Iterator[str]:
        for entry in source.store.list(source.list_prefix(prefix)):
            if source.opaque and prefix:
                doc_id = source.doc_id_of(entry.path)
                if doc_id is None or not doc_id.startswith(prefix):
                    continue
            seen[0] += 1
            yield entry.path

    def one(path: str) -> None:
        try:
            head, parsed = _read(source, path)
            public_header(head, parsed)  # a truncated body opens for nobody
        except SealdocError as exc:
            with lock:
                unreadable.append((path, f"{type(exc).__name__}: {exc}"))
                seen[1] += 1
                _tell(progress, seen)
            return
        labels = {w.label for w in parsed.wrapped_keys}
        only = depends_only_on(parsed.wrapped_keys, gone)
        shredded = is_shredded(keys, parsed.wrapped_keys)
        with lock:
            counts.update(labels)
            only_on.update(only)
            seen[1] += 1
            seen[2] += 1
            seen[3] += shredded
            _tell(progress, seen)

    kept = versioning_of(source.store)
    run_pool(names(), one, workers=workers, stop=stop)
    if seen[0] == 0 and not allow_empty:
        where = f"{source.url!r}" + (f" with prefix {prefix!r}" if prefix else "")
        raise EmptyStoreError(
            f"nothing under {where}: check the URL, the prefix and the store's credentials "
            "(allow_empty=True accepts an empty store)"
        )
    return Inventory(
        counts=dict(sorted(counts.items())),
        documents=seen[2],
        only_on=dict(sorted(only_on.items())),
        unreadable=tuple(sorted(unreadable)),
        shredded=seen[3],
        versioning=None if kept is None else kept.status,
    )


def _read(source: Source, path: str) -> tuple[Head, ParsedHeader]:
    """A store fault is retried: an object skipped for one would make only_on lie."""
    # tenacity is imported by the first inventory, not by every `import sealdoc`
    import tenacity  # noqa: PLC0415

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(4),
        wait=tenacity.wait_exponential_jitter(multiplier=0.2, max=5, jitter=0.2),
        retry=tenacity.retry_if_exception(_store_fault),
        reraise=True,
    )
    return retrying(read_parsed, source.store, path, INVENTORY_READ)


def _store_fault(exc: BaseException) -> bool:
    return isinstance(exc, StoreError) and not isinstance(exc, DocumentNotFoundError)


def _tell(progress: Progress | None, seen: list[int]) -> None:
    if progress is not None:
        progress(seen[1], max(seen[0], seen[1]))


__all__ = ["Inventory", "run_inventory"]
