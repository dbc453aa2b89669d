"""Inventory: every sealed object counted, whatever its name; the rest listed; one read each."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec

import sealdoc
from sealdoc import MemoryKeyring, Vault

from .stores import filled
from .test_bulk_engine import hooked_vault, memory_url


def test_inventory_counts_every_sealed_object_and_lists_the_rest(tmp_path: Path) -> None:
    # keyrings without ids: the labels below are about inventory, not ring ids
    ring, escrow = MemoryKeyring(ring_id=None), MemoryKeyring(key_id="escrow", ring_id=None)
    url = f"file://{tmp_path}/store"
    vault = filled(url, ring, 4)
    vault.put("docs/escrowed", b"x")
    vault.rewrap_all(prefix="docs/escrowed", to=[ring, escrow])
    # a file written through the sealdoc:: protocol: not named *.sdoc
    with fsspec.open(f"sealdoc::{url}/exports/balances.csv", "wb", sealdoc={"keys": ring}) as f:
        f.write(b"customer,balance\n")
    (tmp_path / "store" / "notes.txt").write_text("not sealed")
    (tmp_path / "store" / "docs" / "0002.sdoc").write_bytes(b"SDOC\x01")
    inv = Vault(url, keys=MemoryKeyring()).inventory(workers=4)
    assert inv.counts == {"memory:default#1": 5, "memory:escrow#1": 1}
    assert inv.documents == 5
    assert inv.only_on == {"memory:default#1": 4}  # the escrowed one survives either key
    assert [name for name, _ in inv.unreadable] == ["docs/0002.sdoc", "notes.txt"]
    assert "truncated" in inv.unreadable[0][1]
    assert "no SDOC magic" in inv.unreadable[1][1]
    assert inv.by_kind == {"memory": {"default": {1: 5}, "escrow": {1: 1}}}
    assert inv == {"memory:default#1": 5, "memory:escrow#1": 1}  # still a mapping
    data = json.loads(inv.to_json())
    assert data["unreadable"][1] == {"name": "notes.txt", "reason": inv.unreadable[1][1]}
    assert data["by_kind"]["memory"]["default"] == {"1": 5}


def test_only_on_ignores_wraps_no_custodian_can_open() -> None:
    ring = MemoryKeyring()
    recipient = sealdoc.providers.X25519Identity.generate().recipient
    vault = Vault(memory_url(), keys=[ring, recipient])
    vault.put("d", b"x")
    inv = vault.inventory()
    assert inv.documents == 1
    ring_label = ring.current_key().label
    assert inv.only_on[ring_label] == 1  # the device's wrap does not save it
    assert len(inv.counts) == 2


def test_inventory_reads_each_object_once() -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 30)
    calls: list[str] = []
    hooked = hooked_vault(vault, lambda call, path: calls.append(call))
    assert hooked.inventory().documents == 30
    assert calls == ["read_head"] * 30
