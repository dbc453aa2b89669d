"""The device wraps' shared HPKE steps (format.md 8.3, 8.6): one Seal, one checked Open."""

from __future__ import annotations

from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.hpke import Suite

from .._format import DEK_LEN, KeyRef, WrappedKey
from .._wrap_ad import wrap_ad
from ..exceptions import NotMineError
from ._base import AssociatedData


def seal_wrap(
    suite: Suite, public_key: Any, dek: bytes, ad: AssociatedData, *, kind: str, label: str
) -> WrappedKey:
    """HPKE single-shot Seal of the DEK with ``wrap_ad`` as ``info`` (version 1)."""
    if len(dek) != DEK_LEN:
        raise ValueError(f"a document key is {DEK_LEN} bytes")
    info = wrap_ad(kind, label, 1, ad.digest)
    return WrappedKey(kind, label, 1, suite.encrypt(dek, public_key, info=info))


def open_wrap(
    suite: Suite,
    private_key: Any,
    wrapped: WrappedKey,
    ad: AssociatedData,
    *,
    kind: str,
    payload_len: int,
    named: str,
) -> bytes:
    """The DEK, or NotMineError; the kind, version and length are checked first, unread.

    ``named`` is how messages name the kind ("an X25519", "a hybrid").
    """
    if wrapped.kind != kind:
        raise NotMineError(f"a {wrapped.kind} key, not {named} one")
    if wrapped.version != 1:
        raise NotMineError(
            f"refused: unknown {named.split(' ', 1)[1]} wrap version {wrapped.version}"
        )
    if len(wrapped.payload) != payload_len:
        raise NotMineError(f"refused: {named} wrap has the wrong length")
    info = wrap_ad(kind, wrapped.key_id, wrapped.version, ad.digest)
    try:
        return suite.decrypt(wrapped.payload, private_key, info=info)
    except (InvalidTag, ValueError):
        raise NotMineError("sealed for another device, or altered") from None


class DeviceRecipient:
    """What a device's public key is as a key provider: it seals for the device, opens nothing.

    Subclasses set ``kind``, ``_suite`` and ``_opener`` (the identity class
    that opens), keep ``_public`` and ``_label``, and give ``recipient``.
    """

    kind: ClassVar[str]
    _suite: ClassVar[Suite]
    _opener: ClassVar[str]
    _public: Any
    _label: str

    @property
    def recipient(self) -> str:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.recipient == self.recipient

    def __hash__(self) -> int:
        return hash(self.recipient)

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return seal_wrap(self._suite, self._public, dek, ad, kind=self.kind, label=self._label)

    def handles(self, wrapped: WrappedKey) -> bool:
        return False  # a public key opens nothing

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise NotMineError(f"a recipient holds only a public key; open with its {self._opener}")

    def current_key(self) -> KeyRef:
        return KeyRef(self.kind, self._label, 1)

    def __dask_tokenize__(self) -> tuple[str, ...]:
        """Dask's token: kind, label and the public key (public by design)."""
        return (self.kind, self._label, self.recipient)
