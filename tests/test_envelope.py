"""seal, open and inspect over bytes: behaviour a caller relies on."""

from __future__ import annotations

import pytest

import sealdoc
from sealdoc import DecryptionError, MemoryKeyring, Suite

SIZES = [0, 1, 63, 64, 65, 1000, 262_143, 262_144, 262_145, 3 * 262_144, 1_000_003]


def payload(n: int) -> bytes:
    return (bytes(range(251)) * (n // 251 + 1))[:n]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("suite", list(Suite))
def test_round_trip(ring: MemoryKeyring, size: int, suite: Suite) -> None:
    data = payload(size)
    sealed = sealdoc.seal(data, keys=ring, suite=suite)
    assert isinstance(sealed, bytes)
    assert sealdoc.open(sealed, keys=ring) == data
    assert sealdoc.inspect(sealed).plaintext_length == size


def test_every_seal_uses_a_fresh_key(ring: MemoryKeyring) -> None:
    a = sealdoc.seal(b"same", keys=ring)
    b = sealdoc.seal(b"same", keys=ring)
    assert a != b
    assert a[16:55] != b[16:55]  # salt and nonce prefix


def test_accepts_bytearray_and_memoryview(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(bytearray(b"abc"), keys=ring)
    assert sealdoc.open(memoryview(sealed), keys=ring) == b"abc"


def test_multi_wrap_opens_with_any_one(ring: MemoryKeyring, other_ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"statement", keys=[ring, other_ring])
    assert len(sealdoc.inspect(sealed).wrapped_keys) == 2
    assert sealdoc.open(sealed, keys=ring) == b"statement"
    assert sealdoc.open(sealed, keys=other_ring) == b"statement"
    assert sealdoc.open(sealed, keys=[MemoryKeyring(), other_ring]) == b"statement"


def test_wrong_key_is_decryption_error_listing_attempts(
    ring: MemoryKeyring, other_ring: MemoryKeyring
) -> None:
    sealed = sealdoc.seal(b"statement", keys=ring)
    impostor = MemoryKeyring(ring_id=ring.ring_id)  # labels alike, another KEK
    with pytest.raises(DecryptionError) as info:
        sealdoc.open(sealed, keys=[other_ring, impostor])
    assert "cannot open this document" in str(info.value)
    assert info.value.attempts
    assert info.value.attempts[0].key == "memory:default@kr-00000000000a#1"


def test_provider_of_another_kind_is_reported(ring: MemoryKeyring, tmp_path: object) -> None:
    sealed = sealdoc.seal(b"x", keys=ring)
    stranger = MemoryKeyring(key_id="tenant-b")
    with pytest.raises(
        DecryptionError, match=r"no provider given holds any .*memory:default@kr-00000000000a#1"
    ):
        sealdoc.open(sealed, keys=stranger)


def test_context_is_stored_and_checked(ring: MemoryKeyring) -> None:
    ctx = {"tenant": "acme", "doc_type": "statement", "é": "ü"}
    sealed = sealdoc.seal(b"x", keys=ring, context=ctx)
    assert sealdoc.inspect(sealed).context == ctx
    assert sealdoc.open(sealed, keys=ring) == b"x"  # pairs not given are not checked
    assert sealdoc.open(sealed, keys=ring, context={"tenant": "acme"}) == b"x"
    assert sealdoc.open(sealed, keys=ring, context=ctx) == b"x"
    with pytest.raises(DecryptionError, match="context mismatch"):
        sealdoc.open(sealed, keys=ring, context={"tenant": "globex"})
    with pytest.raises(DecryptionError, match="context mismatch"):
        sealdoc.open(sealed, keys=ring, context={"region": "eu"})


def test_binding_is_required_and_not_stored(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"x", keys=ring, binding={"customer": "C-991"})
    assert b"C-991" not in sealed
    header = sealdoc.inspect(sealed)
    assert header.has_binding
    assert "C-991" not in repr(header)
    assert sealdoc.open(sealed, keys=ring, binding={"customer": "C-991"}) == b"x"
    with pytest.raises(DecryptionError):
        sealdoc.open(sealed, keys=ring)
    with pytest.raises(DecryptionError):
        sealdoc.open(sealed, keys=ring, binding={"customer": "C-992"})
    plain = sealdoc.seal(b"x", keys=ring)
    with pytest.raises(DecryptionError):
        sealdoc.open(plain, keys=ring, binding={"customer": "C-991"})


def test_inspect_shows_public_fields_only(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"secret plaintext", keys=ring, context={"t": "a"}, segment_size=4096)
    header = sealdoc.inspect(sealed)
    assert header.version == 1
    assert header.suite is Suite.AES_256_GCM_HKDF_SHA256_COMMIT
    assert header.segment_size == 4096
    assert [(w.kind, w.key_id, w.version) for w in header.wrapped_keys] == [
        ("memory", "default@kr-00000000000a", 1)
    ]
    assert header.plaintext_length == len(b"secret plaintext")
    assert "payload=<60 bytes>" in repr(header)


def test_a_moved_wrapped_key_does_not_open_another_document(ring: MemoryKeyring) -> None:
    """Splice document A's key section onto document B: the wrap is bound to A's header."""
    a = sealdoc.seal(b"A" * 10, keys=ring)
    b = sealdoc.seal(b"B" * 10, keys=ring)
    a_len = sealdoc.inspect(a).header_length
    b_len = sealdoc.inspect(b).header_length
    core_end = 9 + 2 + 1 + 4 + 32 + 7 + 32 + 2
    spliced = b[:core_end] + a[core_end:a_len] + b[b_len:]
    with pytest.raises(DecryptionError):
        sealdoc.open(spliced, keys=ring)


def test_seal_rejects_a_provider_output_the_format_cannot_hold(ring: MemoryKeyring) -> None:
    class Bad:
        def wrap(self, dek: bytes, ad: object) -> sealdoc.WrappedKey:
            return sealdoc.WrappedKey(kind="BAD KIND", key_id="k", version=1, payload=b"x")

        def unwrap(self, wrapped: object, ad: object) -> bytes:
            raise AssertionError

        def handles(self, wrapped: object) -> bool:
            return False

    with pytest.raises(ValueError, match="kind"):
        sealdoc.seal(b"x", keys=[ring, Bad()])
