"""Pkcs11 against a real SoftHSM2 token."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import sealdoc
from sealdoc import KeyProviderError
from sealdoc.exceptions import NotMineError
from sealdoc.providers import AssociatedData, KeyProvider, Pkcs11
from sealdoc.providers._pkcs11 import KWP_SOFTHSM
from sealdoc.testing import KeyProviderTests

from .hsm import MODULE, PIN, new_token


def make(token: str, key: str | None = None, **options: object) -> Pkcs11:
    key = key or f"kek-{uuid.uuid4().hex[:8]}"
    if "no_create" not in options:
        mechanism = str(options.get("mechanism", "aes-gcm"))
        Pkcs11.create_key(
            module_path=MODULE, token_label=token, key_label=key, pin=PIN, mechanism=mechanism
        )
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


def test_a_kwp_wrap_moved_to_another_document_does_not_open(softhsm: Path) -> None:
    provider = make(new_token(), mechanism="aes-kwp")
    a = sealdoc.seal(b"A", keys=provider)
    b = sealdoc.seal(b"B", keys=provider)
    a_len, b_len = sealdoc.inspect(a).header_length, sealdoc.inspect(b).header_length
    core_end = 9 + 2 + 1 + 4 + 32 + 7 + 32 + 2
    spliced = b[:core_end] + a[core_end:a_len] + b[b_len:]
    # refused by the provider itself (the wrap is bound), before commitment and MAC
    with pytest.raises(sealdoc.DecryptionError, match="belongs to another document"):
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


# -- key hygiene on a real token (issues 12.6, 13.9) --------------------------------------


@contextmanager
def raw_session(token: str) -> Iterator[Any]:
    """A python-pkcs11 session of this process, as an HSM team's own tooling would use."""
    import pkcs11

    from sealdoc.providers._pkcs11 import _module
    from sealdoc.providers._pkcs11_token import _logged_in_session

    lib, lock = _module(MODULE)
    with lock, _logged_in_session(pkcs11, lib.get_token(token_label=token), PIN) as session:
        yield session


def key_attributes(token: str, label: str) -> dict[str, object]:
    import pkcs11
    from pkcs11 import Attribute

    names = ("ENCRYPT", "DECRYPT", "WRAP", "UNWRAP", "SIGN", "DERIVE", "EXTRACTABLE", "SENSITIVE")
    with raw_session(token) as session:
        (key,) = list(session.get_objects({Attribute.LABEL: label}))
        found: dict[str, object] = {name: key[getattr(Attribute, name)] for name in names}
        found["ALLOWED_MECHANISMS"] = key[Attribute.ALLOWED_MECHANISMS]
        found["has_id"] = bool(key[Attribute.ID])
        del pkcs11
    return found


def test_create_key_twice_is_refused(softhsm: Path) -> None:
    token, key = new_token(), f"kek-{uuid.uuid4().hex[:8]}"
    Pkcs11.create_key(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    with pytest.raises(KeyProviderError, match=rf"already has key '{key}' \({key}\.v1\)"):
        Pkcs11.create_key(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    provider = Pkcs11(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    assert provider.versions() == [1]  # still one key: seal and open keep working
    assert sealdoc.open(sealdoc.seal(b"x", keys=provider), keys=provider) == b"x"


def test_two_keys_under_one_label_are_refused_with_the_fix(softhsm: Path) -> None:
    from pkcs11 import KeyType

    token, key = new_token(), f"dup-{uuid.uuid4().hex[:8]}"
    provider = make(token, key)
    doc = sealdoc.seal(b"sealed before the duplicate", keys=provider)
    with raw_session(token) as session:  # what a second create_key did before
        session.generate_key(KeyType.AES, 256, label=f"{key}.v1", store=True)
    with pytest.raises(KeyProviderError) as info:
        Pkcs11(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    message = str(info.value)
    assert f"'{key}.v1'" in message
    assert f"pkcs11-tool --module {MODULE} --login --delete-object --type secrkey --id" in message
    assert PIN not in message
    with pytest.raises(KeyProviderError, match="more than one key for one version"):
        provider.refresh()
    # the fix the message gives: delete the key that has sealed nothing
    with raw_session(token) as session:
        from pkcs11 import Attribute

        for candidate in session.get_objects({Attribute.LABEL: f"{key}.v1"}):
            if not candidate[Attribute.ID]:  # the one made by hand has no CKA_ID
                candidate.destroy()
    fixed = Pkcs11(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    assert sealdoc.open(doc, keys=fixed) == b"sealed before the duplicate"


@pytest.mark.parametrize(
    ("mechanism", "expected"),
    [
        ("aes-gcm", {"ENCRYPT": True, "DECRYPT": True, "WRAP": False, "UNWRAP": False}),
        ("aes-kwp", {"ENCRYPT": False, "DECRYPT": False, "WRAP": True, "UNWRAP": True}),
    ],
)
def test_created_keys_have_only_the_attributes_their_mode_needs(
    softhsm: Path, mechanism: str, expected: dict[str, bool]
) -> None:
    from pkcs11 import Mechanism

    token, key = new_token(), f"least-{uuid.uuid4().hex[:8]}"
    provider = make(token, key, mechanism=mechanism)
    provider.rotate()
    allowed = [int(Mechanism.AES_GCM)] if mechanism == "aes-gcm" else [KWP_SOFTHSM]
    for label in (f"{key}.v1", f"{key}.v2"):
        found = key_attributes(token, label)
        assert {name: found[name] for name in expected} == expected
        assert (found["SIGN"], found["DERIVE"]) == (False, False)
        assert (found["EXTRACTABLE"], found["SENSITIVE"]) == (False, True)
        assert found["ALLOWED_MECHANISMS"] == allowed
        assert found["has_id"]
    assert sealdoc.open(sealdoc.seal(b"x", keys=provider), keys=provider) == b"x"


def test_a_key_made_for_one_mode_says_so_in_the_other(softhsm: Path) -> None:
    token, key = new_token(), f"mode-{uuid.uuid4().hex[:8]}"
    make(token, key)  # aes-gcm
    kwp = Pkcs11(module_path=MODULE, token_label=token, key_label=key, pin=PIN, mechanism="aes-kwp")
    with pytest.raises(KeyProviderError, match="does not permit aes-kwp"):
        sealdoc.seal(b"x", keys=kwp)


def test_an_unversioned_label_is_version_1(softhsm: Path) -> None:
    from pkcs11 import Attribute, KeyType

    token, key = new_token(), f"hsmteam-{uuid.uuid4().hex[:8]}"
    with raw_session(token) as session:  # the HSM team's key, labelled without a version
        session.generate_key(
            KeyType.AES,
            256,
            label=key,
            store=True,
            template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
        )
    provider = Pkcs11(module_path=MODULE, token_label=token, key_label=key, pin=PIN)
    assert provider.versions() == [1]
    doc = sealdoc.seal(b"statement", keys=provider)
    assert [w.version for w in sealdoc.inspect(doc).wrapped_keys] == [1]
    assert provider.rotate() == 2
    assert provider.versions() == [1, 2]
    assert key_attributes(token, f"{key}.v2")["ENCRYPT"] is True
    assert sealdoc.open(doc, keys=provider) == b"statement"
    with pytest.raises(KeyProviderError, match="already has key"):
        Pkcs11.create_key(module_path=MODULE, token_label=token, key_label=key, pin=PIN)


def test_kwp_wraps_made_before_binding_still_open(softhsm: Path) -> None:
    """Payload 2 (RFC 5649 over the DEK alone) stays readable."""
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

    provider = make(new_token(), mechanism="aes-kwp")
    ad = AssociatedData(digest=bytes(32))
    dek = bytes(range(32))
    with provider._session() as session:
        kek = provider._key(session, 1)
        temp = session.create_object(
            {
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.AES,
                Attribute.VALUE: dek,
                Attribute.TOKEN: False,
                Attribute.EXTRACTABLE: True,
                Attribute.SENSITIVE: False,
            }
        )
        old = bytes([2]) + bytes(kek.wrap_key(temp, mechanism=Mechanism(KWP_SOFTHSM)))
        temp.destroy()
    legacy = sealdoc.WrappedKey("pkcs11", provider.key_id, 1, old)
    assert provider.unwrap(legacy, ad) == dek
    new = provider.wrap(dek, ad)
    assert new.payload[0] == 3
    assert len(new.payload) == 1 + 72
    with pytest.raises(NotMineError, match="another document"):
        provider.unwrap(new, AssociatedData(digest=bytes(range(32))))
