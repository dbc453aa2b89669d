"""Versioned AES-256 KEKs held in memory; shared by MemoryKeyring and LocalKeyring."""

from __future__ import annotations

import functools
import os
import struct
import threading
from collections.abc import Callable

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._format import DEK_LEN, MAX_KEY_ID_LEN, MAX_VERSION, WrappedKey
from ..exceptions import NotMineError
from ._base import AssociatedData

KEK_LEN = 32
_NONCE_LEN = 12
_WRAP_LABEL = b"sealdoc-v1-wrap"
DEFAULT_KEY_ID = "default"

ENABLED = "enabled"


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
    primary: int
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
    if not 1 <= len(key_id.encode("utf-8")) <= MAX_KEY_ID_LEN:
        raise ValueError(f"key_id must be 1 to {MAX_KEY_ID_LEN} UTF-8 bytes")
    return key_id


class KeyringBase:
    """Wrap under the primary version of a named key; unwrap under any held version.

    Subclasses set ``kind`` and decide where the keys live.
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
            named = self._keys.get(self._key_id)
            if named is None:
                raise KeyError(f"this keyring has no key {self._key_id!r}")
            version = named.primary
            aead = named.versions[version].aead()
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
        with self._lock:
            named = self._keys.get(wrapped.key_id)
            if named is None:
                raise NotMineError(f"no key {wrapped.key_id!r} in this keyring")
            kv = named.versions.get(wrapped.version)
            if kv is None:
                raise NotMineError(
                    f"key {wrapped.key_id!r} has no version {wrapped.version} in this keyring"
                )
            aead = kv.aead()
        if len(wrapped.payload) != _NONCE_LEN + DEK_LEN + 16:
            raise NotMineError("wrapped key payload has the wrong length")
        nonce, body = wrapped.payload[:_NONCE_LEN], wrapped.payload[_NONCE_LEN:]
        try:
            return aead.decrypt(
                nonce, body, wrap_ad(self.kind, wrapped.key_id, wrapped.version, ad.digest)
            )
        except InvalidTag:
            raise NotMineError(
                "the wrapped key does not open under this keyring's key "
                "(another keyring, or altered)"
            ) from None

    # -- introspection ----------------------------------------------------------

    @property
    def key_id(self) -> str:
        """The key this provider wraps under."""
        return self._key_id

    def key_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._keys)

    def versions(self, key_id: str = DEFAULT_KEY_ID) -> dict[int, str]:
        """Version number to state (``enabled``) for one key; no key material."""
        with self._lock:
            named = self._keys.get(key_id)
            if named is None:
                raise KeyError(f"this keyring has no key {key_id!r}")
            return {v: kv.state for v, kv in sorted(named.versions.items())}

    def primary_version(self, key_id: str = DEFAULT_KEY_ID) -> int:
        with self._lock:
            named = self._keys.get(key_id)
            if named is None:
                raise KeyError(f"this keyring has no key {key_id!r}")
            return named.primary


def new_named_key(created: str, randbytes: Callable[[int], bytes] = os.urandom) -> NamedKey:
    return NamedKey(primary=1, versions={1: KeyVersion(secret=randbytes(KEK_LEN), created=created)})


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError("a key version is an int")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError("key versions run from 1 to 2**32-1")
    return version
