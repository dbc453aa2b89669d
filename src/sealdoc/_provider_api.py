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
:class:`BudgetKey`, :class:`CostlyUnwrap`, :class:`HasKind` and
:class:`KnowsDestroyed`. sealdoc looks for them only through the check
functions at the end of this file, never by probing attributes elsewhere.

The module sits below the envelope and beside the format: it imports only
``_format``, so that the envelope, the key-URI resolver and the bulk jobs
reach the contract without running ``sealdoc/providers/__init__.py`` (which
imports every provider, one of which calls the envelope back).
``sealdoc.providers`` re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, cast, runtime_checkable

import attrs

from ._format import KeyRef, WrappedKey

__all__ = [
    "AssociatedData",
    "BudgetKey",
    "CostlyUnwrap",
    "HasKind",
    "KeyFamily",
    "KeyProvider",
    "KeySelector",
    "KnowsDestroyed",
    "Powers",
    "UnwrapBudget",
    "VersionedKey",
    "budget_key",
    "check_costs",
    "destroyed_here",
    "is_provider",
    "kind_of",
    "powers",
    "unwrap_budget",
    "with_key",
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
class KeySelector(Protocol):
    """A provider that can give a provider for another of its keys, by name.

    A keyring (``ring.key("C-1007")``) and a KeyStore (``store.key(subject)``)
    do: ``Vault.put(..., key="C-1007")`` seals under that key of the vault's
    first provider.
    """

    def key(self, key_id: str) -> KeyProvider:
        """A provider bound to key ``key_id`` (a name, or a full key id)."""
        ...


@runtime_checkable
class UnwrapBudget(Protocol):
    """A provider that says how many wraps of one document it tries (format.md 9.1).

    Optional. An unwrap may cost a KMS request or a password KDF, and a
    crafted document can hold 32 wraps that all name one key. By default a
    provider tries at most two wraps of one key per document, whatever
    version they claim (the key is the wrap's kind and key id, or what
    :class:`BudgetKey` says); one that declares ``max_unwraps_per_document`` tries at
    most that many wraps of a document in all, whatever they name. Declare
    it when the default does not fit: ``Password`` (4: each try is a KDF,
    and every password wrap carries the same label) and ``X25519Identity``
    (32: every device wrap carries the same label, and a try is cheap).
    """

    max_unwraps_per_document: int


@runtime_checkable
class BudgetKey(Protocol):
    """A provider that says which of its keys a wrap it handles would spend a try on.

    Optional. The default two tries per key count by the wrap's kind and key
    id; a provider that accepts one key under several names (a KMS
    multi-region key's replicas in other regions' ARNs, a keyring's plain
    and ``name@ring-id`` forms) names the key itself here, so that a crafted
    document cannot buy more tries by spelling one key many ways
    (format.md 9.1). Called only for wraps ``handles`` accepted; it must
    not make a remote call.
    """

    def budget_key(self, wrapped: WrappedKey) -> str:
        """The provider's own name for the key ``wrapped`` is under."""
        ...


@runtime_checkable
class CostlyUnwrap(Protocol):
    """A provider whose unwraps cost work the document chooses (a password's KDF).

    Optional. Before any provider tries any wrap, the opener shows each such
    provider the document's wraps; ``check_cost`` raises
    :class:`~sealdoc.exceptions.KdfBudgetError` when trying the ones it
    would try costs more than its budget (format.md 8.2), so a crafted
    upload fails fast instead of after seconds of KDF work. It must do no
    costly work itself.
    """

    def check_cost(self, wrapped_keys: Sequence[WrappedKey]) -> None:
        """Raise if trying ``wrapped_keys`` (a document's, in header order) is over budget."""
        ...


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


_BUDGET_KEY_TYPES: dict[type, bool] = {}


def budget_key(provider: object, wrapped: WrappedKey) -> tuple[str, str]:
    """Which key of ``provider``'s a try on ``wrapped`` counts against (format.md 9.1).

    The version is left out on purpose: versions of one key are one key to
    whoever pays for the tries (one KMS key, one HSM key object family).
    """
    kind = type(provider)
    declared = _BUDGET_KEY_TYPES.get(kind)
    if declared is None:
        declared = _BUDGET_KEY_TYPES[kind] = isinstance(provider, BudgetKey)
    if declared:
        return (wrapped.kind, cast(BudgetKey, provider).budget_key(wrapped))
    return (wrapped.kind, wrapped.key_id)


_COSTLY_TYPES: dict[type, bool] = {}


def check_costs(providers: Sequence[object], wrapped_keys: Sequence[WrappedKey]) -> None:
    """Let every :class:`CostlyUnwrap` provider refuse the document before any unwrap runs."""
    for provider in providers:
        kind = type(provider)
        costly = _COSTLY_TYPES.get(kind)
        if costly is None:
            costly = _COSTLY_TYPES[kind] = isinstance(provider, CostlyUnwrap)
        if costly:
            cast(CostlyUnwrap, provider).check_cost(wrapped_keys)


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


def with_key(providers: Sequence[KeyProvider], key_id: str) -> list[KeyProvider]:
    """The providers a seal under ``key_id`` uses: the first one's ``key_id``, the rest as given.

    The first provider is the vault's own (a keyring, a KeyStore); the others
    are escrow or recipients that wrap every document as configured.
    """
    if not isinstance(key_id, str):
        raise TypeError(f"key must be a str (a key id or subject), not {type(key_id).__name__}")
    if not providers or not isinstance(providers[0], KeySelector):
        first = type(providers[0]).__name__ if providers else "none"
        raise TypeError(
            f"key= names a key of the vault's first provider, which must hold named keys "
            f"(a keyring or a KeyStore), not {first}"
        )
    return [providers[0].key(key_id), *providers[1:]]


_TOMBSTONES: dict[type, bool] = {}


def destroyed_here(provider: object, wrapped: WrappedKey) -> bool:
    """Whether ``provider`` (a :class:`KnowsDestroyed`) says ``wrapped``'s version was destroyed."""
    kind = type(provider)
    knows = _TOMBSTONES.get(kind)
    if knows is None:
        knows = _TOMBSTONES[kind] = isinstance(provider, KnowsDestroyed)
    return knows and cast(KnowsDestroyed, provider).destroyed(wrapped)
