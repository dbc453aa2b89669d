"""The built-in providers pass the conformance suite shipped for provider authors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealdoc import LocalKeyring, MemoryKeyring
from sealdoc.providers import KeyProvider, Password, X25519Identity
from sealdoc.testing import KeyProviderTests


class TestMemoryKeyring(KeyProviderTests):
    def make_provider(self) -> KeyProvider:
        return MemoryKeyring()

    def make_foreign_provider(self) -> KeyProvider:
        return MemoryKeyring()


class TestMemoryKeyringAfterRotation(KeyProviderTests):
    def make_provider(self) -> KeyProvider:
        ring = MemoryKeyring()
        ring.rotate()
        ring.rotate()
        return ring

    def make_foreign_provider(self) -> KeyProvider:
        return MemoryKeyring()


class TestPerCustomerKey(KeyProviderTests):
    def make_provider(self) -> KeyProvider:
        return MemoryKeyring().add_key("customer-1029")

    def make_foreign_provider(self) -> KeyProvider:
        return MemoryKeyring().add_key("customer-1029")


class TestLocalKeyring(KeyProviderTests):
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
    # Argon2id at the lowest cost an opener accepts (19 MiB, 2 passes): the
    # suite runs hundreds of KDFs, and the behaviour does not depend on cost.
    rounds = 3

    def make_provider(self) -> KeyProvider:
        return Password("conformance password one", memory_kib=19 * 1024, iterations=2)

    def make_foreign_provider(self) -> KeyProvider:
        return Password("conformance password two", memory_kib=19 * 1024, iterations=2)


class TestBrowserPassword(KeyProviderTests):
    rounds = 3

    def make_provider(self) -> KeyProvider:
        return Password("conformance password one", kdf="pbkdf2-sha256")

    def make_foreign_provider(self) -> KeyProvider:
        return Password("conformance password two", kdf="pbkdf2-sha256")


class TestX25519Identity(KeyProviderTests):
    def make_provider(self) -> KeyProvider:
        return X25519Identity.generate()

    def make_foreign_provider(self) -> KeyProvider:
        return X25519Identity.generate()


def test_the_suite_fails_a_provider_that_ignores_associated_data() -> None:
    """The suite can fail: a provider that does not bind the header digest is caught."""
    from sealdoc import WrappedKey
    from sealdoc.exceptions import NotMineError

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
