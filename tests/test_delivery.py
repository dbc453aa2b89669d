"""Delivery: password and device recipients, deliver, the strength check."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import nacl.public
import pytest

import sealdoc
from sealdoc import DecryptionError, MemoryKeyring, Vault, WeakPasswordError
from sealdoc.providers import KdfLimits, Password, WrappedKey, X25519Identity, X25519Recipient

from .errors import fails_with

PW = "plum-orbit-kettle-91"
# The cheapest Argon2id an opener accepts: these tests are about behaviour, not cost.
FAST_MEMORY_KIB, FAST_ITERATIONS = 19 * 1024, 2


def pw(password: str = PW, limits: KdfLimits | None = None) -> Password:
    return Password(password, memory_kib=FAST_MEMORY_KIB, iterations=FAST_ITERATIONS, limits=limits)


def with_payload(sealed: bytes, payload: bytes) -> bytes:
    """``sealed`` with its one wrapped key's payload replaced (a crafted file)."""
    header = sealdoc.inspect(sealed)
    old = header.wrapped_keys[0].payload
    assert sealed.count(old) == 1
    assert len(payload) == len(old)
    return sealed.replace(old, payload)


# -- Password ----------------------------------------------------------------------------


def test_password_round_trip_and_public_parameters() -> None:
    sealed = sealdoc.seal(b"statement", keys=Password(PW), context={"type": "statement"})
    (wrapped,) = sealdoc.inspect(sealed).wrapped_keys
    assert (wrapped.kind, wrapped.key_id, wrapped.version) == ("password", "password", 1)
    kdf, memory_kib, iterations = struct.unpack(">BII", wrapped.payload[:9])
    assert (kdf, memory_kib, iterations) == (1, 64 * 1024, 3)  # the documented defaults
    assert sealdoc.open(sealed, keys=Password(PW)) == b"statement"


def test_a_wrong_password_is_a_clear_decryption_error() -> None:
    sealed = sealdoc.seal(b"statement", keys=pw())
    with fails_with(DecryptionError, "password does not open it") as caught:
        sealdoc.open(sealed, keys=pw("plum-orbit-kettle-92"))
    assert PW not in str(caught.value)
    assert "plum-orbit-kettle-92" not in str(caught.value)


def test_passwords_are_compared_in_nfc_form() -> None:
    composed, decomposed = "caf\u00e9-orbit-kettle", "cafe\u0301-orbit-kettle"
    sealed = sealdoc.seal(b"x", keys=pw(composed))
    assert sealdoc.open(sealed, keys=pw(decomposed)) == b"x"


def test_the_browser_kdf_round_trips() -> None:
    sealed = sealdoc.seal(b"x", keys=Password(PW, kdf="pbkdf2-sha256"))
    payload = sealdoc.inspect(sealed).wrapped_keys[0].payload
    assert struct.unpack(">BI", payload[:5]) == (2, 600_000)
    # an Argon2id Password opens it: the KDF is read from the wrap
    assert sealdoc.open(sealed, keys=pw()) == b"x"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"memory_kib": 1024, "iterations": 2}, "below the minimum"),
        ({"memory_kib": 19 * 1024, "iterations": 1}, "below the minimum"),
        ({"memory_kib": 2 * 1024 * 1024, "iterations": 1}, "above the limit"),
        ({"memory_kib": 64 * 1024, "iterations": 17}, "outside"),
        ({"kdf": "pbkdf2-sha256", "iterations": 100_000}, "outside"),
        ({"kdf": "scrypt"}, "unknown kdf"),
    ],
)
def test_a_sealer_cannot_choose_a_cost_outside_the_bounds(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Password(PW, **options)  # type: ignore[arg-type]


def test_a_crafted_cheap_kdf_is_refused_when_opening() -> None:
    lax = KdfLimits(argon2_min_memory_kib=8, argon2_min_cost=8)
    cheap = Password(PW, memory_kib=64, iterations=1, limits=lax)
    sealed = sealdoc.seal(b"x", keys=cheap)
    assert sealdoc.open(sealed, keys=pw(limits=lax)) == b"x"
    with fails_with(DecryptionError, "below the minimum cost"):
        sealdoc.open(sealed, keys=pw())


@pytest.mark.parametrize(
    "params",
    [
        struct.pack(">BII", 1, 4 * 1024 * 1024, 3),  # 4 GiB: would exhaust the reader
        struct.pack(">BII", 1, 1024 * 1024, 16),  # 16 GiB-passes: would hang it
        struct.pack(">BII", 1, 64 * 1024, 0xFFFFFFFF),
        struct.pack(">BII", 9, 64 * 1024, 3),  # no such KDF
    ],
)
def test_a_crafted_expensive_or_unknown_kdf_is_refused_before_any_work(params: bytes) -> None:
    sealed = sealdoc.seal(b"x", keys=pw())
    payload = sealdoc.inspect(sealed).wrapped_keys[0].payload
    crafted = with_payload(sealed, params + payload[9:])
    with fails_with(DecryptionError, "refused"):
        sealdoc.open(crafted, keys=pw())


def test_a_crafted_pbkdf2_count_is_refused() -> None:
    sealed = sealdoc.seal(b"x", keys=Password(PW, kdf="pbkdf2-sha256"))
    payload = sealdoc.inspect(sealed).wrapped_keys[0].payload
    for count in (1000, 50_000_000):
        crafted = with_payload(sealed, struct.pack(">BI", 2, count) + payload[5:])
        with fails_with(DecryptionError, "PBKDF2 iterations"):
            sealdoc.open(crafted, keys=pw())


def test_no_password_in_repr_and_empty_refused() -> None:
    assert PW not in repr(pw())
    assert PW not in str(pw())
    with pytest.raises(ValueError, match="empty"):
        Password("")


# -- X25519 ------------------------------------------------------------------------------


def test_a_device_opens_what_was_sealed_for_its_recipient() -> None:
    phone = X25519Identity.generate()
    recipient = X25519Recipient(phone.recipient)
    assert recipient.recipient == phone.recipient
    assert recipient.recipient.startswith("x25519:")
    sealed = sealdoc.seal(b"for the phone", keys=recipient)
    assert sealdoc.open(sealed, keys=phone) == b"for the phone"
    with fails_with(DecryptionError, "another device"):
        sealdoc.open(sealed, keys=X25519Identity.generate())
    with pytest.raises(DecryptionError):
        sealdoc.open(sealed, keys=recipient)  # a public key opens nothing


def test_the_wrapped_key_does_not_name_the_device() -> None:
    phone = X25519Identity.generate()
    sealed = sealdoc.seal(b"x", keys=phone.to_recipient())
    (wrapped,) = sealdoc.inspect(sealed).wrapped_keys
    assert wrapped.label == "x25519:device#1"
    assert phone.recipient.split(":")[1].encode() not in sealed


def test_keys_interoperate_with_pynacl() -> None:
    nacl_key = nacl.public.PrivateKey.generate()
    sealed = sealdoc.seal(b"x", keys=X25519Recipient(nacl_key.public_key))
    identity = X25519Identity.from_private_bytes(bytes(nacl_key))
    assert sealdoc.open(sealed, keys=identity) == b"x"
    assert X25519Identity.from_private_bytes(identity.private_bytes()).recipient == (
        identity.recipient
    )


@pytest.mark.parametrize(
    "bad", ["", "x25519:", "x25519:abc", "age1qqqq", "x25519:" + "!" * 43, b"short"]
)
def test_malformed_recipients_are_refused(bad: str | bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each says what is wrong
        X25519Recipient(bad)


def test_identity_files_plain_and_protected(tmp_path: Path) -> None:
    phone = X25519Identity.generate()
    sealed = sealdoc.seal(b"x", keys=phone.to_recipient())
    plain, protected = tmp_path / "plain.key", tmp_path / "protected.key"
    phone.save(plain)
    phone.save(protected, passphrase="laptop passphrase 2026")
    for path in (plain, protected):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert phone.recipient in plain.read_text()
    assert protected.read_bytes()[:4] == b"SDOC"
    assert sealdoc.open(sealed, keys=X25519Identity.load(plain)) == b"x"
    loaded = X25519Identity.load(protected, passphrase="laptop passphrase 2026")
    assert sealdoc.open(sealed, keys=loaded) == b"x"
    with pytest.raises(ValueError, match="passphrase"):
        X25519Identity.load(protected)
    with pytest.raises(DecryptionError):
        X25519Identity.load(protected, passphrase="wrong passphrase 2026")
    (tmp_path / "junk.key").write_text("hello\n")
    with pytest.raises(sealdoc.FormatError, match="not a sealdoc X25519 identity"):
        X25519Identity.load(tmp_path / "junk.key")


def test_no_private_key_in_repr() -> None:
    phone = X25519Identity.generate()
    secret = phone.private_bytes()
    for form in (secret.hex(), repr(secret)):
        assert form not in repr(phone)


def test_the_x25519_key_uri_scheme_names_a_recipient() -> None:
    phone = X25519Identity.generate()
    recipient = sealdoc.key_from_uri(phone.recipient)
    assert isinstance(recipient, X25519Recipient)
    assert recipient == phone.to_recipient()
    with pytest.raises(sealdoc.KeyUriError, match="not an X25519 recipient"):
        sealdoc.key_from_uri("x25519:bad")


def test_a_recipient_is_not_made_from_a_number() -> None:
    with pytest.raises(TypeError, match="not int"):
        X25519Recipient(32)  # bytes(32) would be an all-zero key


# -- deliver -------------------------------------------------------------------------------


def vault_document(ring: MemoryKeyring) -> bytes:
    return sealdoc.seal(
        b"statement 2026-11: balance 1,204.17",
        keys=[ring, MemoryKeyring(key_id="escrow")],
        context={"tenant": "acme-bank"},
        binding={"sealdoc:doc_id": "C-1029/2026-11"},
    )


BINDING = {"sealdoc:doc_id": "C-1029/2026-11"}


def test_deliver_leaves_no_institution_wrap_and_a_fresh_key(ring: MemoryKeyring) -> None:
    stored = vault_document(ring)
    phone = X25519Identity.generate()
    copy = sealdoc.deliver(stored, keys=ring, to=[pw(), phone.to_recipient()], binding=BINDING)
    header = sealdoc.inspect(copy)
    assert [w.kind for w in header.wrapped_keys] == ["password", "x25519"]
    assert header.context == {"tenant": "acme-bank"}
    assert not header.has_binding  # the customer could not supply the doc id
    with pytest.raises(DecryptionError):
        sealdoc.open(copy, keys=ring)
    assert sealdoc.open(copy, keys=pw()) == b"statement 2026-11: balance 1,204.17"
    assert sealdoc.open(copy, keys=phone) == b"statement 2026-11: balance 1,204.17"
    # a fresh document key: salt, nonce prefix and commitment all differ
    assert copy[9 + 7 : 9 + 7 + 71] != stored[9 + 7 : 9 + 7 + 71]
    # and the stored copy is untouched and still opens
    assert sealdoc.open(stored, keys=ring, binding=BINDING).startswith(b"statement")


def test_deliver_by_rewrap_shares_the_body(ring: MemoryKeyring) -> None:
    stored = vault_document(ring)
    copy = sealdoc.deliver(stored, keys=ring, to=pw(), fresh_key=False, binding=BINDING)
    assert [w.kind for w in sealdoc.inspect(copy).wrapped_keys] == ["password"]
    stored_header = sealdoc.inspect(stored).header_length
    assert copy[sealdoc.inspect(copy).header_length :] == stored[stored_header:]
    with fails_with(DecryptionError, "binding"):
        sealdoc.open(copy, keys=pw())
    assert sealdoc.open(copy, keys=pw(), binding=BINDING).startswith(b"statement")


def test_deliver_refuses_a_recipient_that_is_the_institution(ring: MemoryKeyring) -> None:
    stored = vault_document(ring)
    with pytest.raises(ValueError, match="recipients only"):
        sealdoc.deliver(stored, keys=ring, to=[pw(), ring], binding=BINDING)


def test_deliver_with_wrong_keys_or_binding_writes_nothing(ring: MemoryKeyring) -> None:
    stored = vault_document(ring)
    with pytest.raises(DecryptionError):
        sealdoc.deliver(stored, keys=MemoryKeyring(), to=pw(), binding=BINDING)
    with pytest.raises(DecryptionError):
        sealdoc.deliver(stored, keys=ring, to=pw(), binding={"sealdoc:doc_id": "C-2000/2026-11"})
    with pytest.raises(DecryptionError):
        sealdoc.deliver(stored[:-1], keys=ring, to=pw(), binding=BINDING)


def test_vault_deliver(tmp_path: Path, ring: MemoryKeyring) -> None:
    vault = Vault(f"file://{tmp_path}/vault", keys=ring)
    vault.put("C-1029/2026-11", b"statement", context={"tenant": "acme-bank"})
    copy = vault.deliver("C-1029/2026-11", to=pw())
    assert sealdoc.open(copy, keys=pw()) == b"statement"
    shared = vault.deliver("C-1029/2026-11", to=pw(), fresh_key=False)
    assert sealdoc.open(shared, keys=pw(), binding={"sealdoc:doc_id": "C-1029/2026-11"}) == (
        b"statement"
    )
    with pytest.raises(sealdoc.DocumentNotFoundError):
        vault.deliver("C-1029/2026-12", to=pw())


# -- the strength check --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "empty"),
        ("Tr0ub4dor&3", "at least 12"),
        ("850314123456", "only digits"),
        ("8503141234567", "only digits"),
        ("1985-03-14", "date"),
        ("14/03/1985", "date"),
        ("14.03.1985", "date"),
        ("aaaaaaaaaaaaaaaa", "fewer than 5"),
        ("------------", "fewer than 5"),  # separators only
        ("Password2026!!", "common password"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    with pytest.raises(WeakPasswordError, match=reason) as caught:
        sealdoc.check_password(password)
    if password:
        assert password not in str(caught.value)
        assert all(password not in r for r in caught.value.reasons)


def test_what_is_known_about_the_customer_is_refused() -> None:
    with pytest.raises(WeakPasswordError, match="known about the customer") as caught:
        sealdoc.check_password("Smith-850314-1234", personal=["850314-1234", "Jane Smith"])
    assert "850314" not in str(caught.value)
    sealdoc.check_password("orbit-plum-kettle-sunrise", personal=["850314-1234"])


def test_generated_passwords_pass_and_differ() -> None:
    made = {sealdoc.generate_password() for _ in range(50)}
    assert len(made) == 50
    for password in made:
        assert sealdoc.password_problems(password) == []
        assert len(password) == 24
    with pytest.raises(ValueError, match="at least 3"):
        sealdoc.generate_password(groups=2)


def test_a_delivery_password_survives_the_round_trip(ring: MemoryKeyring) -> None:
    password = sealdoc.generate_password()
    sealdoc.check_password(password)
    copy = sealdoc.deliver(vault_document(ring), keys=ring, to=pw(password), binding=BINDING)
    assert sealdoc.open(copy, keys=pw(password)).startswith(b"statement")


def test_wrapped_keys_fit_the_format() -> None:
    from sealdoc import _format as fmt

    for provider in (pw(), Password(PW, kdf="pbkdf2-sha256"), X25519Identity.generate()):
        dek = os.urandom(32)
        from sealdoc.providers import AssociatedData

        wrapped = provider.wrap(dek, AssociatedData(digest=os.urandom(32)))
        assert isinstance(wrapped, WrappedKey)
        fmt.check_wrapped_key(wrapped)
        assert len(wrapped.payload) in (85, 81, 80)


def test_deliver_is_audited_without_secrets(ring: MemoryKeyring) -> None:
    seen: list[sealdoc.AuditEvent] = []
    remove = sealdoc.add_audit_hook(seen.append)
    try:
        sealdoc.deliver(vault_document(ring), keys=ring, to=pw(), binding=BINDING)
    finally:
        remove()
    (event,) = [e for e in seen if e.operation == "deliver"]
    assert (event.outcome, event.detail) == ("ok", "fresh key for password")
    assert event.context == {"tenant": "acme-bank"}
    blob = repr([e.as_dict() for e in seen])
    assert PW not in blob
    assert "C-1029" not in blob  # the binding is never in an event


def test_a_document_with_many_password_wraps_costs_at_most_four_kdfs() -> None:
    """A crafted file with many password wraps: only four KDFs are run."""
    others = [pw(f"other-password-{n:02d}") for n in range(6)]
    sealed = sealdoc.seal(b"x", keys=[*others, pw()])  # the right one is seventh
    with pytest.raises(DecryptionError) as caught:
        sealdoc.open(sealed, keys=pw())
    reasons = [a.reason for a in caught.value.attempts]
    assert reasons.count("the password does not open it (wrong password, or altered)") == 4
    assert reasons.count("refused: this provider tries no more wraps in one document") == 3
    # four wraps, the right one among them, open as usual
    assert sealdoc.open(sealdoc.seal(b"y", keys=[*others[:3], pw()]), keys=pw()) == b"y"


def test_an_identity_saved_without_overwrite_never_replaces_a_file(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    first = X25519Identity.generate()
    first.save(path, overwrite=False)
    second = X25519Identity.generate()
    with pytest.raises(FileExistsError):
        second.save(path, overwrite=False)
    assert X25519Identity.load(path).recipient == first.recipient
    assert [p.name for p in tmp_path.iterdir()] == ["device.key"]  # no temp file left
    second.save(path)  # the default replaces, as before
    assert X25519Identity.load(path).recipient == second.recipient
