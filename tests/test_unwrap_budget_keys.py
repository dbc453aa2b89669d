"""The two tries per key hold whatever versions and id forms the wraps claim (format.md 9.1).

Issue 19, item 4: the per-key budget counted (kind, key id, version), so 32
wraps naming one KMS key with versions 0-31 cost 32 Decrypt calls per
crafted file; the same with a multi-region key's replicas named in other
regions' ARNs, with a PKCS#11 key's versions, and with a keyring's plain
and ``name@ring-id`` forms. Each test counts the calls that really reach
the key: HTTP requests sent to moto's KMS server, unwraps that reach
SoftHSM2, unwraps that reach a keyring's AEAD.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import sealdoc
from sealdoc import DecryptionError, KeyProviderError, LocalKeyring, MemoryKeyring, WrappedKey
from sealdoc._envelope import DEFAULT_UNWRAPS_PER_KEY
from sealdoc.providers import AssociatedData, AwsKms, BudgetKey, Pkcs11

from .hsm import MODULE, PIN, new_token


class Forged:
    """A "provider" that writes one chosen wrap: how an attacker crafts a document."""

    def __init__(self, wrapped: WrappedKey) -> None:
        self.wrapped = wrapped

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return self.wrapped

    def handles(self, wrapped: WrappedKey) -> bool:
        return False

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise NotImplementedError


def crafted(wraps: Sequence[WrappedKey]) -> bytes:
    return sealdoc.seal(b"bait", keys=[Forged(w) for w in wraps])


def count_unwraps(monkeypatch: pytest.MonkeyPatch, provider: Any) -> Callable[[], int]:
    """Count the unwraps that reach ``provider`` (the budget runs before them)."""
    calls = [0]
    inner = provider.unwrap

    def counted(wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        calls[0] += 1
        return inner(wrapped, ad)  # type: ignore[no-any-return]

    monkeypatch.setattr(provider, "unwrap", counted)
    return lambda: calls[0]


# -- AWS KMS on moto's server ----------------------------------------------------------


def kms_with_counter(
    endpoint: str, key: str, region: str = "us-east-1"
) -> tuple[AwsKms, list[str]]:
    """An AwsKms whose client records every request it really sends."""
    import boto3

    client = boto3.client("kms", endpoint_url=endpoint, region_name=region)
    sent: list[str] = []
    client.meta.events.register(
        "before-send.kms.*",
        lambda request, **_: sent.append(str(request.headers["X-Amz-Target"], "ascii")),
    )
    return AwsKms(key, client=client), sent


def decrypts(sent: list[str]) -> int:
    return sum(target.endswith(".Decrypt") for target in sent)


def test_kms_versions_0_to_31_cost_two_decrypt_calls(moto_endpoint: str) -> None:
    import boto3

    client = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    arn = client.create_key()["KeyMetadata"]["Arn"]
    kms, sent = kms_with_counter(moto_endpoint, arn)
    real = sealdoc.inspect(sealdoc.seal(b"other", keys=kms)).wrapped_keys[0]
    sent.clear()
    doc = crafted([WrappedKey(real.kind, real.key_id, v, real.payload) for v in range(32)])
    with pytest.raises(DecryptionError):
        sealdoc.open(doc, keys=kms)
    assert decrypts(sent) == DEFAULT_UNWRAPS_PER_KEY == 2


def test_kms_multi_region_forms_and_aliases_cost_two_decrypt_calls(moto_endpoint: str) -> None:
    import boto3

    client = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    arn = client.create_key(MultiRegion=True)["KeyMetadata"]["Arn"]
    mrk = arn.rsplit("/", 1)[-1]
    assert mrk.startswith("mrk-")
    client.create_alias(AliasName="alias/statements", TargetKeyId=arn)
    kms, sent = kms_with_counter(moto_endpoint, arn)
    real = sealdoc.inspect(sealdoc.seal(b"other", keys=kms)).wrapped_keys[0]
    account = arn.split(":")[4]
    regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"]
    forms = [f"arn:aws:kms:{r}:{account}:key/{mrk}" for r in regions]
    alias_arn = f"arn:aws:kms:us-east-1:{account}:alias/statements"
    wraps = [
        WrappedKey("aws-kms", forms[i % len(forms)], i // len(forms), real.payload)
        for i in range(30)
    ] + [
        WrappedKey("aws-kms", alias_arn, 0, real.payload),
        WrappedKey("aws-kms", mrk, 0, real.payload),
    ]
    assert sum(kms.handles(w) for w in wraps) == 31  # every form but the alias is the key
    sent.clear()
    # moto answers a multi-region key's context mismatch with AccessDenied
    # (AWS: InvalidCiphertext), so the open fails as a provider error here
    with pytest.raises((DecryptionError, KeyProviderError)) as info:
        sealdoc.open(crafted(wraps), keys=kms)
    assert decrypts(sent) == 2
    attempts = info.value.attempts  # type: ignore[attr-defined]
    refused = [a for a in attempts if a.reason.startswith("refused")]
    assert len(refused) == 29


def test_kms_two_genuine_keys_are_still_each_tried(moto_endpoint: str) -> None:
    """The budget is per key: a decoy of one key does not use up another key's tries."""
    import boto3

    client = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    arn = client.create_key()["KeyMetadata"]["Arn"]
    kms, sent = kms_with_counter(moto_endpoint, arn)
    decoy = sealdoc.inspect(sealdoc.seal(b"other", keys=kms)).wrapped_keys[0]
    doc = sealdoc.seal(b"statement", keys=[Forged(decoy), kms])
    sent.clear()
    assert sealdoc.open(doc, keys=kms) == b"statement"
    assert decrypts(sent) == 2  # the decoy, then its own wrap


# -- PKCS#11 on SoftHSM2 ---------------------------------------------------------------


class CountingKey:
    """An HSM key object whose decrypt calls (real C_Decrypt on SoftHSM2) are counted."""

    def __init__(self, key: Any, calls: list[str]) -> None:
        self._key, self._calls = key, calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)

    def decrypt(self, *args: Any, **kwargs: Any) -> Any:
        self._calls.append("C_Decrypt")
        return self._key.decrypt(*args, **kwargs)


class CountingSession:
    """A PKCS#11 session whose key lookups (C_FindObjects) are counted."""

    def __init__(self, session: Any, calls: list[str]) -> None:
        self._session, self._calls = session, calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def get_key(self, *args: Any, **kwargs: Any) -> Any:
        self._calls.append("C_FindObjects")
        return CountingKey(self._session.get_key(*args, **kwargs), self._calls)


def test_pkcs11_versions_cost_two_hsm_operations(softhsm: Path) -> None:
    token, label = new_token(), f"kek-{os.urandom(4).hex()}"
    Pkcs11.create_key(module_path=MODULE, token_label=token, key_label=label, pin=PIN)
    hsm = Pkcs11(module_path=MODULE, token_label=token, key_label=label, pin=PIN)
    hsm.rotate()
    hsm.rotate()
    assert hsm.versions() == [1, 2, 3]
    real = sealdoc.inspect(sealdoc.seal(b"other", keys=hsm)).wrapped_keys[0]
    calls: list[str] = []
    pool = hsm._sessions  # every call into the token takes a session from this pool
    sessions = [pool.get() for _ in range(pool.qsize())]
    for session in sessions:
        pool.put(CountingSession(session, calls))
    hsm.refresh()  # forget the cached key objects: each version is looked up again
    calls.clear()
    doc = crafted([WrappedKey(real.kind, real.key_id, 1 + v % 3, real.payload) for v in range(32)])
    with pytest.raises(DecryptionError):
        sealdoc.open(doc, keys=hsm)
    assert calls.count("C_Decrypt") == 2  # versions 1 and 2, then the budget is spent
    assert calls.count("C_FindObjects") == 2


# -- every keyring ------------------------------------------------------------------------


def ring_cases(tmp_path: Path) -> list[tuple[str, Any]]:
    memory = MemoryKeyring(ring_id=None)
    memory.assign_id()  # plain and name@ring-id: two forms of one key
    local = LocalKeyring.create(tmp_path / "ring.json", passphrase="a long keyring passphrase 9")
    return [("memory", memory), ("local", local)]


@pytest.mark.parametrize("which", ["memory", "local"])
def test_a_keyring_gives_one_key_two_tries_whatever_version_or_form(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = dict(ring_cases(tmp_path))[which]
    ring.rotate()
    ring.rotate()
    real = sealdoc.inspect(sealdoc.seal(b"other", keys=ring)).wrapped_keys[0]
    name = real.key_id.split("@")[0]
    forms = [real.key_id, name] if which == "memory" else [real.key_id]
    wraps = [
        WrappedKey(real.kind, forms[i % len(forms)], 1 + i % 3, os.urandom(len(real.payload)))
        for i in range(31)
    ]
    assert all(ring.handles(w) for w in wraps)
    counted = count_unwraps(monkeypatch, ring)
    genuine = ring.key(name)
    escrow = ring.add_key("escrow")
    doc = crafted([*wraps, *sealdoc.inspect(sealdoc.seal(b"x", keys=escrow)).wrapped_keys])
    with pytest.raises(DecryptionError):
        sealdoc.open(doc, keys=ring)  # the escrow wrap belongs to another document
    assert counted() == 3  # two of the 31, then escrow: its own key's budget
    assert genuine.handles(wraps[0])


def test_the_keyrings_and_kms_declare_their_budget_key() -> None:
    assert isinstance(MemoryKeyring(), BudgetKey)
    assert issubclass(LocalKeyring, BudgetKey)
    assert issubclass(AwsKms, BudgetKey)
