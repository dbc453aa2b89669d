"""rewrap, rotate, is_current and the keyring lifecycle."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sealdoc
from sealdoc import (
    DecryptionError,
    KeyProviderError,
    KeyRef,
    LocalKeyring,
    MemoryKeyring,
    Vault,
    WrapLossError,
)
from sealdoc.providers import KdfLimits, Password, X25519Identity

from .errors import fails_with
from .providers import Down

SEG = 256


def body_of(sealed: bytes) -> bytes:
    return sealed[sealdoc.inspect(sealed).header_length :]


def labels(sealed: bytes) -> list[str]:
    return [w.label for w in sealdoc.inspect(sealed).wrapped_keys]


@pytest.fixture
def doc(ring: MemoryKeyring) -> bytes:
    return sealdoc.seal(os.urandom(5 * SEG + 3), keys=ring, context={"t": "a"}, segment_size=SEG)


# -- rewrap -----------------------------------------------------------------------------


def test_rewrap_keeps_the_body_byte_for_byte(ring: MemoryKeyring, doc: bytes) -> None:
    plain = sealdoc.open(doc, keys=ring)
    ring.rotate()
    new = sealdoc.rewrap(doc, keys=ring)
    assert body_of(new) == body_of(doc)
    assert labels(new) == ["memory:default@kr-00000000000a#2"]
    assert sealdoc.open(new, keys=ring) == plain
    assert sealdoc.inspect(new).context == {"t": "a"}


def test_rewrap_to_replaces_the_whole_set(ring: MemoryKeyring, doc: bytes) -> None:
    other = MemoryKeyring(key_id="tenant-b")
    moved = sealdoc.rewrap(doc, keys=ring, to=other)
    assert labels(moved) == [f"memory:tenant-b@{other.ring_id}#1"]
    assert body_of(moved) == body_of(doc)
    with pytest.raises(DecryptionError):
        sealdoc.open(moved, keys=ring)
    assert sealdoc.open(moved, keys=other) == sealdoc.open(doc, keys=ring)


def test_a_current_document_comes_back_unchanged(ring: MemoryKeyring, doc: bytes) -> None:
    assert sealdoc.is_current(doc, keys=ring)
    assert sealdoc.rewrap(doc, keys=ring) == doc


def test_old_version_destroyed_after_rewrap_still_opens(ring: MemoryKeyring, doc: bytes) -> None:
    ring.rotate()
    new = sealdoc.rewrap(doc, keys=ring)
    ring.destroy(1)
    assert sealdoc.open(new, keys=ring)
    with fails_with(DecryptionError, r"key 'default' version 1 was destroyed"):
        sealdoc.open(doc, keys=ring)


def test_old_version_destroyed_before_rewrap_is_lost(ring: MemoryKeyring, doc: bytes) -> None:
    ring.rotate()
    ring.destroy(1)
    with fails_with(DecryptionError, "version 1 was destroyed"):
        sealdoc.rewrap(doc, keys=ring)


def test_bring_up_to_date_keeps_wraps_it_cannot_serve(ring: MemoryKeyring) -> None:
    escrow = MemoryKeyring(key_id="escrow", ring_id="kr-0000000000e5")
    doc = sealdoc.seal(b"claim", keys=[ring, escrow])
    ring.rotate()
    new = sealdoc.rewrap(doc, keys=ring)
    assert labels(new) == ["memory:default@kr-00000000000a#2", "memory:escrow@kr-0000000000e5#1"]
    escrow_entry = sealdoc.inspect(doc).wrapped_keys[1]
    assert sealdoc.inspect(new).wrapped_keys[1] == escrow_entry  # byte for byte
    assert sealdoc.open(new, keys=escrow) == b"claim"


def test_bring_up_to_date_collapses_versions_of_one_key(ring: MemoryKeyring) -> None:
    doc = sealdoc.seal(b"x", keys=ring)
    ring.rotate()
    both = sealdoc.rewrap(doc, keys=ring, add=MemoryKeyring(key_id="dr"))
    two_versions = sealdoc.rewrap(both, keys=ring, to=[ring, ring])
    assert labels(two_versions) == [
        "memory:default@kr-00000000000a#2",
        "memory:default@kr-00000000000a#2",
    ]
    assert sealdoc.rewrap(two_versions, keys=ring) == two_versions  # both current: unchanged
    ring.rotate()
    assert labels(sealdoc.rewrap(two_versions, keys=ring)) == ["memory:default@kr-00000000000a#3"]


def test_add_and_drop_one_provider_leave_the_others_alone(ring: MemoryKeyring) -> None:
    escrow = MemoryKeyring(key_id="escrow", ring_id="kr-0000000000e5")
    region = MemoryKeyring(key_id="eu-west", ring_id="kr-0000000000e3")
    doc = sealdoc.seal(b"statement", keys=[ring, escrow])
    before = sealdoc.inspect(doc).wrapped_keys
    added = sealdoc.rewrap(doc, keys=ring, add=region)
    after = sealdoc.inspect(added).wrapped_keys
    assert after[:2] == before
    assert after[2].label == "memory:eu-west@kr-0000000000e3#1"
    assert sealdoc.open(added, keys=region) == b"statement"
    for drop in (
        escrow,
        "memory:escrow@kr-0000000000e5",
        "memory:escrow@kr-0000000000e5#1",
        KeyRef("memory", "escrow@kr-0000000000e5", 1),
    ):
        dropped = sealdoc.rewrap(added, keys=region, drop=drop)
        assert labels(dropped) == [
            "memory:default@kr-00000000000a#1",
            "memory:eu-west@kr-0000000000e3#1",
        ]
        with pytest.raises(DecryptionError):
            sealdoc.open(dropped, keys=escrow)
        assert sealdoc.open(dropped, keys=ring) == b"statement"
        assert body_of(dropped) == body_of(doc)


def test_rewrap_refuses_to_leave_no_key(ring: MemoryKeyring, doc: bytes) -> None:
    with pytest.raises(ValueError, match="at least one wrapped key"):
        sealdoc.rewrap(doc, keys=ring, drop=ring)
    with pytest.raises(ValueError, match="either to="):
        sealdoc.rewrap(doc, keys=ring, to=ring, add=ring)
    with pytest.raises(ValueError, match="key label"):
        sealdoc.rewrap(doc, keys=ring, drop="nolabel")


def test_rewrap_of_a_tampered_header_fails(ring: MemoryKeyring, doc: bytes) -> None:
    tampered = bytearray(doc)
    tampered[sealdoc.inspect(doc).header_length - 1] ^= 1  # the header MAC
    with pytest.raises(DecryptionError):
        sealdoc.rewrap(bytes(tampered), keys=ring)
    out = io.BytesIO()
    with pytest.raises(DecryptionError):
        sealdoc.rewrap_stream(io.BytesIO(bytes(tampered)), out, keys=ring)
    assert out.getvalue() == b""


def test_rewrap_verify_catches_a_tampered_body(ring: MemoryKeyring, doc: bytes) -> None:
    tampered = bytearray(doc)
    tampered[-5] ^= 1
    assert sealdoc.rewrap(bytes(tampered), keys=ring, to=MemoryKeyring())  # header only
    with fails_with(DecryptionError, "segment 5"):
        sealdoc.rewrap(bytes(tampered), keys=ring, to=MemoryKeyring(), verify=True)
    assert sealdoc.rewrap(doc, keys=ring, to=MemoryKeyring(), verify=True)


def test_rewrap_of_a_truncated_body_fails(ring: MemoryKeyring, doc: bytes) -> None:
    with pytest.raises(DecryptionError):
        sealdoc.rewrap(doc[:-3], keys=ring, to=MemoryKeyring())
    out = io.BytesIO()
    with pytest.raises(DecryptionError):
        sealdoc.rewrap_stream(io.BytesIO(doc[:-3]), out, keys=ring, to=MemoryKeyring())
    assert out.getvalue() == b""


def test_a_provider_that_cannot_wrap_leaves_the_source_untouched(
    ring: MemoryKeyring, doc: bytes
) -> None:
    original = bytes(doc)
    with pytest.raises(KeyProviderError, match="failed to wrap") as info:
        sealdoc.rewrap(doc, keys=ring, add=Down())
    assert isinstance(info.value.__cause__, ConnectionError)
    assert doc == original
    out = io.BytesIO()
    with pytest.raises(KeyProviderError):
        sealdoc.rewrap_stream(io.BytesIO(doc), out, keys=ring, to=[ring, Down()])
    assert out.getvalue() == b""


def test_rewrap_stream_matches_rewrap(ring: MemoryKeyring, doc: bytes) -> None:
    ring.rotate()
    out = io.BytesIO()
    written = sealdoc.rewrap_stream(io.BytesIO(doc), out, keys=ring)
    assert written == len(out.getvalue())
    assert body_of(out.getvalue()) == body_of(doc)
    assert labels(out.getvalue()) == ["memory:default@kr-00000000000a#2"]
    assert sealdoc.open(out.getvalue(), keys=ring) == sealdoc.open(doc, keys=ring)


@given(st.integers(0, 4 * SEG + 5), st.lists(st.sampled_from(["add", "drop", "rotate"])))
def test_any_sequence_of_rewraps_keeps_the_document(size: int, steps: list[str]) -> None:
    ring = MemoryKeyring()
    extra = MemoryKeyring(key_id="extra")
    data = os.urandom(size)
    doc = sealdoc.seal(data, keys=ring, segment_size=SEG)
    body = body_of(doc)
    for step in steps:
        if step == "add":
            doc = sealdoc.rewrap(doc, keys=ring, add=extra)
        elif step == "drop" and len(sealdoc.inspect(doc).wrapped_keys) > 1:
            doc = sealdoc.rewrap(doc, keys=ring, drop=extra)
        elif step == "rotate":
            ring.rotate()
            doc = sealdoc.rewrap(doc, keys=ring)
        assert body_of(doc) == body
        assert sealdoc.open(doc, keys=ring) == data


# -- rotate -----------------------------------------------------------------------------


def test_rotate_makes_a_new_document_key(ring: MemoryKeyring, doc: bytes) -> None:
    plain = sealdoc.open(doc, keys=ring)
    rotated = sealdoc.rotate(doc, keys=ring)
    assert sealdoc.open(rotated, keys=ring, context={"t": "a"}) == plain
    assert body_of(rotated) != body_of(doc)
    assert rotated[16:55] != doc[16:55]  # salt and nonce prefix
    assert sealdoc.inspect(rotated).segment_size == SEG


def test_rotate_can_change_suite_and_segment_size(ring: MemoryKeyring, doc: bytes) -> None:
    suite = sealdoc.Suite.CHACHA20_POLY1305_HKDF_SHA256_COMMIT
    rotated = sealdoc.rotate(doc, keys=ring, suite=suite, segment_size=1024)
    header = sealdoc.inspect(rotated)
    assert (header.suite, header.segment_size) == (suite, 1024)
    assert sealdoc.open(rotated, keys=ring) == sealdoc.open(doc, keys=ring)


def test_rotate_keeps_the_binding(ring: MemoryKeyring) -> None:
    doc = sealdoc.seal(b"x", keys=ring, binding={"customer": "C-1"})
    rotated = sealdoc.rotate(doc, keys=ring, binding={"customer": "C-1"})
    assert sealdoc.open(rotated, keys=ring, binding={"customer": "C-1"}) == b"x"
    with pytest.raises(DecryptionError):
        sealdoc.open(rotated, keys=ring)


def test_rotate_refuses_to_lose_a_wrapped_key(ring: MemoryKeyring) -> None:
    escrow = MemoryKeyring(key_id="escrow", ring_id="kr-0000000000e5")
    doc = sealdoc.seal(b"x", keys=[ring, escrow])
    with pytest.raises(
        ValueError, match="would lose the wrapped key memory:escrow@kr-0000000000e5#1"
    ):
        sealdoc.rotate(doc, keys=ring)
    both = sealdoc.rotate(doc, keys=[ring, escrow])
    assert labels(both) == ["memory:default@kr-00000000000a#1", "memory:escrow@kr-0000000000e5#1"]
    assert labels(sealdoc.rotate(doc, keys=ring, to=ring)) == ["memory:default@kr-00000000000a#1"]


def test_rotate_of_a_tampered_body_writes_nothing(ring: MemoryKeyring, doc: bytes) -> None:
    tampered = bytearray(doc)
    tampered[-5] ^= 1
    with pytest.raises(DecryptionError):
        sealdoc.rotate(bytes(tampered), keys=ring)


def test_rotate_stream_from_a_pipe(ring: MemoryKeyring, doc: bytes) -> None:
    from .test_streams import OneWay

    out = io.BytesIO()
    sealdoc.rotate_stream(OneWay(doc), out, keys=ring)
    assert sealdoc.open(out.getvalue(), keys=ring) == sealdoc.open(doc, keys=ring)
    assert body_of(out.getvalue()) != body_of(doc)


# -- is_current ---------------------------------------------------------------------------


def test_is_current_reads_the_header_only(ring: MemoryKeyring, doc: bytes) -> None:
    header = sealdoc.inspect(doc)
    assert sealdoc.is_current(doc, keys=ring)
    assert sealdoc.is_current(header, keys=ring)
    assert sealdoc.is_current(io.BytesIO(doc), keys=ring)
    ring.rotate()
    assert not sealdoc.is_current(header, keys=ring)
    assert not sealdoc.is_current(doc, keys=[ring, MemoryKeyring(key_id="dr")])
    assert ring.current_key() == KeyRef("memory", "default@kr-00000000000a", 2)


def test_is_current_is_false_for_providers_that_cannot_say(doc: bytes) -> None:
    assert not sealdoc.is_current(doc, keys=Down())


# -- keyring lifecycle -----------------------------------------------------------------------


def test_disable_and_enable(ring: MemoryKeyring, doc: bytes) -> None:
    ring.rotate()
    ring.disable(1)
    assert ring.versions() == {1: "disabled", 2: "enabled"}
    with fails_with(DecryptionError, r"key 'default' version 1 is disabled"):
        sealdoc.open(doc, keys=ring)
    ring.enable(1)
    assert sealdoc.open(doc, keys=ring)


def test_the_primary_cannot_be_disabled(ring: MemoryKeyring) -> None:
    with pytest.raises(ValueError, match="rotate first"):
        ring.disable(1)


def test_destroying_the_last_or_primary_version_needs_confirm(ring: MemoryKeyring) -> None:
    with pytest.raises(ValueError, match="confirm=True"):
        ring.destroy(1)
    assert ring.versions() == {1: "enabled"}
    ring.rotate()
    ring.disable(1)
    with pytest.raises(ValueError, match="confirm=True"):
        ring.destroy(2)  # the primary, and the last enabled one
    ring.destroy(1)  # disabled and not primary: no confirmation needed
    with pytest.raises(ValueError, match="already destroyed"):
        ring.destroy(1)
    with pytest.raises(ValueError, match="cannot return"):
        ring.enable(1)
    ring.destroy(2, confirm=True)
    assert ring.primary_version() is None
    with pytest.raises(KeyProviderError, match="rotate it first"):
        sealdoc.seal(b"x", keys=ring)
    assert ring.rotate() == 3  # version numbers are never reused
    assert sealdoc.open(sealdoc.seal(b"x", keys=ring), keys=ring) == b"x"


def test_a_customer_key_destroyed_loses_only_that_customers_documents(
    ring: MemoryKeyring,
) -> None:
    alice = ring.add_key("customer-alice")
    bob = ring.add_key("customer-bob")
    a_doc = sealdoc.seal(b"alice", keys=alice)
    b_doc = sealdoc.seal(b"bob", keys=bob)
    shared = sealdoc.seal(b"bank", keys=ring)
    alice.destroy(1, confirm=True)
    with fails_with(DecryptionError, "customer-alice' version 1 was destroyed"):
        sealdoc.open(a_doc, keys=ring.key("customer-alice"))
    assert sealdoc.open(b_doc, keys=bob) == b"bob"
    assert sealdoc.open(shared, keys=ring) == b"bank"
    assert ring.versions("customer-alice") == {1: "destroyed"}


def test_key_providers_share_their_keyring(ring: MemoryKeyring) -> None:
    tenant = ring.add_key("tenant-7")
    again = ring.key("tenant-7")
    doc = sealdoc.seal(b"x", keys=tenant)
    assert labels(doc) == ["memory:tenant-7@kr-00000000000a#1"]
    tenant.rotate()
    assert again.current_key().version == 2
    assert ring.key_ids() == ["default", "tenant-7"]
    with pytest.raises(ValueError, match="already has a key"):
        ring.add_key("tenant-7")
    with pytest.raises(KeyError, match="add_key"):
        ring.key("nobody")


def test_local_keyring_lifecycle_survives_reload(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase="pass phrase", opslimit=1, memlimit=8 << 20)
    doc = sealdoc.seal(b"x", keys=ring)
    assert ring.rotate() == 2
    ring.disable(1)
    customer = ring.add_key("customer-1")
    customer_doc = sealdoc.seal(b"c", keys=customer)
    again = LocalKeyring.load(path, passphrase="pass phrase")
    assert again.versions() == {1: "disabled", 2: "enabled"}
    assert again.primary_version() == 2
    assert again.key_ids() == ["customer-1", "default"]
    with fails_with(DecryptionError, "disabled"):
        sealdoc.open(doc, keys=again)
    assert sealdoc.open(customer_doc, keys=again.key("customer-1")) == b"c"
    again.key("customer-1").destroy(1, confirm=True)
    third = LocalKeyring.load(path, passphrase="pass phrase")
    assert third.versions("customer-1") == {1: "destroyed"}
    assert b'"secret": ""' in _decrypted_body(third)


def _decrypted_body(ring: LocalKeyring) -> bytes:
    import json

    from sealdoc.providers._local import _encode_keys

    return json.dumps(_encode_keys(ring._keys), sort_keys=True).encode()


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_a_crash_during_a_key_change_keeps_file_and_memory_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase="pass phrase", opslimit=1, memlimit=8 << 20)
    before = path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if fail_at == "write":
        monkeypatch.setattr("sealdoc._atomic.os.fdopen", crash)
    else:
        monkeypatch.setattr(f"sealdoc._atomic.os.{fail_at}", crash)
    with pytest.raises(sealdoc.KeyringError, match="No space left"):
        ring.rotate()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert ring.versions() == {1: "enabled"}  # memory was not changed either
    # no temp file is left; the lock file and generation sidecar are meant to stay
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".ring.json.generation",
        ".ring.json.lock",
        "ring.json",
    ]
    assert ring.rotate() == 2
    assert LocalKeyring.load(path, passphrase="pass phrase").versions() == {
        1: "enabled",
        2: "enabled",
    }


# -- wraps keep their identity (issue 10, item 1) ----------------------------------------
#
# Each test below is one of the failures the issue describes. Key references
# are taken from the providers (current_key()), never spelled out, so that
# they hold whatever a keyring puts in its key ids.

LAX = KdfLimits(argon2_min_memory_kib=8, argon2_min_cost=8)


def cheap_password(secret: str) -> Password:
    return Password(secret, memory_kib=64, iterations=1, limits=LAX)


def refs(sealed: bytes) -> list[KeyRef]:
    return [w.ref for w in sealdoc.inspect(sealed).wrapped_keys]


def payloads(sealed: bytes) -> list[bytes]:
    return [w.payload for w in sealdoc.inspect(sealed).wrapped_keys]


def test_per_customer_keys_survive_key_rotation_and_rewrap_all(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    customer = ring.add_key("cust-0042")
    url = (tmp_path / "store").as_uri()
    Vault(url, keys=customer).put("cust-0042/statement", b"statement")
    Vault(url, keys=ring).put("bank/report", b"report")
    vault = Vault(url, keys=ring)
    ring.rotate()  # the runbook: keys rotate, then rewrap the store
    report = vault.rewrap_all()
    assert report.failed == ()
    assert refs(vault._read_sealed("cust-0042/statement")) == [customer.current_key()]
    assert refs(vault._read_sealed("bank/report")) == [ring.current_key()]
    assert vault.inventory()[customer.current_key().label] == 1  # still on the customer's key
    customer.rotate()
    vault.rewrap_all()
    assert refs(vault._read_sealed("cust-0042/statement")) == [customer.current_key()]
    for version in (1, 2):
        customer.destroy(version, confirm=True)  # the customer asked to be forgotten
    with pytest.raises(DecryptionError):
        vault.get("cust-0042/statement")
    assert vault.get("bank/report") == b"report"


def test_escrow_of_the_same_keyring_is_kept_by_rewrap_all_and_rotate(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    escrow = ring.add_key("escrow")
    url = (tmp_path / "store").as_uri()
    Vault(url, keys=[ring, escrow]).put("claim", b"claim")
    vault = Vault(url, keys=ring)
    ring.rotate()
    assert vault.rewrap_all().failed == ()
    assert refs(vault._read_sealed("claim")) == [ring.current_key(), escrow.current_key()]
    assert vault.rotate_all().failed == ()
    assert refs(vault._read_sealed("claim")) == [ring.current_key(), escrow.current_key()]
    doc = vault._read_sealed("claim")
    binding = {"sealdoc:doc_id": "claim"}
    rotated = sealdoc.rotate(doc, keys=ring, binding=binding)
    assert refs(rotated) == [ring.current_key(), escrow.current_key()]
    assert sealdoc.open(rotated, keys=escrow, binding=binding) == b"claim"


def test_adding_a_password_keeps_the_other_passwords() -> None:
    ring = MemoryKeyring()
    a, b, c = (cheap_password(f"password {n}") for n in "abc")
    doc = sealdoc.seal(b"statement", keys=[ring, a, b])
    added = sealdoc.rewrap(doc, keys=ring, add=c)
    assert payloads(added)[:3] == payloads(doc)  # byte for byte
    for password in (a, b, c):
        assert sealdoc.open(added, keys=password) == b"statement"
    again = sealdoc.rewrap(added, keys=ring, add=a)  # a replaces its own wrap only
    assert len(refs(again)) == 4
    for password in (a, b, c):
        assert sealdoc.open(again, keys=password) == b"statement"
    dropped = sealdoc.rewrap(again, keys=ring, drop=b)
    assert len(refs(dropped)) == 3
    with pytest.raises(DecryptionError):
        sealdoc.open(dropped, keys=b)
    assert sealdoc.open(dropped, keys=a) == sealdoc.open(dropped, keys=c) == b"statement"


def test_bringing_up_to_date_with_one_password_keeps_the_others() -> None:
    ring = MemoryKeyring()
    a, b = cheap_password("password a"), cheap_password("password b")
    doc = sealdoc.seal(b"statement", keys=[ring, a, b])
    ring.rotate()
    new = sealdoc.rewrap(doc, keys=[ring, a])
    assert refs(new)[0] == ring.current_key()
    assert payloads(new)[1:] == payloads(doc)[1:]
    assert sealdoc.open(new, keys=b) == b"statement"
    out = io.BytesIO()
    sealdoc.rewrap_stream(io.BytesIO(doc), out, keys=[ring, a])
    assert payloads(out.getvalue())[1:] == payloads(doc)[1:]
    assert sealdoc.open(out.getvalue(), keys=b) == b"statement"


def test_x25519_devices_keep_their_wraps() -> None:
    ring = MemoryKeyring()
    phone, laptop, tablet = (X25519Identity.generate() for _ in range(3))
    doc = sealdoc.seal(b"statement", keys=[ring, phone.to_recipient(), laptop.to_recipient()])
    added = sealdoc.rewrap(doc, keys=ring, add=tablet.to_recipient())
    assert payloads(added)[:3] == payloads(doc)
    ring.rotate()
    current = sealdoc.rewrap(added, keys=[ring, phone])
    assert payloads(current)[1:] == payloads(added)[1:]
    for device in (phone, laptop, tablet):
        assert sealdoc.open(current, keys=device) == b"statement"
    with pytest.raises(WrapLossError, match="x25519"):
        sealdoc.rotate(current, keys=[ring, phone])  # laptop and tablet not given
    rotated = sealdoc.rotate(current, keys=[ring, phone, laptop, tablet])
    assert len(refs(rotated)) == 4
    for device in (phone, laptop, tablet):
        assert sealdoc.open(rotated, keys=device) == b"statement"


def test_rotate_refuses_to_drop_and_takes_drop() -> None:
    ring = MemoryKeyring()
    a, b = cheap_password("password a"), cheap_password("password b")
    escrow = MemoryKeyring(key_id="escrow")
    doc = sealdoc.seal(b"x", keys=[ring, escrow, a, b])
    choices: list[list[sealdoc.KeyProvider]] = [[ring, a, b], [ring, escrow, a]]
    for keys in choices:
        with pytest.raises(WrapLossError, match="drop=") as info:
            sealdoc.rotate(doc, keys=keys)
        assert isinstance(info.value, ValueError)
        out = io.BytesIO()
        with pytest.raises(WrapLossError):
            sealdoc.rotate_stream(io.BytesIO(doc), out, keys=keys)
        assert out.getvalue() == b""
    escrow_label = escrow.current_key().label
    rotated = sealdoc.rotate(doc, keys=[ring, a, b], drop=escrow_label)
    assert refs(rotated)[0] == ring.current_key()
    assert len(refs(rotated)) == 3
    assert sealdoc.open(rotated, keys=b) == b"x"
    with pytest.raises(DecryptionError):
        sealdoc.open(rotated, keys=escrow)
    without_b = sealdoc.rotate(doc, keys=[ring, escrow, a], drop=b)
    assert len(refs(without_b)) == 3
    with pytest.raises(DecryptionError):
        sealdoc.open(without_b, keys=b)
    out = io.BytesIO()
    sealdoc.rotate_stream(io.BytesIO(doc), out, keys=[ring, escrow, a], drop=b)
    assert refs(out.getvalue()) == refs(without_b)
    with pytest.raises(ValueError, match="either to="):
        sealdoc.rotate(doc, keys=ring, to=ring, drop=escrow)


def test_rotate_re_creates_a_destroyed_versions_wrap_at_the_current_one() -> None:
    ring = MemoryKeyring()
    customer = ring.add_key("cust-7")
    escrow = ring.add_key("escrow")
    doc = sealdoc.seal(b"x", keys=[customer, escrow])
    customer.rotate()
    customer.destroy(1)
    rotated = sealdoc.rotate(doc, keys=ring)
    assert refs(rotated) == [customer.current_key(), escrow.current_key()]
    customer.destroy(2, confirm=True)  # shredded: the key has no version left
    with pytest.raises(WrapLossError, match="cust-7"):
        sealdoc.rotate(rotated, keys=ring)
    assert refs(sealdoc.rewrap(rotated, keys=ring)) == refs(rotated)  # kept, not moved
    assert sealdoc.is_current(rotated, keys=ring)


def test_is_current_follows_each_wraps_own_key() -> None:
    ring = MemoryKeyring()
    customer = ring.add_key("cust-1")
    doc = sealdoc.seal(b"x", keys=[customer, ring.key("default")])
    assert sealdoc.is_current(doc, keys=ring)
    ring.rotate()  # the default key
    assert not sealdoc.is_current(doc, keys=ring)
    new = sealdoc.rewrap(doc, keys=ring)
    assert refs(new) == [customer.current_key(), ring.current_key()]
    assert sealdoc.is_current(new, keys=ring)
    customer.rotate()
    assert not sealdoc.is_current(new, keys=ring)
    assert not sealdoc.is_current(new, keys=MemoryKeyring(key_id="other"))  # serves nothing


def test_rewrap_all_to_a_key_moves_documents_that_are_on_another_key(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    customer = ring.add_key("cust-9")
    url = (tmp_path / "store").as_uri()
    Vault(url, keys=customer).put("doc", b"x")
    vault = Vault(url, keys=ring)
    report = vault.rewrap_all(to=ring)  # an explicit move to the default key
    assert report.rewritten == 1
    assert refs(vault._read_sealed("doc")) == [ring.current_key()]
    assert vault.rewrap_all(to=ring).skipped == 1


def test_the_cli_keeps_customer_keys_and_refuses_to_lose_a_wrap(tmp_path: Path) -> None:
    from .test_cli import PASS, run

    ring = LocalKeyring.create(
        tmp_path / "ring.json", passphrase=PASS, opslimit=1, memlimit=8 << 20
    )
    customer = ring.add_key("cust-0042")
    (tmp_path / "doc.sdoc").write_bytes(sealdoc.seal(b"statement", keys=customer))
    ring.rotate()
    result = run(tmp_path, "rewrap", "doc.sdoc", "-o", "new.sdoc")
    assert result.returncode == 0, result.stderr
    assert refs((tmp_path / "new.sdoc").read_bytes()) == [customer.current_key()]
    sealed = sealdoc.seal(b"claim", keys=[ring, cheap_password("the customer's password")])
    (tmp_path / "claim.sdoc").write_bytes(sealed)
    result = run(tmp_path, "rotate", "claim.sdoc", "-o", "rotated.sdoc")
    assert result.returncode == 1
    assert b"would lose the wrapped key password:" in result.stderr
    assert not (tmp_path / "rotated.sdoc").exists()
    assert (tmp_path / "claim.sdoc").read_bytes() == sealed
