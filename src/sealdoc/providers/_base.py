"""The key-provider protocol (DESIGN.md, "Key providers").

A provider wraps a document key for one document and unwraps it again. It
is a plain object passed to ``seal``/``open``; nothing is registered
globally. Like age's Recipient and Identity, the surface is small:

* ``wrap(dek, ad)`` returns a :class:`~sealdoc.WrappedKey`;
* ``unwrap(wrapped, ad)`` returns the DEK, or raises
  :class:`~sealdoc.exceptions.NotMineError` ("not mine: try the next
  provider"), or :class:`~sealdoc.exceptions.KeyProviderError` when the
  provider itself failed;
* ``handles(wrapped)`` says, from public fields alone, whether ``unwrap`` is
  worth trying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

from .._format import WrappedKey


@attrs.frozen
class AssociatedData:
    """What a wrap is bound to: this document's header, context and binding.

    ``digest`` is the SHA-256 header digest (format.md 3.5), covering the
    header core and the binding. A provider must authenticate it with the
    wrapped key (as AEAD associated data, or inside a KMS encryption
    context), so that a wrapped key moved to another document fails.
    ``context`` and ``binding`` are given for providers that pass them on
    (a KMS encryption context, an audit log).
    """

    digest: bytes = attrs.field(repr=lambda d: d.hex()[:16] + "...")
    context: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    binding: Mapping[str, str] = attrs.field(factory=dict, hash=False, repr=lambda _: "<hidden>")


@runtime_checkable
class HasKind(Protocol):
    """A provider that names its kind: the ``kind`` field of the wraps it makes.

    Optional. sealdoc uses it to label audit events of a wrap that failed
    (before any :class:`~sealdoc.WrappedKey` exists to say it); a provider
    without it is labelled by its class name.
    """

    kind: str


@runtime_checkable
class UnwrapBudget(Protocol):
    """A provider that says how many wraps of one document it tries (format.md 9.1).

    Optional. An unwrap may cost a KMS request or a password KDF, and a
    crafted document can hold 32 wraps that all name one key. By default a
    provider tries at most two wraps naming one kind, key id and version
    per document; one that declares ``max_unwraps_per_document`` tries at
    most that many wraps of a document in all, whatever they name. Declare
    it when the default does not fit: ``Password`` (4: each try is a KDF,
    and every password wrap carries the same label) and ``X25519Identity``
    (32: every device wrap carries the same label, and a try is cheap).
    """

    max_unwraps_per_document: int


@runtime_checkable
class KeyProvider(Protocol):
    """What ``seal``, ``open`` and the other verbs need of a key provider.

    Implementations must keep secrets out of ``repr()`` and of every
    exception they raise, and be safe to call from several threads.
    """

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        """Wrap ``dek`` (32 bytes) for the document described by ``ad``."""
        ...

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        """Return the DEK, or raise NotMineError / KeyProviderError."""
        ...

    def handles(self, wrapped: WrappedKey) -> bool:
        """Whether this provider may be able to unwrap ``wrapped`` (public fields only)."""
        ...
