"""The key-provider contract: what sealdoc asks of a provider (docs/architecture.md).

This one file is what a provider author reads ("Adding a key provider").
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
:class:`VersionedKey`, :class:`KeyFamily`, :class:`UnwrapBudget`,
:class:`HasKind` and :class:`KnowsDestroyed`. sealdoc looks for them only
through the check functions at the end of this file, never by probing attributes elsewhere.

The module sits below the envelope and beside the format: it imports only
``_format``, so that the envelope, the key-URI resolver and the bulk jobs
reach the contract without running ``sealdoc/providers/__init__.py`` (which
imports every provider, one of which calls the envelope back).
``sealdoc.providers`` re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, cast, runtime_checkable

import attrs

from ._format import KeyRef, WrappedKey

__all__ = [
    "AssociatedData",
    "HasKind",
    "KeyFamily",
    "KeyProvider",
    "KnowsDestroyed",
    "Powers",
    "UnwrapBudget",
    "VersionedKey",
    "destroyed_here",
    "is_provider",
    "kind_of",
    "powers",
    "unwrap_budget",
]


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


# -- optional powers ---------------------------------------------------------------------
#
# A provider may have more abilities than the three methods above. It
# declares them by implementing these small protocols; sealdoc checks for
# them in one place (the functions at the end of this file).


@runtime_checkable
class VersionedKey(Protocol):
    """A provider that can say which key version its ``wrap`` uses now.

    ``rewrap`` and ``is_current`` compare a wrap's version with it: a wrap
    is up to date when it is at its key id's current version. Without it,
    no wrap of the provider's is ever current, and rewrap re-makes them all.
    """

    def current_key(self) -> KeyRef:
        """The (kind, key id, version) that ``wrap`` would write now."""
        ...


@runtime_checkable
class KeyFamily(Protocol):
    """A provider that holds several key ids (a keyring: per customer, escrow...).

    ``rewrap`` and ``rotate`` keep each wrap under its own key id: they ask
    the family for a provider bound to that wrap's key id, rather than
    re-wrapping under the family's own key. The provider returned unwraps
    that wrap, and its ``current_key()`` (if it is a :class:`VersionedKey`)
    is that key id's current version.
    """

    def provider_for(self, wrapped: WrappedKey) -> KeyProvider | None:
        """A provider bound to ``wrapped``'s key id, or None if it is not one of ours."""
        ...


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
class HasKind(Protocol):
    """A provider that names its kind: the ``kind`` field of the wraps it makes.

    Optional. sealdoc uses it to label audit events of a wrap that failed
    (before any :class:`~sealdoc.WrappedKey` exists to say it); a provider
    without it is labelled by its class name.
    """

    kind: str


@runtime_checkable
class KnowsDestroyed(Protocol):
    """A provider that keeps a tombstone of each key version it destroyed.

    Optional. A document whose every wrap is under a destroyed version was
    shredded on purpose: bulk jobs and ``inventory`` count it as
    ``shredded``, not as a failure, and name the key versions. Without it a
    provider's wraps are never taken as shredded.
    """

    def destroyed(self, wrapped: WrappedKey) -> bool:
        """True only if ``wrapped``'s key version was destroyed here (not merely disabled)."""
        ...


# -- the one place the powers are checked ------------------------------------------------
#
# Each check is cached per type where it can be: a runtime_checkable
# isinstance() costs 4-30 us on Python 3.11, as much as sealing 1 KiB, and a
# provider's methods are its class's.

_PROVIDER_TYPES: set[type] = set()
_PROVIDER_METHODS = ("wrap", "unwrap", "handles")


def is_provider(obj: object) -> bool:
    """Whether ``obj`` has the three methods of :class:`KeyProvider`."""
    kind = type(obj)
    if kind in _PROVIDER_TYPES:
        return True
    if all(callable(getattr(obj, name, None)) for name in _PROVIDER_METHODS):
        _PROVIDER_TYPES.add(kind)
        return True
    return False


def kind_of(provider: object) -> str:
    """The kind a provider declares (:class:`HasKind`), else its class name (for audit lines)."""
    return provider.kind if isinstance(provider, HasKind) else type(provider).__name__


def unwrap_budget(provider: object) -> int | None:
    """A provider's declared per-document budget (:class:`UnwrapBudget`), or None.

    None means the per-key default. For a Protocol whose only member is
    data, ``isinstance(provider, UnwrapBudget)`` is exactly "has the
    attribute"; the getattr below says the same in 50 ns instead of the
    10 us a runtime Protocol check costs, paid on every open.
    """
    budget = getattr(provider, "max_unwraps_per_document", None)
    if budget is None:
        return None
    if isinstance(budget, int) and not isinstance(budget, bool) and budget >= 0:
        return budget
    raise TypeError(f"{provider!r}.max_unwraps_per_document must be an int >= 0")


@attrs.frozen
class Powers:
    """The method-shaped optional powers a provider declares."""

    family: KeyFamily | None
    versioned: VersionedKey | None


_POWERS: dict[type, tuple[bool, bool]] = {}


def powers(provider: object) -> Powers:
    """Whether ``provider`` is a :class:`KeyFamily` and a :class:`VersionedKey`."""
    kind = type(provider)
    found = _POWERS.get(kind)
    if found is None:
        found = (isinstance(provider, KeyFamily), isinstance(provider, VersionedKey))
        _POWERS[kind] = found
    return Powers(
        family=cast(KeyFamily, provider) if found[0] else None,
        versioned=cast(VersionedKey, provider) if found[1] else None,
    )


_TOMBSTONES: dict[type, bool] = {}


def destroyed_here(provider: object, wrapped: WrappedKey) -> bool:
    """Whether ``provider`` (a :class:`KnowsDestroyed`) says ``wrapped``'s version was destroyed."""
    kind = type(provider)
    knows = _TOMBSTONES.get(kind)
    if knows is None:
        knows = _TOMBSTONES[kind] = isinstance(provider, KnowsDestroyed)
    return knows and cast(KnowsDestroyed, provider).destroyed(wrapped)
