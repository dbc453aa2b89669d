"""SubjectKey: the key provider a KeyStore gives for one subject (a KeyFamily)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NoReturn

from cryptography.exceptions import InvalidTag

from .._format import DEK_LEN, KeyRef, WrappedKey
from .._provider_api import AssociatedData
from .._wrap_ad import wrap_ad
from ..exceptions import KeyProviderError, NotMineError
from ._model import KIND, label, subject_of

if TYPE_CHECKING:
    from ._store import KeyStore

_NONCE_LEN = 12
_PAYLOAD_LEN = _NONCE_LEN + DEK_LEN + 16


class SubjectKey:
    """Wrap under a subject's primary version; unwrap under any enabled one.

    Made by :meth:`KeyStore.key`; cheap (no database call until used). A
    wrap names kind ``keystore``, key id ``<subject>@<store id>`` and the
    version, and is AES-256-GCM under the subject key, bound as format.md
    8.1 says. The subject's key is made on first use.
    """

    kind = KIND

    def __init__(self, store: KeyStore, subject: str) -> None:
        self._store = store
        self.subject = subject
        self.key_id = label(subject, store.store_id)

    def __repr__(self) -> str:
        return f"SubjectKey(subject={self.subject!r}, store={self._store.store_id!r})"

    def __reduce__(self) -> NoReturn:
        self._store.__reduce__()

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        if len(dek) != DEK_LEN:
            raise ValueError(f"a document key is {DEK_LEN} bytes")
        version, aead = self._store._primary_cipher(self.subject)
        nonce = os.urandom(_NONCE_LEN)
        sealed = aead.encrypt(nonce, dek, wrap_ad(KIND, self.key_id, version, ad.digest))
        return WrappedKey(kind=KIND, key_id=self.key_id, version=version, payload=nonce + sealed)

    def handles(self, wrapped: WrappedKey) -> bool:
        return self._store.handles(wrapped)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        return self._store.unwrap(wrapped, ad)

    def current_key(self) -> KeyRef:
        """The version ``wrap`` uses now (made on first use, as a wrap would)."""
        version, _ = self._store._primary_cipher(self.subject)
        return KeyRef(KIND, self.key_id, version)

    def provider_for(self, wrapped: WrappedKey) -> SubjectKey | None:
        return self._store.provider_for(wrapped)

    def key(self, subject: str) -> SubjectKey:
        """Another subject of the same store."""
        return self._store.key(subject)


def open_wrap(store_id: str, aead: object, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
    """The DEK of one of this store's wraps, under the subject key ``aead``."""
    if len(wrapped.payload) != _PAYLOAD_LEN:
        raise NotMineError("wrapped key payload has the wrong length")
    nonce, body = wrapped.payload[:_NONCE_LEN], wrapped.payload[_NONCE_LEN:]
    try:
        return aead.decrypt(  # type: ignore[attr-defined, no-any-return]
            nonce, body, wrap_ad(KIND, wrapped.key_id, wrapped.version, ad.digest)
        )
    except InvalidTag:
        raise NotMineError(
            f"the wrapped key does not open under subject {subject_of(wrapped.key_id, store_id)!r}"
            " (another document, or altered)"
        ) from None


def no_primary(subject: str, why: str) -> KeyProviderError:
    return KeyProviderError(f"subject {subject!r} has no key to seal under: {why}")
