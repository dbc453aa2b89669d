"""Hybrid post-quantum device recipients (format.md 8.6) and age's key strings."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import sealdoc
from sealdoc import DecryptionError, FormatError, KeyUriError, MemoryKeyring, Vault
from sealdoc._age import bech32
from sealdoc._age import keys as age_keys
from sealdoc.providers import HybridIdentity, HybridRecipient, X25519Identity, X25519Recipient
from sealdoc.providers._devices import load_identities

# C2SP age's own examples (age.md, "Native recipient types")
SPEC_X25519_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
SPEC_X25519_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
SPEC_PQ_IDENTITY = "AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR"
SPEC_PQ_RECIPIENT_START = "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5"
SPEC_PQ_RECIPIENT_END = "9efhxpfqdkmhh6gjtqmwze9pyyzk3tlhl53k2ykx3qheyty7saeq0d3fzv49zc0k"
DATA = b"statement 2026-11: balance 1,204.17\n"


# -- bech32 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "valid",
    [  # BIP 173's valid Bech32 strings
        "A12UEL5L",
        "a12uel5l",
        "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    ],
)
def test_bech32_accepts_bip173_valid_strings(valid: str) -> None:
    hrp, _ = bech32.decode(valid)
    assert hrp == valid.lower()[: valid.lower().rfind("1")]


@pytest.mark.parametrize(
    ("invalid", "problem"),
    [
        ("pzry9x0s0muk", "no human-readable part"),
        ("1pzry9x0s0muk", "no human-readable part"),
        ("x1b4n0q5v", "outside bech32's alphabet"),
        ("li1dgmt3", "too short"),
        ("A1G7SGD8", "checksum"),
        ("a12UEL5L", "mixes upper and lower"),
        ("a12uel5l\u00e9", "outside ASCII"),
    ],
)
def test_bech32_names_what_is_wrong(invalid: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        bech32.decode(invalid)


def test_bech32_has_no_length_limit_and_round_trips() -> None:
    data = bytes(range(256)) * 5
    text = bech32.encode("age1pq", data)
    assert len(text) > 2000
    assert bech32.decode(text) == ("age1pq", data)
    assert bech32.decode(text.upper()) == ("age1pq", data)


def test_bech32_refuses_non_zero_padding() -> None:
    text = bech32.encode("age", bytes(32))
    # the last data character carries 4 padding bits: make them non-zero and re-checksum
    words = [bech32._VALUES[c] for c in text[4:-6]]
    words[-1] |= 1
    check = bech32._polymod(bech32._hrp_expand("age") + words + [0] * 6) ^ 1
    forged = "age1" + "".join(bech32._CHARSET[w] for w in words)
    forged += "".join(bech32._CHARSET[(check >> 5 * (5 - i)) & 31] for i in range(6))
    with pytest.raises(ValueError, match="padding is not canonical"):
        bech32.decode(forged)


# -- age's key strings ------------------------------------------------------------------


def test_the_spec_examples() -> None:
    classic = X25519Identity.from_age_string(SPEC_X25519_IDENTITY)
    assert classic.age_recipient == SPEC_X25519_RECIPIENT
    assert classic.to_age_string() == SPEC_X25519_IDENTITY
    assert X25519Recipient(SPEC_X25519_RECIPIENT) == classic.to_recipient()
    pq = HybridIdentity.from_string(SPEC_PQ_IDENTITY)
    assert pq.recipient.startswith(SPEC_PQ_RECIPIENT_START)
    assert pq.recipient.endswith(SPEC_PQ_RECIPIENT_END)
    assert pq.to_string() == SPEC_PQ_IDENTITY
    assert len(pq.recipient) == 1959


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (SPEC_PQ_IDENTITY[:-1], "checksum"),
        (SPEC_PQ_IDENTITY.lower(), "expected AGE-SECRET-KEY-1"),
        (SPEC_X25519_RECIPIENT, "expected AGE-SECRET-KEY-1"),
        (bech32.encode("age-secret-key-pq-", bytes(31)).upper(), "holds 32 bytes, this one 31"),
    ],
)
def test_bad_identity_strings(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        age_keys.parse_identity(text)
    assert text not in str(caught.value)  # a private key is never echoed


def test_an_invalid_ml_kem_key_is_named() -> None:
    """Right length, coefficients over q: FIPS 203's check, said as such."""
    with pytest.raises(ValueError, match="not a valid encapsulation key"):
        HybridRecipient(bech32.encode("age1pq", b"\xff" * 1216))


def test_the_kinds_do_not_cross() -> None:
    with pytest.raises(ValueError, match="HybridRecipient"):
        X25519Recipient(HybridIdentity.generate().recipient)
    with pytest.raises(ValueError, match="not a hybrid"):
        HybridRecipient(SPEC_X25519_RECIPIENT)
    with pytest.raises(ValueError, match="HybridIdentity"):
        X25519Identity.from_age_string(SPEC_PQ_IDENTITY)


# -- the wrap -------------------------------------------------------------------------------


def test_seal_and_open_for_a_hybrid_device() -> None:
    phone = HybridIdentity.generate()
    sealed = sealdoc.seal(DATA, keys=[phone.to_recipient()])
    (wrap,) = sealdoc.inspect(sealed).wrapped_keys
    assert (wrap.kind, wrap.key_id, wrap.version) == ("mlkem768x25519", "device", 1)
    assert sealdoc.open(sealed, keys=[phone]) == DATA
    with pytest.raises(DecryptionError) as caught:
        sealdoc.open(sealed, keys=[HybridIdentity.generate()])
    assert str(caught.value) == "cannot open this document"
    with pytest.raises(DecryptionError):
        sealdoc.open(sealed, keys=[X25519Identity.generate()])


def test_recipient_strings_work_as_key_uris() -> None:
    phone = HybridIdentity.generate()
    found = sealdoc.key_from_uri(phone.recipient)
    assert found == phone.to_recipient()
    sealed = sealdoc.seal(DATA, keys=[phone.recipient])  # a str in keys= is a key URI
    assert sealdoc.open(sealed, keys=[phone]) == DATA
    old = X25519Identity.generate()
    assert sealdoc.key_from_uri(old.age_recipient) == old.to_recipient()
    with pytest.raises(KeyUriError, match=r"not a hybrid \(age1pq1\) recipient: .*checksum"):
        sealdoc.key_from_uri(phone.recipient[:-1])


def test_secrets_stay_out_of_repr_and_recipients_pickle() -> None:
    phone = HybridIdentity.generate()
    assert phone.to_string() not in repr(phone)
    assert "private" in repr(phone)
    recipient = HybridRecipient(phone.recipient, label="tablet")
    again = pickle.loads(pickle.dumps(recipient))
    assert again == recipient
    assert again.current_key().key_id == "tablet"


def test_identity_files_plain_and_protected(tmp_path: Path) -> None:
    phone = HybridIdentity.generate()
    phone.save(tmp_path / "plain.key")
    text = (tmp_path / "plain.key").read_text()
    assert f"# public key: {phone.recipient}\n" in text
    assert (tmp_path / "plain.key").stat().st_mode & 0o777 == 0o600
    assert HybridIdentity.load(tmp_path / "plain.key").recipient == phone.recipient
    phone.save(tmp_path / "locked.key", passphrase="laptop passphrase 2026")
    assert phone.to_string().encode() not in (tmp_path / "locked.key").read_bytes()
    with pytest.raises(ValueError, match="protected"):
        HybridIdentity.load(tmp_path / "locked.key")
    loaded = HybridIdentity.load(tmp_path / "locked.key", passphrase="laptop passphrase 2026")
    assert loaded.recipient == phone.recipient
    with pytest.raises(DecryptionError):
        HybridIdentity.load(tmp_path / "locked.key", passphrase="wrong")


def test_load_identities_reads_every_kind(tmp_path: Path) -> None:
    pq, classic = HybridIdentity.generate(), X25519Identity.generate()
    (tmp_path / "keys.txt").write_text(
        f"# two keys, as age writes them\n{pq.to_string()}\n\n{classic.to_age_string()}\n"
    )
    found = load_identities(tmp_path / "keys.txt")
    assert [i.recipient for i in found] == [pq.recipient, classic.recipient]
    classic.save(tmp_path / "sealdoc.key", passphrase="laptop passphrase 2026")
    (old,) = load_identities(tmp_path / "sealdoc.key", passphrase="laptop passphrase 2026")
    assert old.recipient == classic.recipient
    pq.save(tmp_path / "pq.key", passphrase="laptop passphrase 2026")
    (new,) = load_identities(tmp_path / "pq.key", passphrase="laptop passphrase 2026")
    assert new.recipient == pq.recipient
    with pytest.raises(DecryptionError):
        load_identities(tmp_path / "pq.key", passphrase="wrong passphrase 2026")
    (tmp_path / "bad.txt").write_text(f"{pq.to_string()[:-2]}\n")
    with pytest.raises(FormatError, match="line 1: not an age identity") as caught:
        load_identities(tmp_path / "bad.txt")
    assert pq.to_string()[:-2] not in str(caught.value)


# -- the mixing rule, delivery and migration ---------------------------------------------------


def test_deliver_keeps_a_pq_copy_free_of_x25519_unless_asked() -> None:
    ring = MemoryKeyring()
    stored = sealdoc.seal(DATA, keys=ring)
    pq, classic = HybridIdentity.generate(), X25519Identity.generate()
    both = [pq.to_recipient(), classic.to_recipient()]
    for fresh_key in (True, False):
        with pytest.raises(ValueError, match="only as strong as X25519"):
            sealdoc.deliver(stored, keys=ring, to=both, fresh_key=fresh_key)
        mixed = sealdoc.deliver(
            stored, keys=ring, to=both, fresh_key=fresh_key, allow_classical=True
        )
        assert sealdoc.open(mixed, keys=[classic], binding=None) == DATA
    copy = sealdoc.deliver(stored, keys=ring, to=[pq.to_recipient()])
    assert [w.kind for w in sealdoc.inspect(copy).wrapped_keys] == ["mlkem768x25519"]
    assert sealdoc.open(copy, keys=[pq]) == DATA


def test_vault_deliver_to_a_pq_device(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    vault = Vault(f"file://{tmp_path}/v", keys=ring)
    vault.put("C-1/2026-11", DATA)
    pq = HybridIdentity.generate()
    copy = vault.deliver("C-1/2026-11", to=[pq.recipient])
    assert sealdoc.open(copy, keys=[pq]) == DATA
    with pytest.raises(ValueError, match="only as strong"):
        vault.deliver("C-1/2026-11", to=[pq.recipient, X25519Identity.generate().recipient])


def test_migration_on_the_device_rewrap_add_and_drop() -> None:
    """A copy delivered for X25519: the device adds its hybrid key and drops the old wrap."""
    ring = MemoryKeyring()
    old, new = X25519Identity.generate(), HybridIdentity.generate()
    copy = sealdoc.deliver(sealdoc.seal(DATA, keys=ring), keys=ring, to=[old.to_recipient()])
    with pytest.raises(ValueError, match="only as strong as X25519"):
        sealdoc.rewrap(copy, keys=[old], add=[new.to_recipient()])
    moved = sealdoc.rewrap(copy, keys=[old], add=[new.to_recipient()], drop="x25519:device")
    assert [w.kind for w in sealdoc.inspect(moved).wrapped_keys] == ["mlkem768x25519"]
    assert sealdoc.open(moved, keys=[new]) == DATA
    with pytest.raises(DecryptionError):
        sealdoc.open(moved, keys=[old])
    window = sealdoc.rewrap(copy, keys=[old], add=[new.recipient], allow_classical=True)
    assert sealdoc.open(window, keys=[old]) == DATA
    assert sealdoc.open(window, keys=[new]) == DATA
    # bringing an already-mixed copy up to date keeps its mix: no new rule applies
    assert sealdoc.open(sealdoc.rewrap(window, keys=[new]), keys=[new]) == DATA


def test_the_budget_is_32_wraps_like_x25519() -> None:
    assert HybridIdentity.max_unwraps_per_document == 32
