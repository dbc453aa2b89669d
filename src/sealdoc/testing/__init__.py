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

Every built-in provider passes these tests in sealdoc's own suite.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from .. import _format as fmt
from .._envelope import open as open_document
from .._envelope import seal as seal_document
from .._format import KeyRef, WrappedKey
from .._provider_api import AssociatedData, HasKind, KeyProvider, UnwrapBudget
from ..exceptions import DecryptionError, NotMineError, SealdocError

__all__ = ["KeyProviderTests"]


def _ad(context: dict[str, str] | None = None) -> AssociatedData:
    return AssociatedData(digest=os.urandom(32), context=context or {"tenant": "conformance"})


class KeyProviderTests:
    """The behaviour sealdoc relies on from every key provider."""

    #: Threads used by the concurrency test.
    threads = 8
    #: Wrap/unwrap round trips per thread.
    rounds = 25

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

    def test_current_key_matches_what_wrap_uses(self) -> None:
        provider = self.make_provider()
        current = getattr(provider, "current_key", None)
        if current is None:
            pytest.skip("this provider does not report a current key (optional)")
        wrapped = provider.wrap(os.urandom(32), _ad())
        assert current() == KeyRef(wrapped.kind, wrapped.key_id, wrapped.version)

    def test_declared_capabilities_hold(self) -> None:
        """``kind`` (HasKind) is the kind its wraps carry; ``max_unwraps_per_document``
        (UnwrapBudget) is an int of at least 1, and a document the provider sealed
        with that many of its wraps (or two, the default per key) still opens."""
        provider = self.make_provider()
        wrapped = provider.wrap(os.urandom(32), _ad())
        if isinstance(provider, HasKind):
            assert provider.kind == wrapped.kind
        budget = 2
        if isinstance(provider, UnwrapBudget):
            budget = provider.max_unwraps_per_document
            assert isinstance(budget, int)
            assert not isinstance(budget, bool)
            assert budget >= 1
        copies = min(budget, fmt.MAX_KEYS)
        sealed = seal_document(b"budget", keys=[provider] * copies)
        assert open_document(sealed, keys=provider) == b"budget"

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
