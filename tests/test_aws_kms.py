"""AwsKms against a real HTTP endpoint: moto's server on 127.0.0.1."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

import sealdoc
from sealdoc import DecryptionError, KeyProviderError, WrappedKey
from sealdoc.exceptions import NotMineError
from sealdoc.providers import AssociatedData, AwsKms, DekCache, KeyProvider
from sealdoc.testing import KeyProviderTests

from .errors import fails_with


def kms_client(endpoint: str, region: str = "us-east-1") -> Any:
    import boto3

    return boto3.client("kms", endpoint_url=endpoint, region_name=region)


def new_key(endpoint: str, region: str = "us-east-1") -> str:
    meta = kms_client(endpoint, region).create_key(Description="sealdoc test")["KeyMetadata"]
    return str(meta["Arn"])


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    return moto_endpoint


@pytest.fixture
def kms(endpoint: str) -> AwsKms:
    return AwsKms(new_key(endpoint), endpoint_url=endpoint)


class TestAwsKmsConformance(KeyProviderTests):
    rounds = 5  # each round is two HTTP calls to the KMS endpoint

    @pytest.fixture(autouse=True)
    def _endpoint(self, moto_endpoint: str) -> None:
        self.endpoint = moto_endpoint

    def make_provider(self) -> KeyProvider:
        return AwsKms(new_key(self.endpoint), endpoint_url=self.endpoint)

    def make_foreign_provider(self) -> KeyProvider:
        return AwsKms(new_key(self.endpoint), endpoint_url=self.endpoint)

    def test_a_tampered_payload_is_rejected(self) -> None:
        """moto's ciphertext blob starts with the 36-character key id, and moto
        answers a changed one with AccessDeniedException where AWS answers
        IncorrectKeyException (which AwsKms maps to "not mine"). So: every
        change after the key reference is "not mine", and a changed key
        reference is refused too, as a provider error, and never opens.
        """
        provider = self.make_provider()
        ad = AssociatedData(digest=bytes(range(32)), context={"t": "a"})
        wrapped = provider.wrap(bytes(32), ad)
        for i in (36, len(wrapped.payload) // 2, len(wrapped.payload) - 1):
            payload = bytearray(wrapped.payload)
            payload[i] ^= 1
            with pytest.raises(NotMineError):
                provider.unwrap(WrappedKey(wrapped.kind, wrapped.key_id, 0, bytes(payload)), ad)
        payload = bytearray(wrapped.payload)
        payload[0] ^= 1
        with pytest.raises(KeyProviderError, match="denied"):
            provider.unwrap(WrappedKey(wrapped.kind, wrapped.key_id, 0, bytes(payload)), ad)


def test_the_kms_encryption_context_names_the_document(kms: AwsKms, endpoint: str) -> None:
    doc = sealdoc.seal(
        b"claim",
        keys=kms,
        context={"tenant": "acme", "doc": "c-88412"},
        binding={"customer": "C-1"},
    )
    [wrapped] = sealdoc.inspect(doc).wrapped_keys
    assert wrapped.kind == "aws-kms"
    assert wrapped.key_id == kms.key_arn()
    # What CloudTrail would log: the context, the binding and the header digest.
    client = kms_client(endpoint)
    with pytest.raises(client.exceptions.InvalidCiphertextException):
        client.decrypt(CiphertextBlob=wrapped.payload, EncryptionContext={"tenant": "acme"})
    assert sealdoc.open(doc, keys=kms, binding={"customer": "C-1"}) == b"claim"


def test_a_wrapped_key_moved_to_another_document_fails_at_kms(kms: AwsKms) -> None:
    ad_a = AssociatedData(digest=b"a" * 32, context={"doc": "a"})
    ad_b = AssociatedData(digest=b"b" * 32, context={"doc": "a"})
    wrapped = kms.wrap(bytes(32), ad_a)
    with pytest.raises(sealdoc.exceptions.NotMineError):
        kms.unwrap(wrapped, ad_b)


def test_an_alias_and_a_second_region_through_multi_wrap(endpoint: str) -> None:
    primary_arn = new_key(endpoint, "eu-west-1")
    kms_client(endpoint, "eu-west-1").create_alias(AliasName="alias/docs", TargetKeyId=primary_arn)
    primary = AwsKms("alias/docs", region="eu-west-1", endpoint_url=endpoint)
    dr = AwsKms(new_key(endpoint, "eu-central-1"), endpoint_url=endpoint)
    doc = sealdoc.seal(b"statement", keys=[primary, dr])
    labels = [w.key_id for w in sealdoc.inspect(doc).wrapped_keys]
    assert labels[0] == primary_arn  # the alias is resolved to the key's ARN
    assert ":eu-central-1:" in labels[1]
    assert sealdoc.open(doc, keys=primary) == b"statement"
    assert sealdoc.open(doc, keys=dr) == b"statement"
    assert sealdoc.is_current(doc, keys=[primary, dr])


def test_a_key_taken_out_of_service_is_a_provider_error(endpoint: str) -> None:
    arn = new_key(endpoint)
    alias = f"alias/retired-{uuid.uuid4().hex[:8]}"
    client = kms_client(endpoint)
    client.create_alias(AliasName=alias, TargetKeyId=arn)
    provider = AwsKms(alias, region="us-east-1", endpoint_url=endpoint)
    doc = sealdoc.seal(b"x", keys=provider)
    client.delete_alias(AliasName=alias)
    gone = AwsKms(alias, region="us-east-1", endpoint_url=endpoint)
    with pytest.raises(KeyProviderError, match="not found in us-east-1") as info:
        sealdoc.seal(b"y", keys=gone)
    assert not isinstance(info.value, DecryptionError)
    with pytest.raises(KeyProviderError):
        sealdoc.open(doc, keys=gone)


def test_an_unreachable_kms_is_a_provider_error_not_tampering(kms: AwsKms) -> None:
    doc = sealdoc.seal(b"x", keys=kms)
    down = AwsKms(kms.key_arn(), endpoint_url="http://127.0.0.1:9", max_attempts=2)
    with fails_with(KeyProviderError, "could not be reached") as info:
        sealdoc.open(doc, keys=down)
    assert info.value.__cause__ is not None
    assert not isinstance(info.value, DecryptionError)
    with pytest.raises(KeyProviderError, match="could not be reached"):
        sealdoc.seal(b"x", keys=down)


def test_the_dek_cache_is_opt_in_and_bounded(kms: AwsKms, endpoint: str) -> None:
    docs = [sealdoc.seal(b"doc %d" % i, keys=kms) for i in range(5)]
    uncached = AwsKms(kms.key_arn(), endpoint_url=endpoint)
    for _ in range(3):
        for doc in docs:
            sealdoc.open(doc, keys=uncached)
    assert uncached.calls == 15
    cached = AwsKms(kms.key_arn(), endpoint_url=endpoint, cache=DekCache(max_uses=2))
    for _ in range(3):
        for doc in docs:
            sealdoc.open(doc, keys=cached)
    assert cached.calls == 10  # each key served twice from one Decrypt, then fetched again
    aged = AwsKms(kms.key_arn(), endpoint_url=endpoint, cache=DekCache(max_age=0))
    sealdoc.open(docs[0], keys=aged)
    sealdoc.open(docs[0], keys=aged)
    assert aged.calls == 2
    assert "doc" not in repr(cached._cache)


def test_key_uris(kms: AwsKms, endpoint: str) -> None:
    by_arn = sealdoc.key_from_uri(f"aws-kms://{kms.key_arn()}", endpoint_url=endpoint)
    assert isinstance(by_arn, AwsKms)
    doc = sealdoc.seal(b"x", keys=kms)
    assert sealdoc.open(doc, keys=by_arn) == b"x"
    kms_client(endpoint).create_alias(AliasName="alias/uri-test", TargetKeyId=kms.key_arn())
    by_alias = sealdoc.key_from_uri(
        "aws-kms://alias/uri-test?region=us-east-1", endpoint_url=endpoint
    )
    assert sealdoc.open(doc, keys=by_alias) == b"x"
    with pytest.raises(sealdoc.KeyUriError, match="needs \\?region"):
        sealdoc.key_from_uri("aws-kms://alias/uri-test")
    with pytest.raises(sealdoc.KeyUriError, match="aws-kms://arn"):
        sealdoc.key_from_uri("aws-kms://not a key")


def test_no_secret_in_reprs(kms: AwsKms) -> None:
    dek = bytes(range(32))
    wrapped = kms.wrap(dek, AssociatedData(digest=bytes(32)))
    assert dek.hex() not in repr(kms) + repr(wrapped)
    assert base64.b64encode(dek).decode() not in repr(wrapped)


def test_thirty_two_wraps_of_one_kms_key_cost_at_most_two_decrypt_calls(
    kms: AwsKms, endpoint: str
) -> None:
    """format.md 9.1: a crafted document cannot make one open() call KMS 32 times."""
    sealed = sealdoc.seal(b"x", keys=[kms] * 32, context={"tenant": "acme"})
    # Every wrap names the victim key but is bound to another header: altering
    # the context (and fixing nothing else) makes each Decrypt fail.
    crafted = sealed.replace(b"acme", b"acmf")
    opener = AwsKms(kms.key_arn(), endpoint_url=endpoint)
    with pytest.raises(DecryptionError) as info:
        sealdoc.open(crafted, keys=opener)
    assert opener.calls == 2
    assert len(info.value.attempts) == 32
    assert sealdoc.open(sealed, keys=opener) == b"x"  # the first good wrap: one more call
    assert opener.calls == 3
