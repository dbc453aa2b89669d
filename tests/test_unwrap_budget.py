"""Every provider has a per-document unwrap budget (format.md 9.1).

A crafted document with 32 wraps naming one victim key made one ``open()``
try that key 32 times: 32 KMS Decrypt calls, or 32 HSM operations.
"""

from __future__ import annotations

import pytest

import sealdoc
from sealdoc import DecryptionError, MemoryKeyring, WrappedKey
from sealdoc._envelope import DEFAULT_UNWRAPS_PER_KEY
from sealdoc.providers import (
    AssociatedData,
    HasKind,
    KeyProvider,
    Password,
    UnwrapBudget,
    X25519Identity,
)


class Counting:
    """Wraps a provider and counts its unwrap calls."""

    def __init__(self, inner: KeyProvider) -> None:
        self.inner = inner
        self.unwraps = 0

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return self.inner.wrap(dek, ad)

    def handles(self, wrapped: WrappedKey) -> bool:
        return self.inner.handles(wrapped)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        self.unwraps += 1
        return self.inner.unwrap(wrapped, ad)


class Budgeted(Counting):
    def __init__(self, inner: KeyProvider, budget: object) -> None:
        super().__init__(inner)
        self.max_unwraps_per_document = budget


def thirty_two_wraps_of_one_key() -> tuple[bytes, MemoryKeyring]:
    """32 wraps of memory:default#1, none of which the opener's KEK opens.

    Keyrings without a keyring id, so that each one labels its key alike.
    """
    sealed = sealdoc.seal(b"x", keys=[MemoryKeyring(ring_id=None)] * 32)
    assert len(sealdoc.inspect(sealed).wrapped_keys) == 32
    return sealed, MemoryKeyring(ring_id=None)  # the same key id and version, another KEK


def test_a_keyring_tries_one_key_at_most_twice_per_document() -> None:
    sealed, victim = thirty_two_wraps_of_one_key()
    counting = Counting(victim)
    with pytest.raises(DecryptionError) as info:
        sealdoc.open(sealed, keys=counting)
    assert counting.unwraps == DEFAULT_UNWRAPS_PER_KEY == 2
    reasons = [a.reason for a in info.value.attempts]
    assert reasons.count("refused: this provider tries no more wraps in one document") == 30


def test_the_budget_is_per_key_so_other_keys_are_still_tried() -> None:
    ring = MemoryKeyring(ring_id=None)
    escrow = ring.add_key("escrow")
    decoys = [MemoryKeyring(ring_id=None)] * 3  # the same key id, another KEK: not openable by ring
    sealed = sealdoc.seal(b"x", keys=[*decoys, escrow])
    counting = Counting(ring)
    assert sealdoc.open(sealed, keys=counting) == b"x"
    assert counting.unwraps == 3  # two of the decoys, then escrow


def test_a_declared_budget_replaces_the_default() -> None:
    sealed, victim = thirty_two_wraps_of_one_key()
    one = Budgeted(victim, 1)
    with pytest.raises(DecryptionError):
        sealdoc.open(sealed, keys=one)
    assert one.unwraps == 1
    generous = Budgeted(victim, 32)
    with pytest.raises(DecryptionError):
        sealdoc.open(sealed, keys=generous)
    assert generous.unwraps == 32
    for bad in (-1, "2", True, 1.5):
        with pytest.raises(TypeError, match="max_unwraps_per_document"):
            sealdoc.open(sealed, keys=Budgeted(victim, bad))


def test_the_capabilities_are_declared_protocols() -> None:
    assert isinstance(Password("correct horse battery"), UnwrapBudget)
    assert Password.max_unwraps_per_document == 4
    identity = X25519Identity.generate()
    assert isinstance(identity, UnwrapBudget)
    assert not isinstance(MemoryKeyring(ring_id=None), UnwrapBudget)
    assert isinstance(MemoryKeyring(ring_id=None), HasKind)
    assert not isinstance(Counting(MemoryKeyring(ring_id=None)), HasKind)


def test_a_device_among_many_still_opens_its_wrap() -> None:
    """Every X25519 wrap carries the label ``device``: the per-key default would stop at 2."""
    devices = [X25519Identity.generate() for _ in range(5)]
    sealed = sealdoc.seal(b"x", keys=[d.to_recipient() for d in devices])
    assert sealdoc.open(sealed, keys=devices[-1]) == b"x"


@pytest.mark.parametrize("how", ["add", "drop", "up to date"])
def test_a_rewrap_owner_check_spends_from_the_same_two_tries(how: str) -> None:
    """A rewrap asks of each wrap whether it is the opener's own (to replace or drop
    it): those probes count against the open's tries, so 31 wraps naming the opener's
    key cost two unwraps in all, not one plus four (review of issue 19.4)."""
    mine = MemoryKeyring(ring_id=None)
    sealed = sealdoc.seal(b"x", keys=[mine] + [MemoryKeyring(ring_id=None) for _ in range(30)])
    counting = Counting(mine)
    if how == "add":
        sealdoc.rewrap(sealed, keys=counting, add=counting)
    elif how == "drop":
        sealdoc.rewrap(sealed, keys=counting, drop=counting)
    else:
        sealdoc.rewrap(sealed, keys=counting)
    assert counting.unwraps <= DEFAULT_UNWRAPS_PER_KEY
