"""KeyStore: one small key per subject in a database, each wrapped by a master provider."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._audit import record
from .._format import DEK_LEN, MAX_VERSION, WrappedKey
from .._provider_api import AssociatedData, is_provider, powers
from ..exceptions import KeyProviderError, KeyStoreError, NotMineError
from ..providers._keyring_model import DESTROYED, DISABLED, ENABLED, PENDING_DESTROY
from ._cache import Entry, SubjectCache, VersionRow
from ._db import SCHEMA, Database, dialect_for
from ._erasure import Erasure
from ._model import (
    KIND,
    STORE_ID,
    SubjectInfo,
    VersionInfo,
    audited,
    check_subject,
    iso,
    label,
    master_ad,
    subject_of,
    utcnow,
)
from ._sql import (
    NEW_SUBJECT,
    NEW_VERSION,
    NO_CONFLICT,
    READ_SUBJECT,
    VERSIONS,
    batches,
    check_version,
    locked,
    state_of,
)
from ._subject import SubjectKey, no_primary, open_wrap

#: The default (and largest sensible) time another process may keep using a
#: version after it was disabled or destroyed (docs/customer-keys.md).
DEFAULT_CACHE_TTL = 60.0
DEFAULT_CACHE_SIZE = 100_000
DEFAULT_BATCH = 1_000
_RETRIES = 5


def _check_master(master: object) -> Any:
    if not is_provider(master):
        raise TypeError(
            f"master must be a sealdoc key provider (a keyring, KMS or PKCS#11 key), "
            f"not {type(master).__name__}"
        )
    return master


def _check_ttl(cache_ttl: float | None) -> float:
    if cache_ttl is None:
        return DEFAULT_CACHE_TTL
    if isinstance(cache_ttl, bool) or not isinstance(cache_ttl, int | float):
        raise TypeError("cache_ttl is a number of seconds")
    if not 0 <= cache_ttl <= DEFAULT_CACHE_TTL:
        raise ValueError(f"cache_ttl is from 0 to {DEFAULT_CACHE_TTL:g} seconds")
    return float(cache_ttl)


class KeyStore(Erasure):
    """Per-subject keys (a customer, a tenant, a case) in a database.

    ``url`` is ``sqlite:///path/keys.db`` (made 0600 if missing) or
    ``postgresql://user@host/db``. ``master`` is any sealdoc provider (a
    keyring key, AWS KMS, PKCS#11): it wraps every subject key, bound to this
    store's id, the subject and the version, and the database holds only
    those wraps. ``cache_ttl`` (seconds, default and at most 60) bounds how
    long this process keeps using what it read about a subject: a version
    another process disabled or destroyed stops sealing and opening here
    within that time; a change made through this object applies here at
    once. docs/customer-keys.md states what is guaranteed.

    >>> import sealdoc, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "keys.db")
    >>> store = sealdoc.KeyStore(f"sqlite:///{path}", master=sealdoc.MemoryKeyring())
    >>> sealed = sealdoc.seal(b"statement", keys=store.key("C-1007"))
    >>> sealdoc.open(sealed, keys=store)
    b'statement'
    """

    kind = KIND

    def __init__(
        self,
        url: str,
        *,
        master: Any,
        cache_ttl: float | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self._master = _check_master(master)
        self._db = Database(dialect_for(url))
        self.url = url
        self._cache = SubjectCache(_check_ttl(cache_ttl), cache_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError("batch_size is an int >= 1")
        self._batch = batch_size
        self._generation_lock = threading.Lock()
        self._generation = 0
        self.store_id = self._open_schema()

    def __repr__(self) -> str:
        return f"KeyStore({self._db.dialect.name}, store_id={self.store_id!r})"

    def __reduce__(self) -> NoReturn:
        # A database connection and a cache of unwrapped keys never travel.
        raise TypeError(
            "a KeyStore is never pickled (its cache holds unwrapped keys): give worker "
            "processes a key URI (keystore+sqlite:///...#subject, keystore+postgresql://...)"
        )

    @property
    def cache_ttl(self) -> float:
        """Seconds this process may keep using what it read about a subject."""
        return self._cache.ttl

    def close(self) -> None:
        """Close the database connection and forget every cached key."""
        self._cache.clear()
        self._db.close()

    def _open_schema(self) -> str:
        new_id = "ks-" + os.urandom(6).hex()
        for attempt in range(_RETRIES):
            try:
                with self._db.transaction("create the key store tables") as cur:
                    for statement in SCHEMA:
                        cur.run(statement)
                    cur.run(
                        "INSERT INTO sealdoc_keystore_meta (name, value) VALUES (?, ?)"
                        " ON CONFLICT (name) DO NOTHING",
                        ("store_id", new_id),
                    )
                    row = cur.one(
                        "SELECT value FROM sealdoc_keystore_meta WHERE name = ?", ("store_id",)
                    )
                break
            except self._db.dialect.retryable:
                # Two processes made the tables at once (PostgreSQL's catalog race).
                if attempt == _RETRIES - 1:
                    raise KeyProviderError("cannot create the key store tables") from None
        assert row is not None
        store_id = str(row[0])
        if not STORE_ID.match(store_id):
            raise KeyProviderError("the key store database holds no valid store id")
        return store_id

    # -- providers -----------------------------------------------------------------

    def key(self, subject: str) -> SubjectKey:
        """The provider for ``subject`` (made on its first wrap).

        A subject is taken as given, never as a key id (``subject@ks-...``,
        refused): a subject id that a customer chose cannot name another's key.
        """
        return SubjectKey(self, check_subject(subject))

    def handles(self, wrapped: WrappedKey) -> bool:
        return wrapped.kind == KIND and subject_of(wrapped.key_id, self.store_id) is not None

    def provider_for(self, wrapped: WrappedKey) -> SubjectKey | None:
        """The provider of the wrap's subject, if it is one of this store's (KeyFamily)."""
        subject = subject_of(wrapped.key_id, self.store_id) if wrapped.kind == KIND else None
        return None if subject is None else SubjectKey(self, subject)

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        raise KeyProviderError(
            "a KeyStore seals under one subject: use store.key(subject), "
            "or Vault.put(..., key=subject)"
        )

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        """Open a wrap of any subject of this store (NotMineError otherwise)."""
        subject = subject_of(wrapped.key_id, self.store_id) if wrapped.kind == KIND else None
        if subject is None:
            raise NotMineError("not a wrap of this key store")
        version = wrapped.version
        entry = self._entry(subject, create=False)
        if entry is None:
            raise NotMineError(f"this key store has no subject {subject!r}")
        row = entry.versions.get(version)
        if row is None:
            raise NotMineError(f"subject {subject!r} has no version {version}")
        if row.state != ENABLED:
            raise NotMineError(f"subject {subject!r} version {version} is {row.state}")
        return open_wrap(self.store_id, self._cipher(subject, entry, version), wrapped, ad)

    # -- the cache and the database read behind it -------------------------------

    def _entry(self, subject: str, *, create: bool) -> Entry | None:
        entry = self._cache.get(subject)
        if entry is not None:
            return entry
        epoch = self._cache.epoch()
        entry = self._read(subject)
        if entry is None and create:
            self._create(subject, exists_ok=True)
            epoch = self._cache.epoch()
            entry = self._read(subject)
        if entry is not None:
            self._cache.put(subject, entry, epoch)
        return entry

    def _read(self, subject: str) -> Entry | None:
        read_at = self._cache.now()
        # The destroy count is checked under the connection's lock, so reads are
        # seen in the order the database answered them: a read that another
        # thread's later read overtook is not mistaken for a restored backup.
        with self._db.lock:
            rows = self._db.fetch(f"read subject {subject!r}", READ_SUBJECT, (subject,))
            if rows:
                self._seen(int(rows[0][8]))
        if not rows:
            return None
        versions: dict[int, VersionRow] = {}
        for _, _, version, state, m_kind, m_key, m_version, wrapped, _ in rows:
            if version is None:
                continue
            material = None
            if wrapped is not None:
                material = WrappedKey(
                    kind=m_kind, key_id=m_key, version=int(m_version), payload=bytes(wrapped)
                )
            versions[int(version)] = VersionRow(state=state, wrapped=material)
        primary = rows[0][0]
        return Entry(
            primary=None if primary is None or rows[0][1] else int(primary),
            versions=versions,
            read_at=read_at,
        )

    def _seen(self, generation: int) -> None:
        """Refuse a database older than one this object has seen (a restored backup).

        Every destroy adds one to the database's generation; a read that
        shows less than this object saw means destroyed keys may be back.
        """
        with self._generation_lock:
            if generation < self._generation:
                raise KeyProviderError(
                    f"the key store database went back (destroy count {generation}, this "
                    f"process saw {self._generation}): restored from a backup? Destroyed "
                    "keys may be back; see docs/customer-keys.md, Backups"
                )
            self._generation = generation

    def _cipher(self, subject: str, entry: Entry, version: int) -> AESGCM:
        aead = entry.ciphers.get(version)
        if aead is not None:
            return aead
        row = entry.versions[version]
        if row.wrapped is None:
            raise NotMineError(f"subject {subject!r} version {version} was destroyed")
        try:
            secret = self._master.unwrap(row.wrapped, master_ad(self.store_id, subject, version))
        except NotMineError as exc:
            # A row copied from another subject or store, or a master version destroyed.
            raise KeyProviderError(
                f"the master cannot open subject {subject!r} version {version} "
                f"(a row copied from elsewhere, altered, or its master version destroyed): {exc}"
            ) from None
        if len(secret) != DEK_LEN:
            raise KeyProviderError(f"subject {subject!r} version {version}: bad key length")
        aead = AESGCM(secret)
        entry.ciphers[version] = aead
        return aead

    def _primary_cipher(self, subject: str) -> tuple[int, AESGCM]:
        entry = self._entry(subject, create=True)
        assert entry is not None
        if entry.primary is None:
            raise no_primary(subject, "it was erased, or its primary version destroyed")
        row = entry.versions.get(entry.primary)
        if row is None or row.state != ENABLED:
            raise no_primary(subject, "its primary version is not enabled; rotate it")
        return entry.primary, self._cipher(subject, entry, entry.primary)

    # -- creating keys ---------------------------------------------------------

    def _material(self, subject: str, version: int) -> WrappedKey:
        """A fresh subject key, wrapped by the master; the plain key is dropped here."""
        try:
            wrapped: WrappedKey = self._master.wrap(
                os.urandom(DEK_LEN), master_ad(self.store_id, subject, version)
            )
        except KeyProviderError:
            raise
        except Exception as exc:
            raise KeyProviderError(
                f"the master could not wrap a new key for subject {subject!r}"
            ) from exc
        return wrapped

    def _version_row(
        self, subject: str, version: int, wrapped: WrappedKey, now: str
    ) -> tuple[Any, ...]:
        return (
            subject,
            version,
            ENABLED,
            now,
            now,
            wrapped.kind,
            wrapped.key_id,
            wrapped.version,
            wrapped.payload,
        )

    def _create(self, subject: str, *, exists_ok: bool) -> bool:
        """Make version 1 of a new subject; False if it exists (another process won)."""
        wrapped = self._material(subject, 1)
        now = iso(utcnow())
        with self._db.transaction(f"create subject {subject!r}") as cur:
            # The primary key decides a race: the loser inserts nothing and uses the winner's.
            made = cur.run(NEW_SUBJECT, (subject, now)) == 1
            if made:
                cur.run(NEW_VERSION, self._version_row(subject, 1, wrapped, now))
        if made:
            audited("keystore.add", subject, self.store_id, version=1)
        elif not exists_ok:
            raise KeyStoreError(f"this key store already has subject {subject!r}")
        return made

    def add(self, subject: str) -> SubjectKey:
        """Create ``subject``'s key (version 1) now and return its provider."""
        provider = self.key(subject)
        self._create(provider.subject, exists_ok=False)
        return provider

    def add_many(self, subjects: Iterable[str]) -> int:
        """Create the keys of many subjects, one transaction a batch; return how many were new.

        Subjects that exist already are left as they are.
        """
        names = [check_subject(s) for s in subjects]
        added = 0
        for batch in batches(names, self._batch):
            # The master wraps before the transaction opens: a slow master (a
            # KMS call a key) never holds the database's write lock.
            now = iso(utcnow())
            version_rows = [self._version_row(s, 1, self._material(s, 1), now) for s in batch]
            with self._db.transaction("add subjects") as cur:
                # Existing subjects already have a version 1 (live or a tombstone):
                # both inserts skip them, and the first counts what was new.
                made = cur.many(NEW_SUBJECT, [(s, now) for s in batch])
                cur.many(NEW_VERSION + NO_CONFLICT, version_rows)
            added += made
            record("keystore.add-many", "ok", kind=KIND, detail=f"{made} subjects")
        return added

    # -- lifecycle ---------------------------------------------------------------

    def rotate(self, subject: str) -> int:
        """Add a new version of the subject's key and make it primary; return its number."""
        subject = self.key(subject).subject
        for _ in range(_RETRIES):
            with self._db.read(f"read subject {subject!r}") as cur:
                row = cur.one(
                    "SELECT MAX(version) FROM sealdoc_keystore_versions WHERE subject = ?",
                    (subject,),
                )
            latest = 0 if row is None or row[0] is None else int(row[0])
            version = latest + 1
            if version > MAX_VERSION:
                raise KeyStoreError(f"subject {subject!r} has used every version number")
            wrapped = self._material(subject, version)
            now = iso(utcnow())
            try:
                with self._db.transaction(f"rotate subject {subject!r}") as cur:
                    _, erased, _, _ = locked(cur, subject)
                    if erased:
                        raise KeyStoreError(f"subject {subject!r} was erased at {erased}")
                    cur.run(NEW_VERSION, self._version_row(subject, version, wrapped, now))
                    cur.run(
                        "UPDATE sealdoc_keystore_subjects SET primary_version = ?"
                        " WHERE subject = ?",
                        (version, subject),
                    )
            except self._db.dialect.retryable:
                continue  # another process took this version number: read and try again
            finally:
                self._cache.drop(subject)
            audited("keystore.rotate", subject, self.store_id, version=version)
            return version
        raise KeyProviderError(f"cannot rotate subject {subject!r}: too many concurrent rotations")

    def disable(self, subject: str, version: int) -> None:
        """Stop a version from opening anything, until :meth:`enable`. Not the primary."""
        self._set_state(subject, version, DISABLED)

    def enable(self, subject: str, version: int) -> None:
        """Let a disabled version open again; cancels a scheduled destroy."""
        self._set_state(subject, version, ENABLED)

    def _set_state(self, subject: str, version: int, state: str) -> None:
        subject = self.key(subject).subject
        check_version(version)
        with self._db.transaction(f"change subject {subject!r}") as cur:
            primary, _, _, _ = locked(cur, subject)
            current = state_of(cur, subject, version)
            if current == DESTROYED:
                raise KeyStoreError(f"subject {subject!r} version {version} was destroyed")
            if state == DISABLED and current == PENDING_DESTROY:
                raise KeyStoreError(
                    f"subject {subject!r} version {version} is to be destroyed; enable cancels that"
                )
            if state == DISABLED and version == primary:
                raise KeyStoreError(
                    f"version {version} is the primary of subject {subject!r}: rotate first"
                )
            cur.run(
                "UPDATE sealdoc_keystore_versions SET state = ?, changed = ?, destroy_at = NULL"
                " WHERE subject = ? AND version = ?",
                (state, iso(utcnow()), subject, version),
            )
        self._cache.drop(subject)
        operation = "keystore.disable" if state == DISABLED else "keystore.enable"
        audited(operation, subject, self.store_id, version=version)

    # -- introspection -------------------------------------------------------------

    def info(self, subject: str) -> SubjectInfo:
        """What the store holds about ``subject``: versions and states, hold, retention."""
        subject = self.key(subject).subject
        with self._db.read(f"read subject {subject!r}") as cur:
            row = cur.one(
                "SELECT primary_version, created, erased, hold_reason, retain_until"
                " FROM sealdoc_keystore_subjects WHERE subject = ?",
                (subject,),
            )
            if row is None:
                raise KeyStoreError(f"this key store has no subject {subject!r}")
            versions = tuple(
                VersionInfo(int(v), s, c, ch) for v, s, c, ch in cur.all(VERSIONS, (subject,))
            )
        primary, created, erased, hold, until = row
        return SubjectInfo(
            subject=subject,
            key_id=label(subject, self.store_id),
            primary=None if primary is None else int(primary),
            created=created,
            erased=erased,
            hold=hold,
            retain_until=until,
            versions=versions,
        )

    def subjects(self, *, after: str = "", limit: int = 1000) -> list[str]:
        """Subject ids in order, ``limit`` at a time after ``after`` (for listing)."""
        with self._db.read("list subjects") as cur:
            rows = cur.all(
                "SELECT subject FROM sealdoc_keystore_subjects WHERE subject > ?"
                " ORDER BY subject LIMIT ?",
                (after, limit),
            )
        return [str(r[0]) for r in rows]

    # -- master rotation -----------------------------------------------------------

    def rewrap_master(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Re-wrap every live subject key under the master's current version; return how many.

        Batched and resumable: a row already under the current version is
        skipped, so a run that stopped is run again. A row changed meanwhile
        (destroyed, rotated elsewhere) is left to that change.
        """
        versioned = powers(self._master).versioned
        if versioned is None:
            raise KeyStoreError("the master has no versions to rotate to (not a VersionedKey)")
        current = versioned.current_key()
        done = 0
        after: tuple[str, int] = ("", 0)
        while True:
            with self._db.read("list subject keys") as cur:
                rows = cur.all(
                    "SELECT subject, version, master_kind, master_key_id, master_version, wrapped"
                    " FROM sealdoc_keystore_versions WHERE wrapped IS NOT NULL"
                    " AND (subject > ? OR (subject = ? AND version > ?))"
                    " ORDER BY subject, version LIMIT ?",
                    (after[0], after[0], after[1], self._batch),
                )
            if not rows:
                break
            after = (rows[-1][0], int(rows[-1][1]))
            updates = []
            for subject, version, m_kind, m_key, m_version, wrapped in rows:
                if (m_kind, m_key, int(m_version)) == (
                    current.kind,
                    current.key_id,
                    current.version,
                ):
                    continue
                old = WrappedKey(
                    kind=m_kind, key_id=m_key, version=int(m_version), payload=bytes(wrapped)
                )
                ad = master_ad(self.store_id, subject, int(version))
                secret = self._master.unwrap(old, ad)
                new = self._master.wrap(secret, ad)
                updates.append(
                    (
                        new.kind,
                        new.key_id,
                        new.version,
                        new.payload,
                        subject,
                        int(version),
                        bytes(wrapped),
                    )
                )
            with self._db.transaction("re-wrap subject keys") as cur:
                for update in updates:
                    done += cur.run(
                        "UPDATE sealdoc_keystore_versions SET master_kind = ?, master_key_id = ?,"
                        " master_version = ?, wrapped = ? WHERE subject = ? AND version = ?"
                        " AND wrapped = ?",
                        update,
                    )
            if progress is not None:
                progress(done)
        self._cache.clear()
        record("keystore.rewrap-master", "ok", kind=KIND, detail=f"{done} keys")
        return done
