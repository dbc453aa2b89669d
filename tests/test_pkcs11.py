"""Pkcs11 against a real SoftHSM2 token."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import sealdoc
from sealdoc import KeyProviderError
from sealdoc.exceptions import NotMineError
from sealdoc.providers import AssociatedData, KeyProvider, Pkcs11
from sealdoc.testing import KeyProviderTests

from .errors import fails_with
from .hsm import MODULE, PIN, new_token


def make(token: str, key: str | None = None, **options: object) -> Pkcs11:
    key = key or f"kek-{uuid.uuid4().hex[:8]}"
    if "no_create" not in options:
        Pkcs11.create_key(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    options.pop("no_create", None)
    return Pkcs11(module_path=MODULE, token_label=token, key_label=key, pin=PIN, **options)  # type: ignore[arg-type]


class TestPkcs11Gcm(KeyProviderTests):
    rounds = 10

    @pytest.fixture(autouse=True)
    def _token(self, softhsm: Path) -> None:
        self.token = new_token()

    def make_provider(self) -> KeyProvider:
        return make(self.token)

    def make_foreign_provider(self) -> KeyProvider:
        return make(new_token())


class TestPkcs11KeyWrapWithPadding(KeyProviderTests):
    rounds = 10

    @pytest.fixture(autouse=True)
    def _token(self, softhsm: Path) -> None:
        self.token = new_token()

    def make_provider(self) -> KeyProvider:
        return make(self.token, mechanism="aes-kwp")

    def make_foreign_provider(self) -> KeyProvider:
        return make(new_token(), mechanism="aes-kwp")

    def test_wrong_associated_data_is_rejected(self) -> None:
        """RFC 5649 key wrap takes no associated data, so the wrap itself is not
        bound to the document; sealdoc's key commitment is what rejects a
        wrapped key moved to another document (test below)."""
        provider = self.make_provider()
        ad = AssociatedData(digest=bytes(32))
        wrapped = provider.wrap(bytes(range(32)), ad)
        assert provider.unwrap(wrapped, AssociatedData(digest=bytes(range(32)))) == bytes(range(32))


def test_a_kwp_wrap_moved_to_another_document_does_not_open(softhsm: Path) -> None:
    provider = make(new_token(), mechanism="aes-kwp")
    a = sealdoc.seal(b"A", keys=provider)
    b = sealdoc.seal(b"B", keys=provider)
    a_len, b_len = sealdoc.inspect(a).header_length, sealdoc.inspect(b).header_length
    core_end = 9 + 2 + 1 + 4 + 32 + 7 + 32 + 2
    spliced = b[:core_end] + a[core_end:a_len] + b[b_len:]
    with fails_with(sealdoc.DecryptionError, r"commitment|altered|authentication"):
        sealdoc.open(spliced, keys=provider)


def test_versions_follow_labels_and_rotate_like_a_keyring(softhsm: Path) -> None:
    provider = make(new_token())
    doc = sealdoc.seal(b"statement", keys=provider)
    assert provider.versions() == [1]
    assert provider.rotate() == 2
    assert not sealdoc.is_current(doc, keys=provider)
    new = sealdoc.rewrap(doc, keys=provider)
    assert [w.version for w in sealdoc.inspect(new).wrapped_keys] == [2]
    assert sealdoc.open(doc, keys=provider) == sealdoc.open(new, keys=provider) == b"statement"


def test_a_missing_token_or_key_names_what_to_check(softhsm: Path) -> None:
    with pytest.raises(KeyProviderError, match=r"no PKCS#11 token labelled 'nosuch'"):
        Pkcs11(module_path=MODULE, token_label="nosuch", key_label="k", pin=PIN)
    token = new_token()
    with pytest.raises(KeyProviderError, match="no key 'absent'"):
        Pkcs11(module_path=MODULE, token_label=token, key_label="absent", pin=PIN)
    with pytest.raises(KeyProviderError, match="cannot load the PKCS#11 module"):
        Pkcs11(module_path="/nonexistent/libnothing.so", token_label=token, key_label="k", pin=PIN)
    provider = make(token)
    wrapped = provider.wrap(bytes(32), AssociatedData(digest=bytes(32)))
    gone = sealdoc.WrappedKey(wrapped.kind, wrapped.key_id, 9, wrapped.payload)
    with pytest.raises(NotMineError, match=r"no key .* version 9"):
        provider.unwrap(gone, AssociatedData(digest=bytes(32)))


def test_pins_from_a_file_and_the_environment(
    softhsm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = new_token()
    key = "kek-pin"
    Pkcs11.create_key(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    by_file = Pkcs11(module_path=MODULE, token_label=token, key_label=key, pin_file=pin_file)
    monkeypatch.setenv("SEALDOC_PKCS11_PIN", PIN)
    by_env = Pkcs11(module_path=MODULE, token_label=token, key_label=key)
    doc = sealdoc.seal(b"x", keys=by_file)
    assert sealdoc.open(doc, keys=by_env) == b"x"
    monkeypatch.delenv("SEALDOC_PKCS11_PIN")
    with pytest.raises(KeyProviderError, match="no PIN"):
        Pkcs11(module_path=MODULE, token_label=token, key_label=key)
    assert PIN not in repr(by_file)


WRONG_PIN = """
import sys, sealdoc
from sealdoc.providers import Pkcs11
try:
    Pkcs11(module_path=sys.argv[1], token_label=sys.argv[2], key_label="k", pin="0000")
except sealdoc.KeyProviderError as exc:
    print(type(exc).__name__, exc)
"""


def test_a_wrong_pin_is_refused_in_a_fresh_process(softhsm: Path) -> None:
    """Login state is per process: a wrong PIN is only checked by a fresh one."""
    token = new_token()
    result = subprocess.run(
        [sys.executable, "-c", WRONG_PIN, MODULE, token],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.startswith("KeyProviderError the PIN for PKCS#11 token")
    assert "0000" not in result.stdout


def test_pkcs11_uris(softhsm: Path, tmp_path: Path) -> None:
    token = new_token()
    Pkcs11.create_key(module_path=MODULE, token_label=token, key_label="kek", pin=PIN)
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN)
    by_value = sealdoc.key_from_uri(
        f"pkcs11:token={token};object=kek?module-path={MODULE}&pin-value={PIN}"
    )
    by_source = sealdoc.key_from_uri(
        f"pkcs11:token={token};object=kek?module-path={MODULE}&pin-source=file:{pin_file}"
    )
    doc = sealdoc.seal(b"x", keys=by_value)
    assert sealdoc.open(doc, keys=by_source) == b"x"
    with pytest.raises(sealdoc.KeyUriError, match=r"needs token=, object="):
        sealdoc.key_from_uri(f"pkcs11:token={token}?pin-value={PIN}")
