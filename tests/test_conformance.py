"""The built-in providers pass the conformance suite shipped for provider authors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sealdoc import KeyRef, LocalKeyring, MemoryKeyring, WrappedKey
from sealdoc.exceptions import NotMineError
from sealdoc.providers import (
    AssociatedData,
    BudgetKey,
    HasKind,
    HybridIdentity,
    KeyFamily,
    KeyProvider,
    Password,
    UnwrapBudget,
    VersionedKey,
    X25519Identity,
)
from sealdoc.testing import KeyProviderTests

KEYRING = frozenset({VersionedKey, KeyFamily, BudgetKey, HasKind})
BUDGETED = frozenset({VersionedKey, UnwrapBudget, HasKind})


class TestMemoryKeyring(KeyProviderTests):
    capabilities = KEYRING

    def make_provider(self) -> KeyProvider:
        return MemoryKeyring()

    def make_foreign_provider(self) -> KeyProvider:
        return MemoryKeyring()


class TestMemoryKeyringAfterRotation(KeyProviderTests):
    capabilities = KEYRING

    def make_provider(self) -> KeyProvider:
        ring = MemoryKeyring()
        ring.rotate()
        ring.rotate()
        return ring

    def make_foreign_provider(self) -> KeyProvider:
        return MemoryKeyring()


class TestPerCustomerKey(KeyProviderTests):
    capabilities = KEYRING

    def make_provider(self) -> KeyProvider:
        return MemoryKeyring().add_key("customer-1029")

    def make_foreign_provider(self) -> KeyProvider:
        return MemoryKeyring().add_key("customer-1029")


class TestLocalKeyring(KeyProviderTests):
    capabilities = KEYRING

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def _ring(self, name: str) -> LocalKeyring:
        return LocalKeyring.create(
            self.folder / name, passphrase="conformance pass", opslimit=1, memlimit=8 << 20
        )

    def make_provider(self) -> KeyProvider:
        return self._ring("ring.json")

    def make_foreign_provider(self) -> KeyProvider:
        return self._ring("other.json")


class TestPassword(KeyProviderTests):
    capabilities = BUDGETED
    # Argon2id at the lowest cost an opener accepts (19 MiB, 2 passes): the
    # suite runs hundreds of KDFs, and the behaviour does not depend on cost.
    rounds = 3

    def make_provider(self) -> KeyProvider:
        return Password("conformance password one", memory_kib=19 * 1024, iterations=2)

    def make_foreign_provider(self) -> KeyProvider:
        return Password("conformance password two", memory_kib=19 * 1024, iterations=2)


class TestBrowserPassword(KeyProviderTests):
    capabilities = BUDGETED
    rounds = 3

    def make_provider(self) -> KeyProvider:
        return Password("conformance password one", kdf="pbkdf2-sha256")

    def make_foreign_provider(self) -> KeyProvider:
        return Password("conformance password two", kdf="pbkdf2-sha256")


class TestX25519Identity(KeyProviderTests):
    capabilities = BUDGETED

    def make_provider(self) -> KeyProvider:
        return X25519Identity.generate()

    def make_foreign_provider(self) -> KeyProvider:
        return X25519Identity.generate()


class TestHybridIdentity(KeyProviderTests):
    capabilities = BUDGETED

    def make_provider(self) -> KeyProvider:
        return HybridIdentity.generate()

    def make_foreign_provider(self) -> KeyProvider:
        return HybridIdentity.generate()


def test_the_suite_fails_a_provider_that_ignores_associated_data() -> None:
    """The suite can fail: a provider that does not bind the header digest is caught."""
    from sealdoc import WrappedKey

    class Careless:
        kind = "careless"

        def wrap(self, dek: bytes, ad: object) -> WrappedKey:
            return WrappedKey("careless", "k", 1, bytes(b ^ 0x5A for b in dek))

        def unwrap(self, wrapped: WrappedKey, ad: object) -> bytes:
            if wrapped.kind != "careless":
                raise NotMineError("not mine")
            return bytes(b ^ 0x5A for b in wrapped.payload)

        def handles(self, wrapped: WrappedKey) -> bool:
            return wrapped.kind == "careless"

    class TestCareless(KeyProviderTests):
        def make_provider(self) -> KeyProvider:
            return Careless()

        def make_foreign_provider(self) -> KeyProvider:
            return Careless()

    with pytest.raises(pytest.fail.Exception):
        TestCareless().test_wrong_associated_data_is_rejected()


# -- each check of an optional Protocol can fail ------------------------------------------


def _suite_for(provider: Callable[[], object], claims: frozenset[type] | None = None) -> Any:
    class Planted(KeyProviderTests):
        capabilities = claims

        def make_provider(self) -> KeyProvider:
            return provider()  # type: ignore[return-value]

        def make_foreign_provider(self) -> KeyProvider:
            return MemoryKeyring()

    return Planted()


class _LyingVersion(MemoryKeyring):
    def current_key(self) -> KeyRef:
        ref = super().current_key()
        return KeyRef(ref.kind, ref.key_id, ref.version + 1)


class _FamilyThatLosesItsWraps(MemoryKeyring):
    def provider_for(self, wrapped: WrappedKey) -> Any:
        return None


class _FamilyBoundElsewhere(MemoryKeyring):
    def provider_for(self, wrapped: WrappedKey) -> Any:
        return MemoryKeyring()  # another keyring: it cannot unwrap the wrap


class _FamilyBoundAtAnOldVersion(MemoryKeyring):
    def provider_for(self, wrapped: WrappedKey) -> Any:
        bound: Any = super().provider_for(wrapped)
        if bound is not None:
            bound.__class__ = _LyingVersion  # its current_key() names the wrong version
        return bound


class _Renamed:
    """Wraps as a memory keyring but says it is of another kind."""

    kind = "renamed"

    def __init__(self) -> None:
        self._inner = MemoryKeyring()

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return self._inner.wrap(dek, ad)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        return self._inner.unwrap(wrapped, ad)

    def handles(self, wrapped: WrappedKey) -> bool:
        return self._inner.handles(wrapped)


class _NoBudget(MemoryKeyring):
    max_unwraps_per_document = 0


class _TextBudget(MemoryKeyring):
    max_unwraps_per_document = "4"


class _Misspelt(_Renamed):
    kind = "memory"

    def curent_key(self) -> KeyRef:  # a typo: VersionedKey is not claimed
        return self._inner.current_key()


VERSIONED = "test_versioned_key_names_what_wrap_uses"
FAMILY = "test_key_family_serves_each_wrap_by_its_key_id"
KIND = "test_has_kind_names_the_kind_of_its_wraps"
BUDGET = "test_unwrap_budget_lets_its_own_document_open"
CLAIMS = "test_claims_the_declared_capabilities"


@pytest.mark.parametrize(
    ("provider", "claims", "check", "error"),
    [
        (_LyingVersion, None, VERSIONED, AssertionError),
        (_FamilyThatLosesItsWraps, None, FAMILY, AssertionError),
        (_FamilyBoundElsewhere, None, FAMILY, AssertionError),
        (_FamilyBoundAtAnOldVersion, None, FAMILY, AssertionError),
        (_Renamed, None, KIND, AssertionError),
        (_NoBudget, None, BUDGET, AssertionError),
        (_TextBudget, None, BUDGET, TypeError),
        (_Misspelt, KEYRING, CLAIMS, AssertionError),
    ],
)
def test_each_capability_check_fails_a_provider_that_breaks_it(
    provider: Callable[[], object],
    claims: frozenset[type] | None,
    check: str,
    error: type[Exception],
) -> None:
    suite = _suite_for(provider, claims)
    with pytest.raises(error):
        getattr(suite, check)()


@pytest.mark.parametrize("check", [VERSIONED, FAMILY, KIND, BUDGET, CLAIMS])
def test_the_same_checks_pass_the_provider_the_planted_ones_break(check: str) -> None:
    # The failures above come from the planted fault, not from the check itself.
    getattr(_suite_for(MemoryKeyring, KEYRING), check)()
