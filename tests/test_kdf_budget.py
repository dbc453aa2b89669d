"""An opener's password-KDF budget (format.md 8.2; issue 19, item 5).

Within the format's bounds a 3.6 KB file made with no key asked for four
Argon2id KDFs at 1 GiB x 4 passes: 12.3 s of CPU and 1 GiB per password
tried. A service opening uploads now refuses such a document before any KDF
runs; a customer's own device can allow it with ``KdfBudget.device()``.
The KDF functions are replaced by counters here, so a test that fails does
so at once, without spending the work it guards against.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

import pytest
from nacl.pwhash import argon2id

import sealdoc
from sealdoc import DecryptionError, KdfBudgetError, WrappedKey
from sealdoc.providers import AssociatedData, KdfBudget, Password, _password

from .test_cli import run

PASSWORD = "tulip-quarry-anthem-ledger"


class Forged:
    """Writes one chosen wrap: how an attacker crafts a document with no key."""

    def __init__(self, wrapped: WrappedKey) -> None:
        self.wrapped = wrapped

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return self.wrapped

    def handles(self, wrapped: WrappedKey) -> bool:
        return False

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise NotImplementedError


def argon2_wrap(memory_kib: int, passes: int) -> WrappedKey:
    params = struct.pack(">BII", 1, memory_kib, passes)
    return WrappedKey("password", "password", 1, params + os.urandom(16 + 12 + 48))


def pbkdf2_wrap(iterations: int) -> WrappedKey:
    return WrappedKey("password", "password", 1, struct.pack(">BI", 2, iterations) + os.urandom(76))


def crafted(wraps: Sequence[WrappedKey]) -> bytes:
    return sealdoc.seal(b"bait", keys=[Forged(w) for w in wraps])


@pytest.fixture
def kdf_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the KDFs the opener runs; each returns a key that opens nothing."""
    calls: list[str] = []

    def argon2(*args: object, **kwargs: object) -> bytes:
        calls.append("argon2id")
        return bytes(32)

    class Pbkdf2:
        def __init__(self, *args: object) -> None:
            pass

        def derive(self, secret: bytes) -> bytes:
            calls.append("pbkdf2")
            return bytes(32)

    monkeypatch.setattr(argon2id, "kdf", argon2)  # the module _password calls
    monkeypatch.setattr(_password, "PBKDF2HMAC", Pbkdf2)
    return calls


GIB_KIB = 1024 * 1024


def test_the_reported_file_fails_fast_before_any_kdf(kdf_calls: list[str]) -> None:
    doc = crafted([argon2_wrap(GIB_KIB, 4)] * 4)
    assert len(doc) < 4096
    with pytest.raises(KdfBudgetError) as info:
        sealdoc.open(doc, keys=Password(PASSWORD))
    assert kdf_calls == []
    message = str(info.value)
    assert "1,048,576 KiB x 4 passes" in message
    assert "KdfBudget.device()" in message
    assert PASSWORD not in message


@pytest.mark.parametrize(
    ("wraps", "what"),
    [
        ([argon2_wrap(128 * 1024 + 1, 2)], "KiB and"),  # memory per KDF
        ([argon2_wrap(100_000, 4)], "KiB-passes per KDF"),  # work per KDF
        ([argon2_wrap(128 * 1024, 3)] * 3, "per document"),  # each fits, the sum does not
        ([pbkdf2_wrap(1_200_001)], "per KDF"),
        ([pbkdf2_wrap(1_000_000)] * 3, "per document"),
    ],
)
def test_each_limit_of_the_default_budget(
    kdf_calls: list[str], wraps: list[WrappedKey], what: str
) -> None:
    with pytest.raises(KdfBudgetError, match=what):
        sealdoc.open(crafted(wraps), keys=Password(PASSWORD))
    assert kdf_calls == []


def test_a_limit_reached_exactly_is_within_budget(kdf_calls: list[str]) -> None:
    exact = [argon2_wrap(128 * 1024, 3), argon2_wrap(64 * 1024, 6), pbkdf2_wrap(1_200_000)]
    with pytest.raises(DecryptionError):
        sealdoc.open(crafted(exact), keys=Password(PASSWORD))
    assert kdf_calls == ["argon2id", "argon2id", "pbkdf2"]


def test_wraps_the_opener_would_not_try_cost_nothing(kdf_calls: list[str]) -> None:
    """Only the first four password wraps are tried (9.1); wraps declined unread are free."""
    cheap = [argon2_wrap(64 * 1024, 3)] * 4
    beyond = [argon2_wrap(GIB_KIB, 4)]  # the fifth: never tried
    over_ceiling = argon2_wrap(2 * GIB_KIB, 1)  # invalid: declined unread
    with pytest.raises(DecryptionError):
        sealdoc.open(crafted([over_ceiling, *cheap[:3], *beyond]), keys=Password(PASSWORD))
    assert kdf_calls == ["argon2id"] * 3


def test_a_device_budget_allows_every_valid_parameter(kdf_calls: list[str]) -> None:
    doc = crafted([argon2_wrap(GIB_KIB, 4)] * 4)
    with pytest.raises(DecryptionError):
        sealdoc.open(doc, keys=Password(PASSWORD, budget=KdfBudget.device()))
    assert kdf_calls == ["argon2id"] * 4
    own = KdfBudget(argon2_max_memory_kib=GIB_KIB, argon2_max_cost=4 * GIB_KIB)
    with pytest.raises(KdfBudgetError, match="per document"):
        sealdoc.open(doc, keys=Password(PASSWORD, budget=own))


def test_what_sealdoc_writes_by_default_opens_within_the_default_budget() -> None:
    """Real KDFs: the default Argon2id wrap, the HTML export's PBKDF2 wrap, and four
    recipients' wraps where the opener's password is the last."""
    for recipient in (Password(PASSWORD), Password(PASSWORD, kdf="pbkdf2-sha256")):
        doc = sealdoc.seal(b"statement", keys=recipient)
        assert sealdoc.open(doc, keys=Password(PASSWORD)) == b"statement"
    others = [Password(f"other-recipient-{i}-passphrase") for i in range(3)]
    doc = sealdoc.seal(b"statement", keys=[*others, Password(PASSWORD)])
    assert sealdoc.open(doc, keys=Password(PASSWORD)) == b"statement"


def test_what_deliver_writes_opens_within_the_default_budget() -> None:
    ring = sealdoc.MemoryKeyring()
    sealed = sealdoc.seal(b"statement", keys=ring)
    copy = sealdoc.deliver(sealed, keys=ring, to=Password(PASSWORD))
    assert sealdoc.open(copy, keys=Password(PASSWORD)) == b"statement"


def test_the_cli_refuses_in_one_line_and_opens_with_the_device_budget(tmp_path: Path) -> None:
    """``sealdoc open --kdf-budget device``: a customer's own copy sealed at 160 MiB."""
    strong = Password(PASSWORD, memory_kib=160 * 1024, iterations=2)
    (tmp_path / "copy.sdoc").write_bytes(sealdoc.seal(b"statement", keys=strong))
    args = ["open", "copy.sdoc", "--password-env", "PW", "-o", "out.txt"]
    refused = run(tmp_path, *args, passphrase=None, PW=PASSWORD)
    stderr = refused.stderr.decode()
    assert refused.returncode != 0
    assert "Traceback" not in stderr
    assert "refused before any KDF ran" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.txt").exists()
    opened = run(tmp_path, *args, "--kdf-budget", "device", passphrase=None, PW=PASSWORD)
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out.txt").read_bytes() == b"statement"


def test_a_rewrap_owner_check_runs_no_kdf_over_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """rewrap(add=...) asks of each password wrap whether it is the opener's: those
    probes spend from the open's budget, so wraps past the first four (which the
    up-front check never saw) cannot make it run a 1 GiB KDF (review of issue 19.5)."""
    memory: list[int] = []

    def argon2(*args: object, **kwargs: object) -> bytes:
        memory.append(int(kwargs["memlimit"]) // 1024)  # type: ignore[call-overload]
        return bytes(32)  # the same key at seal and open: the real wrap opens

    monkeypatch.setattr(argon2id, "kdf", argon2)
    default = Password(PASSWORD)
    cheap = [Forged(argon2_wrap(64 * 1024, 3)) for _ in range(3)]  # default cost each
    costly = [Forged(argon2_wrap(1024 * 1024, 4)) for _ in range(4)]  # 1 GiB x 4: valid
    sealed = sealdoc.seal(b"statement", keys=[default, *cheap, *costly])
    memory.clear()
    opener = Password(PASSWORD)  # the service budget
    sealdoc.rewrap(sealed, keys=opener, add=opener)
    assert memory
    assert max(memory) <= KdfBudget().argon2_max_memory_kib, memory
    assert len(memory) <= opener.max_unwraps_per_document + 1  # the tries, and the new wrap
