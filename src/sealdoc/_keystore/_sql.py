"""The statements a KeyStore runs, and the small reads its changes share.

Fixed text only: every value is a bound parameter (``?``, turned into the
driver's placeholder by the dialect).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .._format import MAX_VERSION
from ..exceptions import KeyStoreError

READ_SUBJECT = (
    "SELECT s.primary_version, s.erased, v.version, v.state, v.master_kind,"
    " v.master_key_id, v.master_version, v.wrapped"
    " , (SELECT generation FROM sealdoc_keystore_generation WHERE id = 1)"
    " FROM sealdoc_keystore_subjects s LEFT JOIN sealdoc_keystore_versions v"
    " ON v.subject = s.subject WHERE s.subject = ?"
)
GENERATION = "SELECT generation FROM sealdoc_keystore_generation WHERE id = 1"
_BUMP = "UPDATE sealdoc_keystore_generation SET generation = generation + 1 WHERE id = 1"
LOCK_SUBJECT = (
    "SELECT primary_version, erased, hold_reason, retain_until"
    " FROM sealdoc_keystore_subjects WHERE subject = ? FOR UPDATE"
)
NEW_SUBJECT = (
    "INSERT INTO sealdoc_keystore_subjects (subject, primary_version, created)"
    " VALUES (?, 1, ?) ON CONFLICT (subject) DO NOTHING"
)
NEW_VERSION = (
    "INSERT INTO sealdoc_keystore_versions (subject, version, state, created, changed,"
    " master_kind, master_key_id, master_version, wrapped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
NO_CONFLICT = " ON CONFLICT (subject, version) DO NOTHING"
VERSIONS = (
    "SELECT version, state, created, changed FROM sealdoc_keystore_versions"
    " WHERE subject = ? ORDER BY version"
)
SHRED = (
    "UPDATE sealdoc_keystore_versions SET state = ?, changed = ?, destroy_at = NULL,"
    " master_kind = NULL, master_key_id = NULL, master_version = NULL, wrapped = NULL"
    " WHERE subject = ? AND state <> ?"
)
SHRED_ONE = SHRED + " AND version = ?"
# erase_due's destroy of one scheduled version: only if it is still scheduled and
# due, so an enable (which cancels) committed after the due list was read wins.
PURGE_ONE = SHRED_ONE + " AND state = ? AND destroy_at <= ?"
# A batch is one parameter: "IN (SELECT value FROM json_each(?))" is _db.IN_BATCH,
# which the PostgreSQL dialect rewrites to "= ANY(?)" (an array parameter).
SHRED_BATCH = (
    "UPDATE sealdoc_keystore_versions SET state = ?, changed = ?, destroy_at = NULL,"
    " master_kind = NULL, master_key_id = NULL, master_version = NULL, wrapped = NULL"
    " WHERE subject IN (SELECT value FROM json_each(?)) AND state <> ?"
)
ERASE_BATCH = (
    "UPDATE sealdoc_keystore_subjects SET primary_version = NULL, erased = ?"
    " WHERE subject IN (SELECT value FROM json_each(?))"
)
# Locked in subject order, so that two batches never wait on each other in a cycle.
LOCK_BATCH = (
    "SELECT subject, erased, hold_reason, retain_until FROM sealdoc_keystore_subjects"
    " WHERE subject IN (SELECT value FROM json_each(?)) ORDER BY subject FOR UPDATE"
)
CHECK_BATCH = (
    "SELECT subject, erased, hold_reason, retain_until FROM sealdoc_keystore_subjects"
    " WHERE subject IN (SELECT value FROM json_each(?))"
)


def bump(cur: Any) -> int:
    """Count a destroy (inside its transaction); return the new generation."""
    cur.run(_BUMP)
    row = cur.one(GENERATION)
    return int(row[0])


def locked(cur: Any, subject: str) -> tuple[Any, ...]:
    """The subject's row (primary, erased, hold, retain until), locked for this transaction."""
    row = cur.one(LOCK_SUBJECT, (subject,))
    if row is None:
        raise KeyStoreError(f"this key store has no subject {subject!r}")
    return row  # type: ignore[no-any-return]


def state_of(cur: Any, subject: str, version: int) -> str:
    row = cur.one(
        "SELECT state FROM sealdoc_keystore_versions WHERE subject = ? AND version = ?",
        (subject, version),
    )
    if row is None:
        raise KeyStoreError(f"subject {subject!r} has no version {version}")
    return str(row[0])


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError("a key version is an int")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError("key versions run from 1 to 2**32-1")
    return version


def batches(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
