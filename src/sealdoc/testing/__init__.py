"""Conformance tests for key-provider authors (run with pytest).

Subclass :class:`KeyProviderTests` in your test suite and implement
``make_provider`` (a provider ready to wrap and unwrap) and
``make_foreign_provider`` (a provider of the same kind holding *other*
keys), as fsspec ships abstract tests for file-system authors::

    from sealdoc.testing import KeyProviderTests

    class TestMyKms(KeyProviderTests):
        def make_provider(self):
            return MyKms(key="arn:...:key/a")

        def make_foreign_provider(self):
            return MyKms(key="arn:...:key/b")

Besides the three methods every provider has, the suite checks each
optional Protocol the provider claims (``sealdoc/_provider_api.py``,
docs/architecture.md "Adding a key provider"): ``VersionedKey``,
``KeyFamily``, ``UnwrapBudget``, ``BudgetKey`` and ``HasKind``, found by the very checks
sealdoc itself uses. A check for a Protocol the provider does not claim has
nothing to test and passes; set ``capabilities`` to the set of Protocols
you mean to claim, and a misspelt ``current_key`` fails instead of passing
quietly.

Every built-in provider passes these tests in sealdoc's own suite.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pytest

from .. import _format as fmt
from .._envelope import open as open_document
from .._envelope import seal as seal_document
from .._format import KeyRef, WrappedKey
from .._provider_api import (
    AssociatedData,
    BudgetKey,
    HasKind,
    KeyFamily,
    KeyProvider,
    UnwrapBudget,
    VersionedKey,
    is_provider,
    kind_of,
    powers,
    unwrap_budget,
)
from ..exceptions import DecryptionError, NotMineError, SealdocError

__all__ = ["KeyProviderTests"]

# The per-key default of an open for a provider without UnwrapBudget (format.md 9.1).
_DEFAULT_UNWRAPS_PER_KEY = 2


def _claimed_capabilities(provider: object) -> frozenset[type]:
    """The optional Protocols ``provider`` claims, as sealdoc's own checks see them."""
    found = powers(provider)
    claimed: set[type] = set()
    if found.versioned is not None:
        claimed.add(VersionedKey)
    if found.family is not None:
        claimed.add(KeyFamily)
    if unwrap_budget(provider) is not None:
        claimed.add(UnwrapBudget)
    if isinstance(provider, BudgetKey):
        claimed.add(BudgetKey)
    if isinstance(provider, HasKind):
        claimed.add(HasKind)
    return frozenset(claimed)


def _ad(context: dict[str, str] | None = None) -> AssociatedData:
    return AssociatedData(digest=os.urandom(32), context=context or {"tenant": "conformance"})


class KeyProviderTests:
    """The behaviour sealdoc relies on from every key provider."""

    #: Threads used by the concurrency test.
    threads = 8
    #: Wrap/unwrap round trips per thread.
    rounds = 25
    #: The optional Protocols the provider should claim (e.g. ``{VersionedKey,
    #: HasKind}``); None: whatever it claims is checked, nothing more.
    capabilities: ClassVar[frozenset[type] | set[type] | None] = None

    def make_provider(self) -> KeyProvider:
        raise NotImplementedError("return the provider under test")

    def make_foreign_provider(self) -> KeyProvider:
        raise NotImplementedError("return a provider of the same kind with other keys")

    def test_wrap_unwrap_round_trip(self) -> None:
        provider = self.make_provider()
        dek, ad = os.urandom(32), _ad()
        wrapped = provider.wrap(dek, ad)
        assert isinstance(wrapped, WrappedKey)
        fmt.check_wrapped_key(wrapped)  # fits the format's limits
        assert provider.handles(wrapped)
        assert provider.unwrap(wrapped, ad) == dek

    def test_every_wrap_is_fresh_or_deterministic_but_always_opens(self) -> None:
        provider = self.make_provider()
        ad = _ad()
        deks = [os.urandom(32) for _ in range(3)]
        wraps = [provider.wrap(dek, ad) for dek in deks]
        assert len({w.payload for w in wraps}) == 3
        assert [provider.unwrap(w, ad) for w in wraps] == deks

    def test_wrong_associated_data_is_rejected(self) -> None:
        provider = self.make_provider()
        dek = os.urandom(32)
        wrapped = provider.wrap(dek, _ad())
        with pytest.raises((NotMineError, DecryptionError)):
            provider.unwrap(wrapped, _ad())  # another document's header digest

    def test_a_tampered_payload_is_rejected(self) -> None:
        provider = self.make_provider()
        ad = _ad()
        wrapped = provider.wrap(os.urandom(32), ad)
        for i in (0, len(wrapped.payload) // 2, len(wrapped.payload) - 1):
            payload = bytearray(wrapped.payload)
            payload[i] ^= 0x01
            altered = WrappedKey(wrapped.kind, wrapped.key_id, wrapped.version, bytes(payload))
            with pytest.raises((NotMineError, DecryptionError)):
                provider.unwrap(altered, ad)

    def test_a_foreign_wrapped_key_is_not_mine(self) -> None:
        provider, foreign = self.make_provider(), self.make_foreign_provider()
        ad = _ad()
        wrapped = foreign.wrap(os.urandom(32), ad)
        if provider.handles(wrapped):  # same kind and name: unwrap must say "not mine"
            with pytest.raises(NotMineError):
                provider.unwrap(wrapped, ad)
        other_kind = WrappedKey("zz-not-a-kind", wrapped.key_id, wrapped.version, wrapped.payload)
        assert not provider.handles(other_kind)

    def test_seal_and_open_through_sealdoc(self) -> None:
        provider, foreign = self.make_provider(), self.make_foreign_provider()
        sealed = seal_document(b"conformance", keys=provider, context={"doc": "1"})
        assert open_document(sealed, keys=provider, context={"doc": "1"}) == b"conformance"
        with pytest.raises(DecryptionError):
            open_document(sealed, keys=foreign)

    def test_claims_the_declared_capabilities(self) -> None:
        provider = self.make_provider()
        assert is_provider(provider), "wrap, unwrap and handles must be methods"
        assert isinstance(provider, KeyProvider)
        if self.capabilities is not None:
            expected = {c.__name__ for c in self.capabilities}
            claimed = {c.__name__ for c in _claimed_capabilities(provider)}
            assert claimed == expected, f"claims {sorted(claimed)}, declared {sorted(expected)}"

    def test_versioned_key_names_what_wrap_uses(self) -> None:
        """VersionedKey: ``current_key()`` is the (kind, key id, version) of a new wrap."""
        provider = self.make_provider()
        versioned = powers(provider).versioned
        if versioned is None:
            return  # not claimed: rewrap re-makes every wrap of this provider
        current = versioned.current_key()
        assert isinstance(current, KeyRef)
        wrapped = provider.wrap(os.urandom(32), _ad())
        assert current == KeyRef(wrapped.kind, wrapped.key_id, wrapped.version)
        assert versioned.current_key() == current

    def test_key_family_serves_each_wrap_by_its_key_id(self) -> None:
        """KeyFamily: ``provider_for(wrapped)`` unwraps that wrap and is at its current version;
        it is None for a wrap of another kind, and a wrap of other keys is not its own."""
        provider = self.make_provider()
        family = powers(provider).family
        if family is None:
            return  # not claimed: a wrap is served by handles() alone
        dek, ad = os.urandom(32), _ad()
        wrapped = provider.wrap(dek, ad)
        bound = family.provider_for(wrapped)
        assert bound is not None, "provider_for(wrapped) is None for a wrap it just made"
        assert is_provider(bound)
        assert bound.handles(wrapped)
        assert bound.unwrap(wrapped, ad) == dek
        if powers(provider).versioned is not None:
            versioned = powers(bound).versioned
            assert versioned is not None, "the bound provider cannot say its current key"
            assert versioned.current_key() == KeyRef(wrapped.kind, wrapped.key_id, wrapped.version)
        other_kind = WrappedKey("zz-not-a-kind", wrapped.key_id, wrapped.version, wrapped.payload)
        assert family.provider_for(other_kind) is None
        foreign = self.make_foreign_provider().wrap(dek, ad)
        stranger = family.provider_for(foreign)
        if stranger is not None:  # same kind and key id: it must still refuse the wrap
            with pytest.raises(NotMineError):
                stranger.unwrap(foreign, ad)

    def test_has_kind_names_the_kind_of_its_wraps(self) -> None:
        """HasKind: ``kind`` is the ``kind`` field of every wrap the provider makes."""
        provider = self.make_provider()
        if not isinstance(provider, HasKind):
            return  # not claimed: audit events name the class instead
        wrapped = provider.wrap(os.urandom(32), _ad())
        assert isinstance(provider.kind, str)
        assert provider.kind == wrapped.kind
        assert kind_of(provider) == wrapped.kind

    def test_unwrap_budget_lets_its_own_document_open(self) -> None:
        """UnwrapBudget: an int of at least 1, and a document the provider sealed with
        that many of its wraps (or two, the default per key) still opens."""
        provider = self.make_provider()
        declared = unwrap_budget(provider)  # TypeError for a budget that is not an int >= 0
        if declared is not None:
            assert declared >= 1, "a budget of 0 opens nothing"
        budget = _DEFAULT_UNWRAPS_PER_KEY if declared is None else declared
        copies = min(budget, fmt.MAX_KEYS)
        sealed = seal_document(b"budget", keys=[provider] * copies)
        assert open_document(sealed, keys=provider) == b"budget"

    def test_budget_key_is_one_key_whatever_the_version(self) -> None:
        """BudgetKey: a str naming the key of a wrap it made, the same for any version
        (format.md 9.1: versions of one key share its two tries)."""
        provider = self.make_provider()
        if not isinstance(provider, BudgetKey):
            return  # not claimed: tries count by kind and key id
        wrapped = provider.wrap(os.urandom(32), _ad())
        name = provider.budget_key(wrapped)
        assert isinstance(name, str)
        for version in (0, wrapped.version + 1, 2**32 - 1):
            other = WrappedKey(wrapped.kind, wrapped.key_id, version, wrapped.payload)
            assert provider.budget_key(other) == name

    def test_safe_under_concurrent_use(self) -> None:
        provider = self.make_provider()
        barrier = threading.Barrier(self.threads)

        def work(_: int) -> int:
            barrier.wait()
            done = 0
            for _ in range(self.rounds):
                dek, ad = os.urandom(32), _ad()
                if provider.unwrap(provider.wrap(dek, ad), ad) == dek:
                    done += 1
            return done

        with ThreadPoolExecutor(self.threads) as pool:
            assert sum(pool.map(work, range(self.threads))) == self.threads * self.rounds

    def test_no_secret_in_repr_or_errors(self) -> None:
        provider = self.make_provider()
        dek, ad = os.urandom(32), _ad()
        wrapped = provider.wrap(dek, ad)
        texts = [repr(provider), str(provider), repr(wrapped)]
        try:
            provider.unwrap(wrapped, _ad())
        except SealdocError as exc:
            texts += [str(exc), repr(exc)]
        blob = "\n".join(texts)
        for form in (dek.hex(), dek.hex().upper(), repr(dek)):
            assert form not in blob
