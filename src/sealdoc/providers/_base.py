"""The key-provider protocol (docs/architecture.md, "Adding a key provider").

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

Optional powers are declared as small protocols of their own, below:
:class:`VersionedKey` (``current_key()``: the version ``wrap`` uses now) and
:class:`KeyFamily` (``provider_for(wrapped)``: a provider bound to a wrap's
own key id, for a keyring holding several keys).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

from .._format import KeyRef, WrappedKey


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


# -- optional powers: wrap identity (rekey) ---------------------------------------------
#
# A provider may have more abilities than the three methods above. It
# declares them by implementing these small protocols; sealdoc checks for
# them in one place (``sealdoc._owners.serving``), never by probing
# attributes here and there.


@runtime_checkable
class VersionedKey(Protocol):
    """A provider that can say which key version its ``wrap`` uses now.

    ``rewrap`` and ``is_current`` compare a wrap's version with it: a wrap
    is up to date when it is at its key id's current version.
    """

    def current_key(self) -> KeyRef:
        """The (kind, key id, version) that ``wrap`` would write now."""
        ...


@runtime_checkable
class KeyFamily(Protocol):
    """A provider that holds several key ids (a keyring: per customer, escrow...).

    ``rewrap`` and ``rotate`` keep each wrap under its own key id: they ask
    the family for a provider bound to that wrap's key id, rather than
    re-wrapping under the family's own key.
    """

    def provider_for(self, wrapped: WrappedKey) -> KeyProvider | None:
        """A provider bound to ``wrapped``'s key id, or None if it is not one of ours."""
        ...


def instance_token(provider: object) -> str:
    """A random name for one provider object that has no location of its own.

    Dask tokens (``__dask_tokenize__``) must be the same every time for one
    object and differ between objects that hold different keys. An in-memory
    keyring or a password has neither a file nor a key id that tells it from
    another such object, and its secret must never go into a token: so it is
    named by a nonce made on first use. ``id()`` would not do: a later object
    can reuse it.
    """
    nonce: str = vars(provider).setdefault("_dask_nonce", secrets.token_hex(16))
    return nonce
