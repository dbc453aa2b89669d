"""Versioned AES-256 KEKs held in memory; shared by MemoryKeyring and LocalKeyring."""

from __future__ import annotations

import copy
import functools
import os
import struct
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._audit import record
from .._format import DEK_LEN, MAX_VERSION, KeyRef, WrappedKey, check_key_id_text
from ..exceptions import KeyProviderError, NotMineError
from ._base import AssociatedData

KEK_LEN = 32
_NONCE_LEN = 12
_WRAP_LABEL = b"sealdoc-v1-wrap"
DEFAULT_KEY_ID = "default"

ENABLED = "enabled"
DISABLED = "disabled"
DESTROYED = "destroyed"
STATES = (ENABLED, DISABLED, DESTROYED)
_T = TypeVar("_T")
_K = TypeVar("_K", bound="KeyringBase")


@attrs.define(repr=False)
class KeyVersion:
    secret: bytes
    state: str = ENABLED
    created: str = ""
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


@functools.lru_cache(maxsize=256)
def _wrap_ad_prefix(kind: str, key_id: str, version: int) -> bytes:
    kind_b = kind.encode("ascii")
    key_id_b = key_id.encode("utf-8")
    return b"".join(
        (
            _WRAP_LABEL,
            bytes([len(kind_b)]),
            kind_b,
            struct.pack(">H", len(key_id_b)),
            key_id_b,
            struct.pack(">I", version),
        )
    )


def wrap_ad(kind: str, key_id: str, version: int, digest: bytes) -> bytes:
    """format.md 8.1: a wrap is bound to its kind, key, version and header."""
    return _wrap_ad_prefix(kind, key_id, version) + digest


def check_key_id(key_id: object) -> str:
    if not isinstance(key_id, str):
        raise TypeError(f"key_id must be str, not {type(key_id).__name__}")
    return check_key_id_text(key_id)  # length and forbidden characters (format.md 3.6)


class KeyringBase:
    """Wrap under the primary version of a named key; unwrap under any enabled version.

    Subclasses set ``kind`` and decide where the keys live (``_persist``).
    Providers returned by :meth:`key` and :meth:`add_key` share this one's
    keys, lock and file.
    """

    kind: str = ""

    def __init__(
        self,
        keys: dict[str, NamedKey],
        *,
        key_id: str = DEFAULT_KEY_ID,
        _randbytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._keys = keys
        self._key_id = check_key_id(key_id)
        self._randbytes = _randbytes
        self._lock = threading.RLock()

    # -- the provider protocol ------------------------------------------------

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        if len(dek) != DEK_LEN:
            raise ValueError(f"a document key is {DEK_LEN} bytes")
        with self._lock:
            version, kv = self._primary(self._key_id)
            aead = kv.aead()
        nonce = self._randbytes(_NONCE_LEN)
        sealed = aead.encrypt(nonce, dek, wrap_ad(self.kind, self._key_id, version, ad.digest))
        return WrappedKey(
            kind=self.kind, key_id=self._key_id, version=version, payload=nonce + sealed
        )

    def handles(self, wrapped: WrappedKey) -> bool:
        if wrapped.kind != self.kind:
            return False
        with self._lock:
            return wrapped.key_id in self._keys

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        if wrapped.kind != self.kind:
            raise NotMineError(f"a {wrapped.kind} key, not a {self.kind} one")
        name, version = wrapped.key_id, wrapped.version
        with self._lock:
            named = self._keys.get(name)
            if named is None:
                raise NotMineError(f"no key {name!r} in this keyring")
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
            return aead.decrypt(nonce, body, wrap_ad(self.kind, name, version, ad.digest))
        except InvalidTag:
            raise NotMineError(
                "the wrapped key does not open under this keyring's key "
                "(another keyring, or altered)"
            ) from None

    def current_key(self) -> KeyRef:
        """The key version ``wrap`` uses now (for ``is_current`` and rewrap)."""
        with self._lock:
            version, _ = self._primary(self._key_id)
        return KeyRef(self.kind, self._key_id, version)

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

    def key(self: _K, key_id: str) -> _K:
        """A provider for another key of this keyring (per customer, per tenant).

        It shares this keyring's keys, lock and file: a change made through
        either is seen by both.
        """
        check_key_id(key_id)
        with self._lock:
            if key_id not in self._keys:
                raise KeyError(f"this keyring has no key {key_id!r}; add_key() makes one")
        bound = copy.copy(self)
        bound._key_id = key_id
        return bound

    def add_key(self: _K, key_id: str) -> _K:
        """Create key ``key_id`` at version 1 and return a provider bound to it."""
        check_key_id(key_id)

        def change(keys: dict[str, NamedKey]) -> None:
            if key_id in keys:
                raise ValueError(f"this keyring already has a key {key_id!r}")
            keys[key_id] = new_named_key(_now(), self._randbytes)

        self._change(change)
        record("key.add", "ok", kind=self.kind, key_id=key_id, version=1)
        return self.key(key_id)

    # -- lifecycle ---------------------------------------------------------------

    def rotate(self, key_id: str | None = None) -> int:
        """Add a new version of the key and make it primary; return its number.

        Older versions keep opening the documents wrapped under them until
        they are disabled or destroyed. Version numbers are never reused.
        """
        name = self._name(key_id)

        def change(keys: dict[str, NamedKey]) -> int:
            named = _named(keys, name)
            version = max(named.versions) + 1
            if version > MAX_VERSION:
                raise ValueError("this key has used every version number")
            versions = dict(named.versions)
            versions[version] = KeyVersion(secret=self._randbytes(KEK_LEN), created=_now())
            keys[name] = NamedKey(primary=version, versions=versions)
            return version

        version = self._change(change)
        record("key.rotate", "ok", kind=self.kind, key_id=name, version=version)
        return version

    def disable(self, version: int, key_id: str | None = None) -> None:
        """Stop a version from opening anything, until :meth:`enable`. Not the primary."""
        self._set_state(version, key_id, DISABLED)

    def enable(self, version: int, key_id: str | None = None) -> None:
        """Let a disabled version open documents again."""
        self._set_state(version, key_id, ENABLED)

    def _set_state(self, version: int, key_id: str | None, state: str) -> None:
        name = self._name(key_id)
        check_version(version)

        def change(keys: dict[str, NamedKey]) -> None:
            named = _named(keys, name)
            kv = _version(named, name, version)
            if kv.state == DESTROYED:
                raise ValueError(f"key {name!r} version {version} was destroyed; it cannot return")
            if state == DISABLED and version == named.primary:
                raise ValueError(
                    f"version {version} is the primary of key {name!r}: rotate first, "
                    "so that new documents are not sealed under a disabled key"
                )
            _replace(keys, name, version, attrs.evolve(kv, state=state))

        self._change(change)
        operation = "key.disable" if state == DISABLED else "key.enable"
        record(operation, "ok", kind=self.kind, key_id=name, version=version)

    def destroy(self, version: int, key_id: str | None = None, *, confirm: bool = False) -> None:
        """Erase a version's key material for good (crypto-shredding).

        Every document wrapped only under this version becomes unreadable, on
        purpose. Destroying the primary or the last enabled version of a key
        needs ``confirm=True``: find the documents that depend on it first
        (rewrap them, or accept their loss).
        """
        name = self._name(key_id)
        check_version(version)

        def change(keys: dict[str, NamedKey]) -> None:
            named = _named(keys, name)
            kv = _version(named, name, version)
            if kv.state == DESTROYED:
                raise ValueError(f"key {name!r} version {version} was already destroyed")
            others = [
                v for v, other in named.versions.items() if v != version and other.state == ENABLED
            ]
            if (version == named.primary or not others) and not confirm:
                raise ValueError(
                    f"version {version} is the primary or the last enabled version of key "
                    f"{name!r}; documents wrapped only under it will be lost. "
                    "Pass confirm=True to destroy it anyway."
                )
            versions = dict(named.versions)
            versions[version] = KeyVersion(secret=b"", state=DESTROYED, created=kv.created)
            primary = None if version == named.primary else named.primary
            keys[name] = NamedKey(primary=primary, versions=versions)

        self._change(change)
        record("key.destroy", "ok", kind=self.kind, key_id=name, version=version)

    def _name(self, key_id: str | None) -> str:
        return self._key_id if key_id is None else check_key_id(key_id)

    def _change(self, change: Callable[[dict[str, NamedKey]], _T]) -> _T:
        """Apply ``change`` to a copy, persist the copy, then make it current.

        If persisting fails (a full disk, a crash), the keyring in memory and
        on disk both stay as they were.
        """
        with self._lock:
            draft = {
                name: NamedKey(named.primary, dict(named.versions))
                for name, named in self._keys.items()
            }
            result = change(draft)
            self._persist(draft)
            self._keys.clear()
            self._keys.update(draft)
        return result

    def _persist(self, keys: dict[str, NamedKey]) -> None:
        """Store the whole key set; the memory keyring has nowhere to store it."""

    # -- introspection ----------------------------------------------------------

    @property
    def key_id(self) -> str:
        """The key this provider wraps under."""
        return self._key_id

    def key_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._keys)

    def versions(self, key_id: str | None = None) -> dict[int, str]:
        """Version number to state (enabled, disabled, destroyed); no key material."""
        name = self._name(key_id)
        with self._lock:
            return {v: kv.state for v, kv in sorted(_named(self._keys, name).versions.items())}

    def primary_version(self, key_id: str | None = None) -> int | None:
        """The version ``wrap`` uses; None once the primary was destroyed."""
        name = self._name(key_id)
        with self._lock:
            return _named(self._keys, name).primary


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_named_key(created: str, randbytes: Callable[[int], bytes] = os.urandom) -> NamedKey:
    return NamedKey(primary=1, versions={1: KeyVersion(secret=randbytes(KEK_LEN), created=created)})


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError("a key version is an int")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError("key versions run from 1 to 2**32-1")
    return version
