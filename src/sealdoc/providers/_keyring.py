"""Versioned AES-256 KEKs held in memory; shared by MemoryKeyring and LocalKeyring."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import attrs
from cryptography.exceptions import InvalidTag

from .._audit import record
from .._format import DEK_LEN, MAX_KEY_ID_LEN, MAX_VERSION, KeyRef, WrappedKey
from .._wrap_ad import check_key_id, wrap_ad
from ..exceptions import KeyProviderError, NotMineError
from ._base import AssociatedData
from ._keyring_model import (
    _RING_SUFFIX,
    _RING_SUFFIX_LEN,
    DEFAULT_KEY_ID,
    DESTROYED,
    DISABLED,
    ENABLED,
    KEK_LEN,
    PENDING_DESTROY,
    KeyVersion,
    NamedKey,
    RingMeta,
    _any_due,
    _check_now,
    _erase,
    _iso,
    _named,
    _now,
    _purge_due,
    _replace,
    _utcnow,
    _version,
    check_version,
    new_named_key,
    new_ring_id,
)

_NONCE_LEN = 12
_T = TypeVar("_T")
_K = TypeVar("_K", bound="KeyringBase")


def check_key_name(name: object) -> str:
    """A name for a new key: a key id that leaves room for, and cannot pass for, a ring id."""
    check_key_id(name)
    assert isinstance(name, str)
    if _RING_SUFFIX.search(name):
        raise ValueError("a key name may not end in '@kr-' and 12 hex digits (a keyring id)")
    if len(name.encode("utf-8")) > MAX_KEY_ID_LEN - _RING_SUFFIX_LEN:
        raise ValueError(f"a key name is at most {MAX_KEY_ID_LEN - _RING_SUFFIX_LEN} UTF-8 bytes")
    return name


def _due_after(now: datetime, after: timedelta | None) -> str | None:
    """When a destroy ``after`` a delay is due (ISO text), or None to destroy now."""
    if after is None:
        return None
    if not isinstance(after, timedelta):
        raise TypeError("after is a datetime.timedelta")
    if after <= timedelta(0):
        raise ValueError("after must be a positive period; confirm=True destroys now")
    return _iso(now + after)


def _check_destroy(
    named: NamedKey, name: str, version: int, kv: KeyVersion, *, scheduled: bool, confirm: bool
) -> None:
    """Refuse a destroy (or, ``scheduled``, a destroy later) that the rules forbid."""
    if kv.state == DESTROYED:
        raise ValueError(f"key {name!r} version {version} was already destroyed")
    if scheduled and kv.state == PENDING_DESTROY:
        raise ValueError(
            f"key {name!r} version {version} is already to be destroyed at "
            f"{kv.destroy_at}; enable() cancels that"
        )
    if scheduled and version == named.primary:
        raise ValueError(
            f"version {version} is the primary of key {name!r}: rotate first, "
            "so that new documents are not sealed under a key about to go"
        )
    others = [v for v, other in named.versions.items() if v != version and other.state == ENABLED]
    if (version == named.primary or not others) and not confirm:
        raise ValueError(
            f"version {version} is the primary or the last enabled version of key "
            f"{name!r}; documents wrapped only under it will be lost. "
            "Pass confirm=True to destroy it anyway."
        )


class KeyringBase:
    """Wrap under the primary version of a named key; unwrap under any enabled version.

    Subclasses set ``kind`` and decide where the keys live (``_persist``).
    Providers returned by :meth:`key` and :meth:`add_key` share this one's
    keys, lock, keyring id and file.
    """

    kind: str = ""

    def __init__(
        self,
        keys: dict[str, NamedKey],
        *,
        key_id: str = DEFAULT_KEY_ID,
        meta: RingMeta | None = None,
        _randbytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._keys = keys
        self._key_id = check_key_id(key_id)
        self._meta = meta if meta is not None else RingMeta(ring_id=None, plain_ids=True)
        self._randbytes = _randbytes
        self._lock = threading.RLock()

    # -- key references ----------------------------------------------------------

    def _label(self, name: str) -> str:
        """The key id wraps carry for key ``name``: ``name@ring-id``, or the plain name."""
        ring_id = self._meta.ring_id
        return name if ring_id is None else f"{name}@{ring_id}"

    def _name_for(self, key_id: str) -> str | None:
        """The name of this keyring's key that ``key_id`` (a wrap's) refers to, if any."""
        ring_id = self._meta.ring_id
        if ring_id is not None and key_id.endswith("@" + ring_id):
            return key_id[: -len(ring_id) - 1]
        if self._meta.plain_ids and not _RING_SUFFIX.search(key_id):
            return key_id
        return None

    def _api_name(self, key_id: str) -> str:
        """A name given to the API: a plain name, or this keyring's full key id."""
        check_key_id(key_id)
        ring_id = self._meta.ring_id
        if ring_id is not None and key_id.endswith("@" + ring_id):
            return key_id[: -len(ring_id) - 1]
        return key_id

    @property
    def ring_id(self) -> str | None:
        """This keyring's id (``kr-`` and 12 hex digits); None for a keyring made before ids."""
        return self._meta.ring_id

    # -- the provider protocol ------------------------------------------------

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        if len(dek) != DEK_LEN:
            raise ValueError(f"a document key is {DEK_LEN} bytes")
        with self._lock:
            version, kv = self._primary(self._key_id)
            aead = kv.aead()
            label = self._label(self._key_id)
        nonce = self._randbytes(_NONCE_LEN)
        sealed = aead.encrypt(nonce, dek, wrap_ad(self.kind, label, version, ad.digest))
        return WrappedKey(kind=self.kind, key_id=label, version=version, payload=nonce + sealed)

    def handles(self, wrapped: WrappedKey) -> bool:
        if wrapped.kind != self.kind:
            return False
        with self._lock:
            name = self._name_for(wrapped.key_id)
            return name is not None and name in self._keys

    def budget_key(self, wrapped: WrappedKey) -> str:
        """The key's name: ``name`` and ``name@ring-id`` are one key to the budget (BudgetKey)."""
        with self._lock:
            name = self._name_for(wrapped.key_id)
        return wrapped.key_id if name is None else name

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        if wrapped.kind != self.kind:
            raise NotMineError(f"a {wrapped.kind} key, not a {self.kind} one")
        version = wrapped.version
        with self._lock:
            name = self._name_for(wrapped.key_id)
            named = None if name is None else self._keys.get(name)
            if named is None:
                raise NotMineError(f"no key {wrapped.key_id!r} in this keyring")
            kv = named.versions.get(version)
            if kv is None:
                raise NotMineError(f"key {name!r} has no version {version} in this keyring")
            if kv.state == DESTROYED:
                raise NotMineError(f"key {name!r} version {version} was destroyed")
            if kv.state != ENABLED:
                raise NotMineError(f"key {name!r} version {version} is {kv.state}")
            aead = kv.aead()
        if len(wrapped.payload) != _NONCE_LEN + DEK_LEN + 16:
            raise NotMineError("wrapped key payload has the wrong length")
        nonce, body = wrapped.payload[:_NONCE_LEN], wrapped.payload[_NONCE_LEN:]
        try:
            return aead.decrypt(nonce, body, wrap_ad(self.kind, wrapped.key_id, version, ad.digest))
        except InvalidTag:
            raise NotMineError(
                "the wrapped key does not open under this keyring's key "
                "(another keyring, or altered)"
            ) from None

    def destroyed(self, wrapped: WrappedKey) -> bool:
        """Whether ``wrapped``'s key version was destroyed in this keyring (KnowsDestroyed)."""
        if wrapped.kind != self.kind:
            return False
        with self._lock:
            name = self._name_for(wrapped.key_id)
            named = None if name is None else self._keys.get(name)
            kv = None if named is None else named.versions.get(wrapped.version)
            return kv is not None and kv.state == DESTROYED

    def current_key(self) -> KeyRef:
        """The key version ``wrap`` uses now (for ``is_current`` and rewrap)."""
        with self._lock:
            version, _ = self._primary(self._key_id)
            return KeyRef(self.kind, self._label(self._key_id), version)

    def _primary(self, key_id: str) -> tuple[int, KeyVersion]:
        named = self._keys.get(key_id)
        if named is None:
            raise KeyProviderError(f"this keyring has no key {key_id!r}")
        kv = named.versions.get(named.primary) if named.primary is not None else None
        if kv is None or kv.state != ENABLED:
            raise KeyProviderError(
                f"key {key_id!r} has no enabled primary version (destroyed); rotate it first"
            )
        assert named.primary is not None
        return named.primary, kv

    # -- per-key providers -----------------------------------------------------

    def provider_for(self: _K, wrapped: WrappedKey) -> _K | None:
        """A provider bound to ``wrapped``'s key id, if this keyring holds it (KeyFamily).

        rewrap and rotate use it to keep a per-customer or escrow wrap under
        its own key id instead of moving it to this provider's key.
        """
        if not self.handles(wrapped):
            return None
        try:
            return self.key(wrapped.key_id)
        except KeyError:  # removed from the keyring since handles() looked
            return None

    def key(self: _K, key_id: str) -> _K:
        """A provider for another key of this keyring (per customer, per tenant).

        ``key_id`` is the key's name, or its full key id as wraps carry it
        (``name@ring-id``). The provider shares this keyring's keys, lock and
        file: a change made through either is seen by both.
        """
        name = self._api_name(key_id)
        with self._lock:
            if name not in self._keys:
                raise KeyError(f"this keyring has no key {name!r}; add_key() makes one")
        bound = copy.copy(self)
        bound._key_id = name
        return bound

    def add_key(self: _K, key_id: str) -> _K:
        """Create key ``key_id`` at version 1 and return a provider bound to it."""
        check_key_name(key_id)

        def change(keys: dict[str, NamedKey], meta: RingMeta) -> None:
            if key_id in keys:
                raise ValueError(f"this keyring already has a key {key_id!r}")
            keys[key_id] = new_named_key(_now(), self._randbytes)

        self._change(change)
        self._audit("key.add", key_id, 1)
        return self.key(key_id)

    def assign_id(self) -> str:
        """Give a keyring made before keyring ids one; return it (it is saved at once).

        From then on wraps carry ``name@ring-id``; wraps with the plain name
        made before still open, as the same named key. A routine ``rewrap``
        of a store then relabels its documents (docs/keyring.md, "Migration").
        """
        new_id = new_ring_id(self._randbytes)

        def change(keys: dict[str, NamedKey], meta: RingMeta) -> str:
            if meta.ring_id is not None:
                raise ValueError(f"this keyring already has the id {meta.ring_id!r}")
            for name in keys:
                check_key_name(name)  # every name must still fit once labelled
            meta.ring_id = new_id
            meta.plain_ids = True
            return new_id

        ring_id = self._change(change)
        record("key.assign-id", "ok", kind=self.kind, detail=ring_id)
        return ring_id

    # -- lifecycle ---------------------------------------------------------------

    def rotate(self, key_id: str | None = None) -> int:
        """Add a new version of the key and make it primary; return its number.

        Older versions keep opening the documents wrapped under them until
        they are disabled or destroyed. Version numbers are never reused.
        """
        name = self._name(key_id)

        def change(keys: dict[str, NamedKey], meta: RingMeta) -> int:
            named = _named(keys, name)
            version = max(named.versions) + 1
            if version > MAX_VERSION:
                raise ValueError("this key has used every version number")
            versions = dict(named.versions)
            versions[version] = KeyVersion(secret=self._randbytes(KEK_LEN), created=_now())
            keys[name] = NamedKey(primary=version, versions=versions)
            return version

        version = self._change(change)
        self._audit("key.rotate", name, version)
        return version

    def disable(self, version: int, key_id: str | None = None) -> None:
        """Stop a version from opening anything, until :meth:`enable`. Not the primary."""
        self._set_state(version, key_id, DISABLED)

    def enable(self, version: int, key_id: str | None = None) -> None:
        """Let a disabled version open documents again; cancels a pending destroy."""
        self._set_state(version, key_id, ENABLED)

    def _set_state(self, version: int, key_id: str | None, state: str) -> None:
        name = self._name(key_id)
        check_version(version)
        cancelled: list[str] = []

        def change(keys: dict[str, NamedKey], meta: RingMeta) -> None:
            named = _named(keys, name)
            kv = _version(named, name, version)
            if kv.state == DESTROYED:
                raise ValueError(f"key {name!r} version {version} was destroyed; it cannot return")
            if state == DISABLED and kv.state == PENDING_DESTROY:
                raise ValueError(
                    f"key {name!r} version {version} is to be destroyed at {kv.destroy_at}; "
                    "enable() cancels that"
                )
            if state == DISABLED and version == named.primary:
                raise ValueError(
                    f"version {version} is the primary of key {name!r}: rotate first, "
                    "so that new documents are not sealed under a disabled key"
                )
            if kv.state == PENDING_DESTROY:
                cancelled.append(kv.destroy_at)
            _replace(keys, name, version, attrs.evolve(kv, state=state, destroy_at=""))

        self._change(change)
        if cancelled:
            self._audit("key.destroy.cancel", name, version, f"was due {cancelled[0]}")
        self._audit("key.disable" if state == DISABLED else "key.enable", name, version)

    def destroy(
        self,
        version: int,
        key_id: str | None = None,
        *,
        after: timedelta | None = None,
        confirm: bool = False,
        now: datetime | None = None,
    ) -> None:
        """Erase a version's key material for good (crypto-shredding), now or ``after`` a delay.

        Every document wrapped only under this version becomes unreadable, on
        purpose. With ``after`` (a positive timedelta), the version stops
        opening anything now (state ``pending-destroy``) and is destroyed
        once ``after`` has passed, at the next change of the keyring or by
        :meth:`purge`; :meth:`enable` cancels it until then. The primary
        cannot be scheduled: rotate first. Destroying the primary or the
        last enabled version of a key needs ``confirm=True``: find the
        documents that depend on it first (rewrap them, or accept their loss).
        """
        name = self._name(key_id)
        check_version(version)
        when = _check_now(now)
        due = _due_after(when, after)

        def change(keys: dict[str, NamedKey], meta: RingMeta) -> None:
            named = _named(keys, name)
            kv = _version(named, name, version)
            _check_destroy(named, name, version, kv, scheduled=due is not None, confirm=confirm)
            if due is not None:
                _replace(
                    keys, name, version, attrs.evolve(kv, state=PENDING_DESTROY, destroy_at=due)
                )
            else:
                _erase(keys, name, version)

        self._transact(change, when)
        if due is not None:
            self._audit("key.destroy.schedule", name, version, f"due {due}")
        else:
            self._audit("key.destroy", name, version)

    def purge(self, now: datetime | None = None) -> list[KeyRef]:
        """Destroy every version whose scheduled destroy is due; return what was destroyed.

        Any other change of the keyring does the same first, so ``purge`` is
        only needed where nothing else changes the keyring (a daily job).
        """
        when = _check_now(now)
        _, purged = self._transact(lambda keys, meta: None, when, only_if_due=True)
        return purged

    def destroy_schedule(self, key_id: str | None = None) -> dict[int, datetime]:
        """Versions of the key that are pending destroy, and when they go."""
        name = self._name(key_id)
        with self._lock:
            return {
                v: datetime.fromisoformat(kv.destroy_at)
                for v, kv in sorted(_named(self._keys, name).versions.items())
                if kv.state == PENDING_DESTROY
            }

    def _name(self, key_id: str | None) -> str:
        return self._key_id if key_id is None else self._api_name(key_id)

    def _change(self, change: Callable[[dict[str, NamedKey], RingMeta], _T]) -> _T:
        result, _ = self._transact(change, _utcnow())
        return result  # type: ignore[return-value]  # None only with only_if_due

    def _transact(
        self,
        change: Callable[[dict[str, NamedKey], RingMeta], _T],
        now: datetime,
        *,
        only_if_due: bool = False,
    ) -> tuple[_T | None, list[KeyRef]]:
        """Purge what is due, apply ``change`` to a copy, persist the copy, then make it current.

        If persisting fails (a full disk, a crash), the keyring in memory and
        on disk both stay as they were. Returns the change's result and the
        versions purged on the way. With ``only_if_due``, nothing is
        written unless a version is due (a purge that finds nothing).
        """
        with self._lock:
            if only_if_due and not _any_due(self._keys, now):
                return None, []
            draft = {
                name: NamedKey(named.primary, dict(named.versions))
                for name, named in self._keys.items()
            }
            meta = attrs.evolve(self._meta)
            purged = _purge_due(draft, now)
            result = change(draft, meta)
            self._persist(draft, meta)
            self._keys.clear()
            self._keys.update(draft)
            self._meta.ring_id, self._meta.plain_ids = meta.ring_id, meta.plain_ids
            refs = [KeyRef(self.kind, self._label(name), v) for name, v, _ in purged]
        for name, version, due in purged:
            self._audit("key.purge", name, version, f"was due {due}")
        return result, refs

    def _audit(self, operation: str, name: str, version: int, detail: str = "") -> None:
        """One audit event of a change to key ``name`` (labelled as its wraps are)."""
        record(
            operation,
            "ok",
            kind=self.kind,
            key_id=self._label(name),
            version=version,
            detail=detail,
        )

    def _persist(self, keys: dict[str, NamedKey], meta: RingMeta) -> None:
        """Store the whole key set; the memory keyring has nowhere to store it."""

    # -- introspection ----------------------------------------------------------

    @property
    def key_id(self) -> str:
        """The name of the key this provider wraps under (wraps carry ``name@ring-id``)."""
        return self._key_id

    def key_ids(self) -> list[str]:
        """The names of this keyring's keys."""
        with self._lock:
            return sorted(self._keys)

    def versions(self, key_id: str | None = None) -> dict[int, str]:
        """Version number to state; no key material.

        States: enabled, disabled, pending-destroy (see :meth:`destroy_schedule`), destroyed.
        """
        name = self._name(key_id)
        with self._lock:
            return {v: kv.state for v, kv in sorted(_named(self._keys, name).versions.items())}

    def primary_version(self, key_id: str | None = None) -> int | None:
        """The version ``wrap`` uses; None once the primary was destroyed."""
        name = self._name(key_id)
        with self._lock:
            return _named(self._keys, name).primary
