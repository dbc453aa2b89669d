"""Key URIs and the sealdoc.key_providers entry-point group."""

from __future__ import annotations

import sys
from pathlib import Path

import fsspec
import pytest

import sealdoc
from sealdoc import KeyUriError, LocalKeyring, MemoryKeyring

PASS = "uri pass phrase"


@pytest.fixture
def keyring_file(tmp_path: Path) -> Path:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    ring.add_key("tenant-7")
    return path


def test_local_uri_with_a_passphrase(keyring_file: Path) -> None:
    ring = sealdoc.key_from_uri(f"local://{keyring_file}", passphrase=PASS)
    assert isinstance(ring, LocalKeyring)
    assert ring.key_id == "default"
    tenant = sealdoc.key_from_uri(f"local://{keyring_file}#tenant-7", passphrase=PASS)
    assert tenant.current_key().key_id == f"tenant-7@{ring.ring_id}"  # type: ignore[attr-defined]
    assert sealdoc.open(sealdoc.seal(b"x", keys=tenant), keys=ring.key("tenant-7")) == b"x"


def test_local_uri_with_the_passphrase_in_the_environment(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_RING_PASS", PASS)
    ring = sealdoc.key_from_uri(f"local://{keyring_file}", passphrase_env="MY_RING_PASS")
    assert isinstance(ring, LocalKeyring)
    monkeypatch.delenv("SEALDOC_PASSPHRASE", raising=False)
    with pytest.raises(KeyUriError, match="SEALDOC_PASSPHRASE"):
        sealdoc.key_from_uri(f"local://{keyring_file}")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("local://relative/ring.json", "local:///absolute"),
        ("local:///ring.json?passphrase=x", "takes no query"),
        ("not a uri", "not a key URI"),
        ("gcp-kms://projects/p/keys/k", "no key provider for the scheme 'gcp-kms'"),
        ("pkcs11:token=docs;object=kek?pin-value=1234", "needs token=, object= and"),
    ],
)
def test_bad_uris_say_what_to_do(uri: str, message: str) -> None:
    with pytest.raises(KeyUriError, match=message) as info:
        sealdoc.key_from_uri(uri, passphrase=PASS)
    assert "1234" not in str(info.value)  # query parameters are never echoed
    assert isinstance(info.value, ValueError)


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # as if 'sealdoc[aws]' and 'sealdoc[pkcs11]' were not installed
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setitem(sys.modules, "pkcs11", None)
    with pytest.raises(KeyUriError, match=r"pip install 'sealdoc\[aws\]'"):
        sealdoc.key_from_uri("aws-kms://arn:aws:kms:eu-west-1:111122223333:key/abc")
    with pytest.raises(KeyUriError, match=r"pip install 'sealdoc\[pkcs11\]'"):
        sealdoc.key_from_uri("pkcs11:token=docs;object=kek?module-path=/usr/lib/x.so&pin-value=1")


def test_a_wrong_passphrase_is_a_keyring_error(keyring_file: Path) -> None:
    with pytest.raises(sealdoc.KeyringError, match="wrong passphrase"):
        sealdoc.key_from_uri(f"local://{keyring_file}", passphrase="not the one")


def test_a_third_party_scheme_registers_by_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package installs a provider for its scheme without sealdoc changing."""
    (tmp_path / "acme_vault_transit.py").write_text(
        "import sealdoc\n"
        "RINGS = {}\n"
        "def from_uri(uri, **options):\n"
        "    return RINGS.setdefault(uri, sealdoc.MemoryKeyring())\n"
    )
    dist = tmp_path / "acme_vault_transit-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-vault-transit\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[sealdoc.key_providers]\nvault-transit = acme_vault_transit:from_uri\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    provider = sealdoc.key_from_uri("vault-transit://transit/keys/docs")
    assert isinstance(provider, MemoryKeyring)
    assert sealdoc.key_from_uri("vault-transit://transit/keys/docs") is provider
    sys.modules.pop("acme_vault_transit", None)


def test_a_uri_as_keys_for_the_vault_and_the_protocol(
    keyring_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEALDOC_PASSPHRASE", PASS)
    uri = f"local://{keyring_file}"
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=uri)
    vault.put("doc", b"by uri")
    assert vault.get("doc") == b"by uri"
    with fsspec.open(f"sealdoc::file://{tmp_path}/x.bin", "wb", sealdoc={"keys": uri}) as f:
        f.write(b"chained")
    with fsspec.open(f"sealdoc::file://{tmp_path}/x.bin", "rb", sealdoc={"keys": [uri]}) as f:
        assert f.read() == b"chained"


def test_wrong_types() -> None:
    with pytest.raises(TypeError, match="a key URI is a str"):
        sealdoc.key_from_uri(42)  # type: ignore[arg-type]
