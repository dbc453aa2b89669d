"""The device wraps' shared HPKE steps (format.md 8.3, 8.6): one Seal, one checked Open."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.hpke import Suite

from .._format import DEK_LEN, WrappedKey
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
