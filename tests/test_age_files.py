"""age files (C2SP age v1): the CCTV vectors, round trips, hostile headers, constant memory."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest

import sealdoc
from sealdoc import DecryptionError, FormatError
from sealdoc._age import header as age_header
from sealdoc._age import stanzas
from sealdoc.providers import HybridIdentity, X25519Identity

CCTV = Path(__file__).parent / "age_vectors" / "cctv"
VECTORS = sorted(p.name for p in CCTV.iterdir() if p.name not in ("LICENSE", "SOURCE.md"))
# CCTV's outcomes, as sealdoc's errors (tests/age_vectors/cctv/SOURCE.md)
OUTCOME: dict[str, type[Exception] | None] = {
    "success": None,
    "header failure": FormatError,
    "armor failure": FormatError,
    "no match": DecryptionError,
    "HMAC failure": DecryptionError,
    "payload failure": DecryptionError,
}
STRONG = "quartz-lantern-mosaic-ridge-81"


def _vector(name: str) -> tuple[dict[str, Any], bytes]:
    head, body = (CCTV / name).read_bytes().split(b"\n\n", 1)
    meta: dict[str, Any] = {"identities": [], "passphrase": None}
    for line in head.decode().splitlines():
        key, value = line.split(": ", 1)
        if key == "identity":
            meta["identities"].append(
                HybridIdentity.from_string(value)
                if value.startswith("AGE-SECRET-KEY-PQ-")
                else X25519Identity.from_age_string(value)
            )
        elif key == "passphrase":
            meta["passphrase"] = value
        else:
            meta[key] = value
    if meta.get("compressed") == "zlib":
        body = zlib.decompress(body)
    return meta, body


def test_all_cctv_vectors_are_vendored() -> None:
    assert len(VECTORS) == 143
    assert (CCTV / "LICENSE").read_text().startswith("Copyright 2019 The age Authors")


@pytest.mark.parametrize("name", VECTORS)
def test_cctv_vector(name: str) -> None:
    meta, data = _vector(name)
    expected = OUTCOME[meta["expect"]]
    out = io.BytesIO()
    if expected is None:
        sealdoc.open_age(data, out, keys=meta["identities"], passphrase=meta["passphrase"])
    else:
        with pytest.raises(expected):
            sealdoc.open_age(data, out, keys=meta["identities"], passphrase=meta["passphrase"])
    if expected is None or meta["expect"] == "payload failure":
        # what was released before any failure is exactly what CCTV lists
        assert hashlib.sha256(out.getvalue()).hexdigest() == meta["payload"]


@pytest.mark.parametrize(
    "name",
    [
        "hybrid_extra_argument",
        "hybrid_long_file_key",
        "hybrid_not_canonical_body",
        "hybrid_not_canonical_enc",
        "x25519_extra_argument",
        "scrypt_long_file_key",
    ],
)
def test_header_failures_that_still_unwrap_are_refused(name: str) -> None:
    """The stanzas decrypt at the crypto layer; only strict parsing refuses them."""
    meta, data = _vector(name)
    assert meta["expect"] == "header failure"
    with pytest.raises(FormatError, match="age"):
        sealdoc.open_age(data, keys=meta["identities"], passphrase=meta["passphrase"])


@pytest.mark.parametrize("armor", [False, True])
@pytest.mark.parametrize("size", [0, 1, 64 * 1024, 64 * 1024 + 1, 3 * 64 * 1024])
def test_round_trip_for_each_recipient_type(armor: bool, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    pq, classic = HybridIdentity.generate(), X25519Identity.generate()
    for to, keys in (([pq.recipient], [pq]), ([classic.age_recipient], [classic])):
        made = sealdoc.export_age(data, to=to, armor=armor)
        assert made.startswith(b"-----BEGIN AGE" if armor else b"age-encryption.org/v1\n")
        assert sealdoc.open_age(made, keys=keys) == data
    with_pw = sealdoc.export_age(data, passphrase=STRONG, work_factor=10, armor=armor)
    assert sealdoc.open_age(with_pw, passphrase=STRONG) == data


def test_wrong_identity_or_passphrase_is_the_bland_error() -> None:
    pq = HybridIdentity.generate()
    made = sealdoc.export_age(b"statement", to=[pq.to_recipient()])
    for keys in ([HybridIdentity.generate()], [X25519Identity.generate()]):
        with pytest.raises(DecryptionError) as caught:
            sealdoc.open_age(made, keys=keys)
        assert str(caught.value) == "cannot open this document"
    with_pw = sealdoc.export_age(b"x", passphrase=STRONG, work_factor=10)
    with pytest.raises(DecryptionError):
        sealdoc.open_age(with_pw, passphrase="not-the-passphrase")


def test_the_mixing_rules_of_age() -> None:
    pq, classic = HybridIdentity.generate(), X25519Identity.generate()
    with pytest.raises(ValueError, match="only as strong as X25519"):
        sealdoc.export_age(b"x", to=[pq.recipient, classic.age_recipient])
    mixed = sealdoc.export_age(b"x", to=[pq.recipient, classic.age_recipient], allow_classical=True)
    assert sealdoc.open_age(mixed, keys=[classic]) == b"x"
    with pytest.raises(ValueError, match="no other recipients"):
        sealdoc.export_age(b"x", to=[pq.recipient], passphrase=STRONG)


def test_export_checks_the_passphrase_and_bounds_scrypt() -> None:
    with pytest.raises(sealdoc.WeakPasswordError):
        sealdoc.export_age(b"x", passphrase="password1")
    for work_factor in (0, 21, 30):
        with pytest.raises(ValueError, match="1 to 20"):
            sealdoc.export_age(b"x", passphrase=STRONG, work_factor=work_factor)
    made = sealdoc.export_age(b"x", passphrase=STRONG, work_factor=10)
    assert b"-> scrypt " in made
    assert b" 10\n" in made


def _header(*stanza_lines: str) -> bytes:
    return ("age-encryption.org/v1\n" + "".join(stanza_lines) + "--- " + "A" * 43 + "\n").encode()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_header(*["-> X25519 " + "A" * 43 + "\n" + "A" * 43 + "\n"] * 33), "more than 32"),
        (_header("-> grease " + "a" * 5000 + "\n\n"), "longer than 4096"),
        (_header("-> g" + " a" * 9 + "\n\n"), "more than 8 arguments"),
        (_header(*["-> grease\n" + ("A" * 64 + "\n") * 100 + "\n"]), "body over 4096"),
        (_header("-> scrypt " + "A" * 22 + " 30\n" + "A" * 43 + "\n"), "over the limit of 20"),
        (_header("-> scrypt " + "A" * 22 + " 21\n" + "A" * 43 + "\n"), "over the limit of 20"),
        (
            _header("-> scrypt " + "A" * 22 + " 10\n" + "A" * 43 + "\n", "-> X25519 a\n\n"),
            "must be the only one",
        ),
        (b"age-encryption.org/v2\n", "unsupported version"),
        (b"not an age file at all\n", "not an age file"),
        (b"age-encryption.org/v1\n-> a\n", "cut short"),
        (b"age-encryption.org/v1\n-> a\n-> b\n", "not unpadded base64"),
    ],
)
def test_hostile_headers_fail_before_any_key_work(
    data: bytes, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []

    def scrypt_key(*args: object) -> bytes:
        ran.append(1)
        return bytes(32)

    monkeypatch.setattr(stanzas, "_scrypt_key", scrypt_key)
    with pytest.raises(FormatError, match=problem):
        sealdoc.open_age(data, passphrase=STRONG, keys=[X25519Identity.generate()])
    assert ran == []


def test_a_header_of_many_megabytes_is_refused_while_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endless = b"age-encryption.org/v1\n" + b"-> grease\n" + (b"A" * 64 + b"\n") * 50_000
    monkeypatch.setattr(age_header, "MAX_BODY", 10**9)
    with pytest.raises(FormatError, match="longer than 262144 bytes"):
        sealdoc.open_age(endless, passphrase=STRONG)


class _Zeros:
    """A plaintext of ``size`` zero bytes, made as it is read."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


class _Sink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def test_export_and_open_stream_in_constant_memory(tmp_path: Path) -> None:
    size = 48 * 1024 * 1024
    pq = HybridIdentity.generate()
    path = tmp_path / "big.age"
    tracemalloc.start()
    try:
        with path.open("wb") as dst:
            assert sealdoc.export_age(_Zeros(size), dst, to=[pq.recipient]) == size
        sink = _Sink()
        with path.open("rb") as src:
            assert sealdoc.open_age(src, sink, keys=[pq]) == size
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sink.digest.digest() == hashlib.sha256(bytes(size)).digest()
    assert path.stat().st_size > size
    assert peak < 2 * 1024 * 1024, peak  # a few 64 KiB chunks, not the file


def test_mutated_age_files_fail_only_with_sealdoc_errors() -> None:
    """A byte flipped, cut or inserted: FormatError or DecryptionError, never another error."""
    import contextlib
    import random

    pq, classic = HybridIdentity.generate(), X25519Identity.generate()
    seeds = [
        sealdoc.export_age(b"x" * 70_000, to=[pq.recipient]),
        sealdoc.export_age(b"y" * 100, to=[classic.age_recipient], armor=True),
        sealdoc.export_age(b"z" * 10, passphrase=STRONG, work_factor=2),
    ]
    rng = random.Random(23)
    for _ in range(600):
        data = bytearray(rng.choice(seeds))
        where = rng.randrange(len(data))
        action = rng.randrange(3)
        if action == 0:
            data[where] ^= 1 << rng.randrange(8)
        elif action == 1:
            del data[where:]
        else:
            data[where:where] = bytes([rng.randrange(256)])
        with contextlib.suppress(FormatError, DecryptionError):
            sealdoc.open_age(bytes(data), keys=[pq, classic], passphrase=STRONG)
