"""Erasure, legal hold and retention: the part of a KeyStore that destroys keys.

Every destroy checks, under the subject's row lock, that no legal hold and
no retention date keeps the subject; erase_due runs the scheduled ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._audit import record
from ..exceptions import KeyStoreError, RetentionError
from ..providers._keyring_model import DESTROYED, ENABLED, PENDING_DESTROY
from ._cache import SubjectCache
from ._db import Database
from ._model import KIND, EraseReport, audited, check_when, iso, utcnow
from ._sql import (
    CHECK_BATCH,
    ERASE_BATCH,
    LOCK_BATCH,
    PURGE_ONE,
    SHRED,
    SHRED_BATCH,
    SHRED_ONE,
    batches,
    bump,
    check_version,
    locked,
    state_of,
)

if TYPE_CHECKING:
    from ._subject import SubjectKey


class Erasure:
    """The destroying verbs of :class:`~sealdoc.KeyStore` (mixed into it)."""

    if TYPE_CHECKING:
        _db: Database
        _cache: SubjectCache
        _batch: int
        store_id: str

        def key(self, subject: str) -> SubjectKey: ...

        def _seen(self, generation: int) -> None: ...

    def _counted(self, cur: Any) -> None:
        """Count a destroy in its transaction; this object sees the count once it committed.

        Seen before the commit, a commit that then failed would leave this
        object ahead of the database: every later read a false "went back".
        """
        generation = bump(cur)
        cur.on_commit(lambda: self._seen(generation))

    def _check_erasable(
        self, subject: str, hold: str | None, until: str | None, now: datetime
    ) -> None:
        if hold:
            raise RetentionError(
                f"subject {subject!r} is under legal hold ({hold}); release it first"
            )
        if until and datetime.fromisoformat(until) > now:
            raise RetentionError(f"subject {subject!r} is retained until {until}")

    def destroy(
        self,
        subject: str,
        version: int | None = None,
        *,
        confirm: bool = False,
        after: timedelta | None = None,
        now: datetime | None = None,
    ) -> None:
        """Erase key material for good: one version, or (no version) the whole subject.

        Every document wrapped only under what is destroyed becomes
        unreadable (crypto-shredding); the versions stay as tombstones. A
        subject under legal hold or before its retention date is refused
        (RetentionError). Erasing a subject, or destroying its primary or
        last enabled version, needs ``confirm=True``. With ``after`` (a
        version, not the primary), the version stops opening now (state
        ``pending-destroy``) and :meth:`erase_due` destroys it once ``after``
        has passed; :meth:`enable` cancels until then. A subject's erasure
        waits through :meth:`retain` instead.
        """
        subject = self.key(subject).subject
        when = utcnow() if now is None else check_when(now, "now")
        stamp = iso(when)
        if after is not None:
            self._schedule(subject, version, after, when)
            return
        with self._db.transaction(f"destroy subject {subject!r}") as cur:
            primary, erased, hold, until = locked(cur, subject)
            self._check_erasable(subject, hold, until, when)
            if version is None:
                if not confirm:
                    raise KeyStoreError(
                        f"erasing subject {subject!r} makes every document under it "
                        "unreadable: pass confirm=True"
                    )
                if erased:
                    raise KeyStoreError(f"subject {subject!r} was already erased at {erased}")
                cur.run(SHRED, (DESTROYED, stamp, subject, DESTROYED))
                cur.run(
                    "UPDATE sealdoc_keystore_subjects SET primary_version = NULL, erased = ?"
                    " WHERE subject = ?",
                    (stamp, subject),
                )
                self._counted(cur)
            else:
                check_version(version)
                if state_of(cur, subject, version) == DESTROYED:
                    raise KeyStoreError(
                        f"subject {subject!r} version {version} was already destroyed"
                    )
                enabled = cur.all(
                    "SELECT version FROM sealdoc_keystore_versions"
                    " WHERE subject = ? AND state = ? AND version <> ?",
                    (subject, ENABLED, version),
                )
                if (version == primary or not enabled) and not confirm:
                    raise KeyStoreError(
                        f"version {version} is the primary or the last enabled version of "
                        f"subject {subject!r}; documents under it will be lost: pass confirm=True"
                    )
                cur.run(SHRED_ONE, (DESTROYED, stamp, subject, DESTROYED, version))
                self._counted(cur)
                if version == primary:
                    cur.run(
                        "UPDATE sealdoc_keystore_subjects SET primary_version = NULL"
                        " WHERE subject = ?",
                        (subject,),
                    )
        self._cache.drop(subject)
        audited(
            "keystore.destroy",
            subject,
            self.store_id,
            version=version,
            detail="every version" if version is None else "",
        )

    def _schedule(
        self, subject: str, version: int | None, after: timedelta, when: datetime
    ) -> None:
        if version is None:
            raise KeyStoreError(
                "a subject's erasure is scheduled with retain(subject, until) and erase_due()"
            )
        check_version(version)
        if not isinstance(after, timedelta) or after <= timedelta(0):
            raise KeyStoreError("after is a positive datetime.timedelta")
        due = iso(when + after)
        with self._db.transaction(f"schedule a destroy of subject {subject!r}") as cur:
            primary, _, hold, until = locked(cur, subject)
            self._check_erasable(subject, hold, until, when + after)
            if version == primary:
                raise KeyStoreError(
                    f"version {version} is the primary of subject {subject!r}: rotate first"
                )
            state = state_of(cur, subject, version)
            if state in (DESTROYED, PENDING_DESTROY):
                raise KeyStoreError(f"subject {subject!r} version {version} is already {state}")
            cur.run(
                "UPDATE sealdoc_keystore_versions SET state = ?, changed = ?, destroy_at = ?"
                " WHERE subject = ? AND version = ?",
                (PENDING_DESTROY, iso(when), due, subject, version),
            )
        self._cache.drop(subject)
        audited(
            "keystore.destroy.schedule",
            subject,
            self.store_id,
            version=version,
            detail=f"due {due}",
        )

    def _purge_versions(self, when: datetime) -> tuple[list[tuple[str, int]], list[str]]:
        """Destroy the scheduled versions now due; a held subject's wait (returned apart)."""
        with self._db.read("find versions due") as cur:
            due = cur.all(
                "SELECT subject, version FROM sealdoc_keystore_versions"
                " WHERE state = ? AND destroy_at <= ? ORDER BY subject, version",
                (PENDING_DESTROY, iso(when)),
            )
        done: list[tuple[str, int]] = []
        held: list[str] = []
        for subject, version in due:
            with self._db.transaction(f"destroy subject {subject!r}") as cur:
                _, _, hold, until = locked(cur, subject)
                if hold or (until and datetime.fromisoformat(until) > when):
                    held.append(subject)
                    continue
                stamp = iso(when)
                params = (DESTROYED, stamp, subject, DESTROYED, version, PENDING_DESTROY, stamp)
                if not cur.run(PURGE_ONE, params):
                    continue  # enabled (cancelled) or destroyed since the list was read
                done.append((subject, int(version)))
                self._counted(cur)
            self._cache.drop(subject)
            audited("keystore.purge", subject, self.store_id, version=version)
        return done, held

    def destroy_many(
        self, subjects: Iterable[str], *, confirm: bool = False, now: datetime | None = None
    ) -> int:
        """Erase many subjects, one transaction a batch; return how many were erased.

        Needs ``confirm=True``. Every subject is checked before anything is
        written: one under hold or retention, or unknown, refuses the call.
        Subjects already erased are skipped.
        """
        if not confirm:
            raise KeyStoreError(
                "erasing subjects makes their documents unreadable: pass confirm=True"
            )
        names = [self.key(s).subject for s in subjects]
        when = utcnow() if now is None else check_when(now, "now")
        for batch in batches(names, self._batch):  # every subject, before anything is written
            with self._db.read("check subjects") as cur:
                rows = cur.all(CHECK_BATCH, (self._db.dialect.array(batch),))
            self._erasable_batch(batch, rows, when, skip_held=False)
        erased = 0
        for batch in batches(names, self._batch):
            erased += len(self._erase_batch(batch, when))
        return erased

    def _erasable_batch(
        self,
        batch: Sequence[str],
        rows: list[tuple[object, ...]],
        when: datetime,
        *,
        skip_held: bool,
    ) -> list[str]:
        """The subjects of ``batch`` to erase now; refuses (RetentionError) one that is kept."""
        found = {str(row[0]): row for row in rows}
        todo: list[str] = []
        seen: set[str] = set()
        for subject in batch:
            row = found.get(subject)
            if row is None:
                raise KeyStoreError(f"this key store has no subject {subject!r}")
            _, erased, hold, until = row
            if erased or (skip_held and hold) or subject in seen:
                continue
            self._check_erasable(subject, hold, until, when)  # type: ignore[arg-type]
            todo.append(subject)
            seen.add(subject)
        return todo

    def _erase_batch(
        self, batch: Sequence[str], when: datetime, *, skip_held: bool = False
    ) -> list[str]:
        stamp = iso(when)
        with self._db.transaction("erase subjects") as cur:
            # re-checked under the row locks: a hold placed since the check above wins
            rows = cur.all(LOCK_BATCH, (self._db.dialect.array(batch),))
            done = self._erasable_batch(batch, rows, when, skip_held=skip_held)
            if done:
                todo = self._db.dialect.array(done)
                cur.run(SHRED_BATCH, (DESTROYED, stamp, todo, DESTROYED))
                cur.run(ERASE_BATCH, (stamp, todo))
                self._counted(cur)
        for subject in done:
            self._cache.drop(subject)
            audited("keystore.destroy", subject, self.store_id, detail="every version")
        return done

    # -- retention and legal hold -------------------------------------------------

    def _set_subject(self, subject: str, column_sql: str, value: str | None, what: str) -> None:
        with self._db.transaction(f"{what} subject {subject!r}") as cur:
            locked(cur, subject)
            cur.run(column_sql, (value, subject))

    def hold(self, subject: str, reason: str) -> None:
        """Put a legal hold on ``subject``: no destroy of any of its versions until released."""
        subject = self.key(subject).subject
        if not isinstance(reason, str) or not reason.strip():
            raise KeyStoreError("a legal hold needs a reason (a case or ticket reference)")
        if len(reason) > 1000:
            raise KeyStoreError("a hold reason is at most 1000 characters")
        self._set_subject(
            subject,
            "UPDATE sealdoc_keystore_subjects SET hold_reason = ? WHERE subject = ?",
            reason,
            "hold",
        )
        audited("keystore.hold", subject, self.store_id, detail=reason)

    def release(self, subject: str) -> None:
        """Lift the legal hold on ``subject``."""
        subject = self.key(subject).subject
        self._set_subject(
            subject,
            "UPDATE sealdoc_keystore_subjects SET hold_reason = ? WHERE subject = ?",
            None,
            "release",
        )
        audited("keystore.release", subject, self.store_id)

    def retain(self, subject: str, until: datetime | None) -> None:
        """Keep ``subject``'s key until ``until`` (aware datetime); then erase_due erases it.

        ``until=None`` removes the date (the subject is then never erased by erase_due).
        """
        subject = self.key(subject).subject
        stamp = None if until is None else iso(check_when(until, "until"))
        self._set_subject(
            subject,
            "UPDATE sealdoc_keystore_subjects SET retain_until = ? WHERE subject = ?",
            stamp,
            "retain",
        )
        audited("keystore.retain", subject, self.store_id, detail=stamp or "none")

    def erase_due(self, *, now: datetime | None = None) -> EraseReport:
        """Erase every subject whose retention date passed and that no legal hold keeps.

        Also destroys the versions whose scheduled destroy (``after``) is due.
        """
        when = utcnow() if now is None else check_when(now, "now")
        erased: list[str] = []
        held: list[tuple[str, str]] = []
        after = ""
        while True:
            with self._db.read("find subjects due") as cur:
                rows = cur.all(
                    "SELECT subject, hold_reason FROM sealdoc_keystore_subjects"
                    " WHERE retain_until <= ? AND erased IS NULL AND subject > ?"
                    " ORDER BY subject LIMIT ?",
                    (iso(when), after, self._batch),
                )
            if not rows:
                break
            after = rows[-1][0]
            held.extend((s, h) for s, h in rows if h)
            erased.extend(self._erase_batch([s for s, h in rows if not h], when, skip_held=True))
        versions, waiting = self._purge_versions(when)
        held.extend((s, "a hold or retention date") for s in waiting if s not in dict(held))
        report = EraseReport(
            erased=tuple(erased), held=tuple(held), at=iso(when), versions=tuple(versions)
        )
        record(
            "keystore.erase-due", "ok", kind=KIND, detail=f"{len(erased)} erased, {len(held)} held"
        )
        return report
