"""Every provider has a deterministic Dask token made of public facts only.

Dask names graph layers by tokens of their arguments, ``storage_options``
included: a provider that cannot be tokenized deterministically stops
``dask.dataframe.read_parquet("sealdoc::...", storage_options=...)``. A token
must never be built from key bytes, a passphrase, a password or a PIN (task
keys are shown on dashboards and in logs).
"""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import dask
import pytest
from dask.base import tokenize

import sealdoc
from sealdoc import LocalKeyring, MemoryKeyring
from sealdoc.providers import AwsKms, KeyProvider, Password, Pkcs11, X25519Identity

from .hsm import MODULE, PIN, new_token

PASS = "token pass phrase"
PASSWORD = "correct horse battery staple, tokenized"


def deterministic(obj: object) -> str:
    with dask.config.set({"tokenize.ensure-deterministic": True}):
        token = tokenize(obj)
        assert tokenize(obj) == token
        return token


def test_local_keyrings_tokens_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    ring.add_key("other")
    token = deterministic(ring)
    # another object for the same file and key: the same token (and across processes)
    assert deterministic(LocalKeyring.load(path, passphrase=PASS)) == token
    assert deterministic(ring.key("other")) != token
    elsewhere = LocalKeyring.create(
        tmp_path / "b.json", passphrase=PASS, opslimit=1, memlimit=8 << 20
    )
    assert deterministic(elsewhere) != token
    assert ring.__dask_tokenize__() == ("local", "default", str(path))


def test_in_memory_providers_are_told_apart_without_their_secrets() -> None:
    a, b = MemoryKeyring(), MemoryKeyring()
    assert deterministic(a) != deterministic(b)  # same kind and key id, other keys
    p, q = Password(PASSWORD), Password(PASSWORD + "!")
    assert deterministic(p) != deterministic(q)
    for provider in (a, p):
        parts = provider.__dask_tokenize__()
        assert PASSWORD not in "".join(parts)
    # a Password pickles with its secret (it is a plain object); its token does
    # not depend on it, so a copy keeps its token
    assert deterministic(pickle.loads(pickle.dumps(p))) == deterministic(p)


def test_x25519_tokens_are_the_public_key() -> None:
    device = X25519Identity.generate()
    recipient = device.to_recipient()
    copy = pickle.loads(pickle.dumps(recipient))  # a public key travels to workers as it is
    assert (copy, copy.__dask_tokenize__()) == (recipient, recipient.__dask_tokenize__())
    assert sealdoc.open(sealdoc.seal(b"x", keys=copy), keys=device) == b"x"
    assert device.__dask_tokenize__() == ("x25519", "device", device.recipient)
    assert deterministic(recipient) == deterministic(device.to_recipient())
    assert deterministic(X25519Identity.generate()) != deterministic(device)


def test_aws_kms_tokens_name_the_key_and_where_it_lives(moto_endpoint: str) -> None:
    key = f"alias/tok-{uuid.uuid4().hex[:8]}"
    kms = AwsKms(key, region="us-east-1", endpoint_url=moto_endpoint)
    assert kms.__dask_tokenize__() == ("aws-kms", key, "us-east-1", moto_endpoint)
    assert deterministic(kms) == deterministic(
        AwsKms(key, region="us-east-1", endpoint_url=moto_endpoint)
    )
    assert deterministic(kms) != deterministic(
        AwsKms(key, region="eu-west-1", endpoint_url=moto_endpoint)
    )


def test_pkcs11_tokens_name_token_key_and_module(softhsm: Path) -> None:
    token, label = new_token(), f"kek-{uuid.uuid4().hex[:8]}"
    Pkcs11.create_key(module_path=MODULE, token_label=token, key_label=label, pin=PIN)
    hsm = Pkcs11(module_path=MODULE, token_label=token, key_label=label, pin=PIN)
    assert hsm.__dask_tokenize__() == ("pkcs11", f"{token}/{label}", "aes-gcm", MODULE)
    assert PIN not in "".join(hsm.__dask_tokenize__())
    assert deterministic(hsm) == deterministic(
        Pkcs11(module_path=MODULE, token_label=token, key_label=label, pin=PIN)
    )


def test_storage_options_with_a_provider_tokenize(tmp_path: Path) -> None:
    ring = LocalKeyring.create(tmp_path / "r.json", passphrase=PASS, opslimit=1, memlimit=8 << 20)
    options = {"sealdoc": {"keys": [ring, X25519Identity.generate()]}}
    assert deterministic(options) == deterministic(options)


def test_a_local_keyring_pickles_as_its_uri_without_key_material(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    ring.add_key("k 2")
    sealed = sealdoc.seal(b"doc", keys=ring.key("k 2"))
    raw = pickle.dumps(ring.key("k 2"))
    assert PASS.encode() not in raw
    for version in ring.key("k 2")._keys["k 2"].versions.values():
        assert version.secret not in raw
    monkeypatch.setenv("SEALDOC_PASSPHRASE", PASS)  # what a worker process has
    copy: KeyProvider = pickle.loads(raw)
    assert repr(copy) == repr(ring.key("k 2"))
    assert sealdoc.open(sealed, keys=copy) == b"doc"
    monkeypatch.delenv("SEALDOC_PASSPHRASE")
    with pytest.raises(sealdoc.KeyUriError, match="SEALDOC_PASSPHRASE"):
        pickle.loads(raw)
