"""What a bulk job tells its operator: BulkReport, and each document it could not do."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs


@attrs.frozen
class Failure:
    """A document the job left as it was, and why (no secret in it).

    ``doc_id`` is None for an object whose name is not one of the vault's;
    ``path`` is the object's name in the store (opaque with a name key).
    """

    doc_id: str | None
    error: str
    path: str = ""


@attrs.frozen
class BulkReport:
    """What a bulk job did. ``to_json()`` gives it for an operator or an auditor.

    ``rewritten`` counts documents whose new version was written and
    verified; a dry run counts them in ``would_rewrite`` instead.
    ``failed``, ``changed`` (changed under the job, twice) and ``missing``
    (deleted during the job) were left as they were. ``shredded`` counts
    documents whose every wrap is under a key version destroyed on purpose
    (crypto-shredding): no job can move them, so they are not failures;
    ``shredded_on`` counts them per destroyed ``kind:key_id#version``.
    ``versioning`` is the bucket's versioning status (``Enabled``,
    ``Suspended``) when it keeps the versions a job replaces, else None:
    then ``replaced_versions_kept`` old versions (the old ciphertext) are
    still in the bucket, and ``replaced_versions_removed`` were removed
    (``remove_replaced_versions``). ``added`` counts the wraps an ``add=``
    job wrote, per ``kind:key_id#version``. ``abandoned`` were in
    flight when ``stop`` was set; ``interrupted`` says the job stopped
    before it had looked at every document. The counts add up to
    ``scanned``.
    """

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
    would_rewrite: int = 0
    changed: tuple[Failure, ...] = ()
    missing: tuple[Failure, ...] = ()
    abandoned: int = 0
    interrupted: bool = False
    shredded: int = 0
    shredded_on: dict[str, int] = attrs.field(factory=dict, hash=False)
    versioning: str | None = None
    replaced_versions_kept: int = 0
    replaced_versions_removed: int = 0
    added: dict[str, int] = attrs.field(factory=dict, hash=False)

    @property
    def docs_per_second(self) -> float:
        return self.scanned / self.duration_s if self.duration_s > 0 else 0.0

    def to_json(self) -> str:
        data = attrs.asdict(self)
        data["docs_per_second"] = round(self.docs_per_second, 1)
        return json.dumps(data, indent=2, sort_keys=True)


class Tally:
    """The counts of a running job, shared by its workers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.before: Counter[str] = Counter()
        self.after: Counter[str] = Counter()
        self.shredded_on: Counter[str] = Counter()
        self.added: Counter[str] = Counter()
        self.versioning: str | None = None  # as a batch run elsewhere found it
        self.problems: dict[str, list[Failure]] = {"failed": [], "changed": [], "missing": []}

    def add(
        self,
        outcome: str,
        before: Iterable[str] = (),
        after: Iterable[str] = (),
        added: Iterable[str] = (),
    ) -> None:
        with self.lock:
            self.counts[outcome] += 1
            self.before.update(before)
            self.after.update(after)
            self.added.update(added)
            if outcome == "shredded":
                self.shredded_on.update(before)

    def bump(self, name: str, n: int = 1) -> None:
        """A count that is not a document outcome (old versions kept or removed)."""
        with self.lock:
            self.counts[name] += n

    def problem(self, kind: str, failure: Failure) -> None:
        with self.lock:
            self.problems[kind].append(failure)

    def merge(self, other: BulkReport) -> None:
        """Fold in the report of a batch run elsewhere (a Dask worker)."""
        with self.lock:
            self.counts["rewritten"] += other.rewritten
            self.counts["would_rewrite"] += other.would_rewrite
            self.counts["skipped"] += other.skipped
            self.counts["resumed"] += other.resumed
            self.counts["abandoned"] += other.abandoned
            self.counts["shredded"] += other.shredded
            self.counts["replaced_versions_kept"] += other.replaced_versions_kept
            self.counts["replaced_versions_removed"] += other.replaced_versions_removed
            self.shredded_on.update(other.shredded_on)
            self.added.update(other.added)
            self.versioning = other.versioning or self.versioning
            self.before.update(other.before)
            self.after.update(other.after)
            for kind in self.problems:
                self.problems[kind].extend(getattr(other, kind))

    def report(
        self, operation: str, *, dry_run: bool, duration_s: float, **extra: Any
    ) -> BulkReport:
        def ordered(kind: str) -> tuple[Failure, ...]:
            return tuple(sorted(self.problems[kind], key=lambda f: (f.path, f.doc_id or "")))

        extra.setdefault("versioning", self.versioning)
        c = self.counts
        failed, changed, missing = ordered("failed"), ordered("changed"), ordered("missing")
        scanned = (
            (c["rewritten"] + c["would_rewrite"] + c["skipped"] + c["resumed"] + c["abandoned"])
            + c["shredded"]
            + len(failed)
            + len(changed)
            + len(missing)
        )
        return BulkReport(
            operation=operation,
            dry_run=dry_run,
            scanned=scanned,
            rewritten=c["rewritten"],
            would_rewrite=c["would_rewrite"],
            skipped=c["skipped"],
            resumed=c["resumed"],
            failed=failed,
            changed=changed,
            missing=missing,
            abandoned=c["abandoned"],
            shredded=c["shredded"],
            replaced_versions_kept=c["replaced_versions_kept"],
            replaced_versions_removed=c["replaced_versions_removed"],
            shredded_on=dict(sorted(self.shredded_on.items())),
            added=dict(sorted(self.added.items())),
            before=dict(sorted(self.before.items())),
            after=dict(sorted(self.after.items())),
            duration_s=duration_s,
            **extra,
        )
