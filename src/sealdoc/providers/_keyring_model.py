"""The keyring's data: named keys, their versions and states, and pure helpers on them."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime, timezone

import attrs
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._format import MAX_VERSION

KEK_LEN = 32
DEFAULT_KEY_ID = "default"

ENABLED = "enabled"
DISABLED = "disabled"
PENDING_DESTROY = "pending-destroy"
DESTROYED = "destroyed"
STATES = (ENABLED, DISABLED, PENDING_DESTROY, DESTROYED)
# A keyring id: "kr-" and 12 lowercase hex digits (48 random bits). Key
# references of a keyring that has one are "<name>@<ring id>" (docs/keyring.md).
RING_ID = re.compile(r"kr-[0-9a-f]{12}\Z")
_RING_SUFFIX = re.compile(r"@kr-[0-9a-f]{12}\Z")
_RING_SUFFIX_LEN = 16


@attrs.define(repr=False)
class KeyVersion:
    secret: bytes
    state: str = ENABLED
    created: str = ""
    destroy_at: str = ""  # UTC ISO 8601, while the state is pending-destroy
    _aead: AESGCM | None = attrs.field(default=None, init=False, eq=False)

    def aead(self) -> AESGCM:
        """The KEK as a cipher, made once: construction costs as much as a wrap."""
        if self._aead is None:
            self._aead = AESGCM(self.secret)
        return self._aead

    def __repr__(self) -> str:
        return f"KeyVersion(state={self.state!r}, created={self.created!r})"


@attrs.define(repr=False)
class NamedKey:
    primary: int | None  # None once the primary version was destroyed
    versions: dict[int, KeyVersion]


@attrs.define
class RingMeta:
    """What a keyring says about itself, shared by every provider made from it.

    ``ring_id`` is None for a keyring made before keyrings had ids: its key
    references are the plain names. ``plain_ids`` says whether wraps that
    carry a plain name (no ``@ring id``) are this keyring's: true for such a
    legacy keyring and for one migrated with ``assign_id``, false for a new one.
    """

    ring_id: str | None
    plain_ids: bool


def new_ring_id(randbytes: Callable[[int], bytes] = os.urandom) -> str:
    return "kr-" + randbytes(6).hex()


def check_ring_id(ring_id: object) -> str:
    if not isinstance(ring_id, str) or not RING_ID.match(ring_id):
        raise ValueError("a keyring id is 'kr-' and 12 lowercase hex digits")
    return ring_id


def _named(keys: dict[str, NamedKey], name: str) -> NamedKey:
    named = keys.get(name)
    if named is None:
        raise KeyError(f"this keyring has no key {name!r}")
    return named


def _version(named: NamedKey, name: str, version: int) -> KeyVersion:
    kv = named.versions.get(version)
    if kv is None:
        raise KeyError(f"key {name!r} has no version {version}")
    return kv


def _replace(keys: dict[str, NamedKey], name: str, version: int, kv: KeyVersion) -> None:
    named = keys[name]
    versions = dict(named.versions)
    versions[version] = kv
    keys[name] = NamedKey(named.primary, versions)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")


def _now() -> str:
    return _iso(_utcnow())


def _check_now(now: datetime | None) -> datetime:
    """The clock, or the caller's ``now`` (an aware datetime: tests, dry runs)."""
    if now is None:
        return _utcnow()
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise TypeError("now is a timezone-aware datetime")
    return now


def _erase(keys: dict[str, NamedKey], name: str, version: int) -> None:
    named = keys[name]
    versions = dict(named.versions)
    versions[version] = KeyVersion(
        secret=b"", state=DESTROYED, created=named.versions[version].created
    )
    primary = None if version == named.primary else named.primary
    keys[name] = NamedKey(primary=primary, versions=versions)


def _is_due(kv: KeyVersion, now: datetime) -> bool:
    return kv.state == PENDING_DESTROY and datetime.fromisoformat(kv.destroy_at) <= now


def _any_due(keys: dict[str, NamedKey], now: datetime) -> bool:
    return any(_is_due(kv, now) for named in keys.values() for kv in named.versions.values())


def _purge_due(keys: dict[str, NamedKey], now: datetime) -> list[tuple[str, int, str]]:
    """Destroy, in ``keys``, the versions whose scheduled destroy is due."""
    purged = []
    for name, named in sorted(keys.items()):
        for version, kv in sorted(named.versions.items()):
            if _is_due(kv, now):
                purged.append((name, version, kv.destroy_at))
                _erase(keys, name, version)
    return purged


def new_named_key(created: str, randbytes: Callable[[int], bytes] = os.urandom) -> NamedKey:
    return NamedKey(primary=1, versions={1: KeyVersion(secret=randbytes(KEK_LEN), created=created)})


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError("a key version is an int")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError("key versions run from 1 to 2**32-1")
    return version
