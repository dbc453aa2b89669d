"""``rewrap_all(add=...)``: adding a (post-quantum) device wrap to every copy in a store.

docs/delivery.md, "Migration from X25519 to post-quantum": idempotent from
headers alone, resumable, and under the mixing rule (_pq_mix).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sealdoc
from sealdoc import CheckpointError, LocalKeyring, MemoryKeyring, Vault
from sealdoc.providers import HybridIdentity, KeyProvider, X25519Identity

from .stores import Store, adds_up, filled

PQ = "mlkem768x25519:device#1"
CLASSIC = "x25519:device#1"
RING_LABEL = "memory:default@kr-00000000000a#1"


def body(vault: Vault, doc_id: str) -> bytes:
    sealed = vault._read_sealed(doc_id)
    return sealed[sealdoc.inspect(sealed).header_length :]


def device_copies(store: Store, ring: MemoryKeyring, count: int) -> tuple[Vault, X25519Identity]:
    """A store of copies with the institution's wrap and an X25519 device wrap each."""
    vault = filled(store, ring, count)
    classic = X25519Identity.generate()
    report = vault.rewrap_all(add=[classic.recipient], workers=2)
    assert (report.rewritten, report.added) == (count, {CLASSIC: count})
    return vault, classic


def opened_with(store: Store, identity: KeyProvider, doc_id: str) -> bytes:
    return Vault(store.url, keys=[identity], storage_options=store.storage_options).get(doc_id)


def test_a_store_moves_from_x25519_to_post_quantum(store: Store, ring: MemoryKeyring) -> None:
    vault, classic = device_copies(store, ring, 6)
    bodies = {d: body(vault, d) for d in vault.list()}
    pq = HybridIdentity.generate()
    refused = vault.rewrap_all(add=[pq.recipient], workers=2)
    adds_up(refused)
    assert (refused.rewritten, len(refused.failed), refused.added) == (0, 6, {})
    assert all("only as strong as X25519" in f.error for f in refused.failed)
    assert vault.inventory() == {RING_LABEL: 6, CLASSIC: 6}  # nothing written
    moved = vault.rewrap_all(add=[pq.recipient], drop=["x25519:device"], workers=2)
    adds_up(moved)
    assert (moved.rewritten, moved.failed, moved.added) == (6, (), {PQ: 6})
    assert moved.after == {RING_LABEL: 6, PQ: 6}
    assert vault.inventory() == {RING_LABEL: 6, PQ: 6}
    assert {d: body(vault, d) for d in vault.list()} == bodies  # a rewrap: bodies untouched
    assert opened_with(store, pq, "docs/0003") == b"statement 3"
    with pytest.raises(sealdoc.DecryptionError):
        opened_with(store, classic, "docs/0003")
    # a rerun decides from the headers alone: keys that open nothing skip everything
    stranger = Vault(store.url, keys=MemoryKeyring(), storage_options=store.storage_options)
    again = stranger.rewrap_all(add=[pq.recipient], drop=["x25519:device"])
    assert (again.rewritten, again.skipped, again.failed, again.added) == (0, 6, (), {})
    dry = vault.rewrap_all(add=[pq.recipient], dry_run=True)
    assert (dry.would_rewrite, dry.skipped) == (0, 6)


def test_allow_classical_keeps_both_for_a_window(store: Store, ring: MemoryKeyring) -> None:
    vault, classic = device_copies(store, ring, 4)
    pq = HybridIdentity.generate()
    window = vault.rewrap_all(add=[pq.recipient], allow_classical=True)
    assert (window.rewritten, window.added) == (4, {PQ: 4})
    assert vault.inventory() == {RING_LABEL: 4, CLASSIC: 4, PQ: 4}
    assert opened_with(store, classic, "docs/0001") == b"statement 1"
    assert opened_with(store, pq, "docs/0001") == b"statement 1"
    # already carrying the wrap: skipped, the mixing rule has nothing new to judge
    again = vault.rewrap_all(add=[pq.recipient])
    assert (again.rewritten, again.skipped, again.failed) == (0, 4, ())
    # closing the window later: the drop alone is still to do, and is done
    closed = vault.rewrap_all(add=[pq.recipient], drop=["x25519:device"])
    assert (closed.rewritten, closed.added) == (4, {})
    assert vault.inventory() == {RING_LABEL: 4, PQ: 4}


def test_a_checkpoint_resumes_and_names_the_recipient(
    store: Store, ring: MemoryKeyring, tmp_path: Path
) -> None:
    vault = filled(store, ring, 5)
    pq = HybridIdentity.generate()
    checkpoint = tmp_path / "add.checkpoint"
    first = vault.rewrap_all(add=[pq.recipient], checkpoint=checkpoint)
    assert (first.rewritten, first.added) == (5, {PQ: 5})
    vault.put("docs/0005", b"statement 5")
    resumed = vault.rewrap_all(add=[pq.recipient], checkpoint=checkpoint)
    assert (resumed.resumed, resumed.rewritten, resumed.added) == (5, 1, {PQ: 1})
    # every device wrap is labelled "device": the checkpoint tells recipients apart
    with pytest.raises(CheckpointError):
        vault.rewrap_all(add=[HybridIdentity.generate().recipient], checkpoint=checkpoint)


def test_add_is_for_rewrap_only(tmp_path: Path, ring: MemoryKeyring) -> None:
    vault = filled(f"file://{tmp_path}/v", ring, 1)
    with pytest.raises(ValueError, match="add= is for rewrap_all"):
        vault.rotate_all(add=[HybridIdentity.generate().recipient])
    assert vault.inventory() == {RING_LABEL: 1}


def sealdoc_cli(d: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    env.update(SEALDOC_KEYRING=str(d / "ring.json"), SEALDOC_PASSPHRASE="add pass phrase")
    return subprocess.run(
        [sys.executable, "-m", "sealdoc", *args], cwd=d, env=env, capture_output=True, check=False
    )


def test_the_command_line_adds_store_wide(tmp_path: Path) -> None:
    d = tmp_path
    ring = LocalKeyring.create(
        d / "ring.json", passphrase="add pass phrase", opslimit=1, memlimit=8 << 20
    )
    url = f"file://{d}/store"
    vault = Vault(url, keys=ring)
    for i in range(5):
        vault.put(f"c/{i}", b"copy %d" % i)
    ring_label = f"local:default@{ring.ring_id}#1"
    classic, pq = X25519Identity.generate(), HybridIdentity.generate()
    added = sealdoc_cli(d, "rewrap", url, "--add", classic.recipient, "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"] == {CLASSIC: 5}
    refused = sealdoc_cli(d, "rewrap", url, "--add", pq.recipient)
    assert refused.returncode == 1
    assert refused.stderr.count(b"only as strong as X25519") == 5
    checkpoint = str(d / "add.ckpt")
    moved = sealdoc_cli(
        d, "rewrap", url, "--add", pq.recipient, "--drop", "x25519:device", "--resume", checkpoint
    )
    assert moved.returncode == 0, moved.stderr
    assert b"5 rewritten" in moved.stdout
    assert b"5 wraps added" in moved.stdout
    assert vault.inventory() == {ring_label: 5, PQ: 5}
    again = sealdoc_cli(d, "rewrap", url, "--add", pq.recipient, "--drop", "x25519:device")
    assert b"0 rewritten, 5 skipped" in again.stdout
    rotate = sealdoc_cli(d, "rotate", url, "--add", pq.recipient)
    assert rotate.returncode == 2
    assert b"--add is for rewrap" in rotate.stderr
