"""What a KeyStore says about its subjects: value objects and the pure rules on them."""

from __future__ import annotations

import functools
import hashlib
import re
import struct
from datetime import datetime, timezone
from typing import Any

import attrs

from .._audit import record
from .._format import MAX_KEY_ID_LEN
from .._provider_api import AssociatedData
from .._wrap_ad import check_key_id

KIND = "keystore"
# A store id: "ks-" and 12 lowercase hex digits; wraps carry "<subject>@<store id>".
STORE_ID = re.compile(r"ks-[0-9a-f]{12}\Z")
# The end of a key id ("<subject>@<store id>"): never the end of a subject id, so
# that a subject chosen by a customer cannot name another customer's key id.
_LABEL_END = re.compile(r"@ks-[0-9a-f]{12}\Z")
_SUFFIX_LEN = len("@ks-") + 12
_MASTER_LABEL = b"sealdoc-keystore-v1"


def check_subject(subject: object) -> str:
    """A subject id: a key id (format.md 3.6) that leaves room for the store id."""
    check_key_id(subject)
    assert isinstance(subject, str)
    if len(subject.encode("utf-8")) > MAX_KEY_ID_LEN - _SUFFIX_LEN:
        raise ValueError(f"a subject id is at most {MAX_KEY_ID_LEN - _SUFFIX_LEN} UTF-8 bytes")
    if _LABEL_END.search(subject):
        raise ValueError(
            "a subject id does not end in '@ks-' and 12 hex digits: that is a key id "
            f"(subject@store id); pass the subject itself ({subject[:-_SUFFIX_LEN]!r})"
        )
    return subject


def label(subject: str, store_id: str) -> str:
    """The key id a subject's wraps carry."""
    return f"{subject}@{store_id}"


def audited(
    operation: str, subject: str, store_id: str, *, version: int | None = None, detail: str = ""
) -> None:
    """The audit event of a change to a subject's keys, under the key id its wraps carry."""
    record(
        operation, "ok", kind=KIND, key_id=label(subject, store_id), version=version, detail=detail
    )


def subject_of(key_id: str, store_id: str) -> str | None:
    """The subject a wrap's key id names in this store, or None."""
    suffix = "@" + store_id
    if key_id.endswith(suffix) and len(key_id) > len(suffix):
        return key_id[: -len(suffix)]
    return None


def master_ad(store_id: str, subject: str, version: int) -> AssociatedData:
    """What the master binds a subject key's wrap to: this store, this subject, this version.

    A row copied to another subject, version or store asks the master to
    open it under other associated data, and the master refuses.
    """
    # The hash of label and store id is taken once a store: add_many calls
    # this once a subject, and the copy costs less than hashing the prefix again.
    hasher = _store_prefix(store_id).copy()
    part = subject.encode("utf-8")
    hasher.update(struct.pack(">H", len(part)) + part + struct.pack(">Q", version))
    return AssociatedData(digest=hasher.digest())


@functools.lru_cache(maxsize=16)
def _store_prefix(store_id: str) -> Any:
    part = store_id.encode("utf-8")
    return hashlib.sha256(_MASTER_LABEL + struct.pack(">H", len(part)) + part)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")


def check_when(when: object, name: str) -> datetime:
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise TypeError(f"{name} is a timezone-aware datetime")
    return when


@attrs.frozen
class VersionInfo:
    """One version of a subject's key: its state and times; never material."""

    version: int
    state: str
    created: str
    changed: str


@attrs.frozen
class SubjectInfo:
    """What the store holds about a subject (for ``customers show`` and inventory)."""

    subject: str
    key_id: str
    primary: int | None
    created: str
    erased: str | None
    hold: str | None
    retain_until: str | None
    versions: tuple[VersionInfo, ...]

    @property
    def shredded(self) -> bool:
        """Every version destroyed: the subject's documents open nowhere."""
        return bool(self.versions) and all(v.state == "destroyed" for v in self.versions)


@attrs.frozen
class EraseReport:
    """What :meth:`KeyStore.erase_due` did.

    ``erased``: subjects whose retention ended, now destroyed. ``held``:
    subjects whose retention ended but a legal hold keeps (subject, reason).
    ``versions``: (subject, version) whose scheduled destroy was due, now destroyed.
    """

    erased: tuple[str, ...]
    held: tuple[tuple[str, str], ...]
    at: str
    versions: tuple[tuple[str, int], ...] = ()
