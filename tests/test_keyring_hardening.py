"""Keyring ids, rollback refusal, passphrase change and destroy with a grace period."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import sealdoc
from sealdoc import AuditEvent, KeyringError, KeyringRollbackError, LocalKeyring, MemoryKeyring
from sealdoc.providers import KeyRef
from sealdoc.providers._local_format import (
    kdf_aad,
    lock_path,
    outer_bytes,
    parse_outer,
    sidecar_path,
)

from .errors import fails_with

PASS = "correct horse battery staple"
FAST = {"opslimit": 1, "memlimit": 8 * 1024 * 1024}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
WEEK = timedelta(days=7)


def labels(doc: bytes) -> list[str]:
    return [w.label for w in sealdoc.inspect(doc).wrapped_keys]


def new_ring(path: Path) -> LocalKeyring:
    return LocalKeyring.create(path, passphrase=PASS, **FAST)


def make_legacy(path: Path) -> None:
    """Turn a keyring file into one written before ids and generations (same keys)."""
    ring = LocalKeyring.load(path, passphrase=PASS)
    kdf, _, nonce, ciphertext = parse_outer(path.read_bytes())
    file_key = ring._file.file_key
    body = json.loads(AESGCM(file_key).decrypt(nonce, ciphertext, kdf_aad(kdf)))
    legacy = {"keys": body["keys"]}
    nonce = bytes(12)
    sealed = AESGCM(file_key).encrypt(nonce, json.dumps(legacy).encode(), kdf_aad(kdf))
    path.write_bytes(outer_bytes(kdf, nonce, sealed))
    sidecar_path(path).unlink()
    lock_path(path).unlink()


# -- keyring ids ------------------------------------------------------------------------


def test_two_new_keyrings_never_label_alike(tmp_path: Path) -> None:
    a, b = new_ring(tmp_path / "a.json"), new_ring(tmp_path / "b.json")
    assert a.ring_id != b.ring_id
    assert re.fullmatch(r"kr-[0-9a-f]{12}", a.ring_id or "")
    doc = sealdoc.seal(b"statement", keys=a)
    assert labels(doc) == [f"local:default@{a.ring_id}#1"]
    assert not b.handles(sealdoc.inspect(doc).wrapped_keys[0])
    assert not sealdoc.is_current(doc, keys=b)
    moved = sealdoc.rewrap(doc, keys=a, to=b)  # really moved, not "already current"
    assert labels(moved) == [f"local:default@{b.ring_id}#1"]
    assert sealdoc.open(moved, keys=b) == b"statement"
    with fails_with(sealdoc.DecryptionError, "no provider given holds"):
        sealdoc.open(moved, keys=a)
    assert MemoryKeyring().ring_id != MemoryKeyring().ring_id


def test_rewrap_all_to_another_keyring_moves_every_document(tmp_path: Path) -> None:
    a, b = new_ring(tmp_path / "a.json"), new_ring(tmp_path / "b.json")
    vault = sealdoc.Vault(f"file://{tmp_path}/store", keys=a)
    for i in range(5):
        vault.put(f"d/{i}", b"doc %d" % i)
    both = sealdoc.Vault(f"file://{tmp_path}/store", keys=[a, b])
    report = both.rewrap_all(to=b)
    assert (report.rewritten, report.skipped) == (5, 0)  # before ids: "5 skipped"
    assert sealdoc.Vault(f"file://{tmp_path}/store", keys=b).inventory() == {
        f"local:default@{b.ring_id}#1": 5
    }


def test_names_and_full_key_ids_both_reach_a_key(tmp_path: Path) -> None:
    ring = new_ring(tmp_path / "a.json")
    tenant = ring.add_key("tenant-7")
    assert tenant.key_id == "tenant-7"
    assert tenant.current_key() == KeyRef("local", f"tenant-7@{ring.ring_id}", 1)
    assert ring.key(f"tenant-7@{ring.ring_id}").key_id == "tenant-7"
    assert ring.versions(f"tenant-7@{ring.ring_id}") == {1: "enabled"}
    with pytest.raises(ValueError, match="may not end in '@kr-'"):
        ring.add_key("x@kr-0123456789ab")
    with pytest.raises(ValueError, match="keyring id"):
        MemoryKeyring(ring_id="kr-XYZ")


def test_a_legacy_keyring_keeps_plain_ids_until_it_is_given_one(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    new_ring(path)
    make_legacy(path)
    legacy = LocalKeyring.load(path, passphrase=PASS)
    assert legacy.ring_id is None
    old_doc = sealdoc.seal(b"sealed before ids", keys=legacy)
    assert labels(old_doc) == ["local:default#1"]  # what older versions wrote
    assert sealdoc.is_current(old_doc, keys=legacy)

    ring_id = legacy.assign_id()
    assert re.fullmatch(r"kr-[0-9a-f]{12}", ring_id)
    again = LocalKeyring.load(path, passphrase=PASS)
    assert again.ring_id == ring_id  # persisted
    assert sealdoc.open(old_doc, keys=again) == b"sealed before ids"  # as the same named key
    assert not sealdoc.is_current(old_doc, keys=again)  # so a routine rewrap relabels it
    relabelled = sealdoc.rewrap(old_doc, keys=again)
    assert labels(relabelled) == [f"local:default@{ring_id}#1"]
    assert sealdoc.open(relabelled, keys=again) == b"sealed before ids"
    with pytest.raises(ValueError, match="already has the id"):
        again.assign_id()
    # a new keyring does not take plain ids for its own
    other = new_ring(tmp_path / "new.json")
    assert not other.handles(sealdoc.inspect(old_doc).wrapped_keys[0])


# -- rollback ----------------------------------------------------------------------------


def test_a_rolled_back_file_is_refused_by_a_running_keyring(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    old = path.read_bytes()  # generation 2: version 1 still enabled
    ring.destroy(1)
    assert ring.generation == 3
    path.write_bytes(old)
    sidecar_path(path).unlink()  # the in-process rule needs no sidecar
    with pytest.raises(KeyringRollbackError, match="generation 2, older than generation 3"):
        ring.rotate()
    assert path.read_bytes() == old  # nothing was written
    assert ring.versions() == {1: "destroyed", 2: "enabled"}
    assert isinstance(KeyringRollbackError("x"), KeyringError)


def test_a_fresh_load_notices_a_rolled_back_file_by_its_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    old = path.read_bytes()
    ring.destroy(1)
    path.write_bytes(old)
    with pytest.raises(KeyringRollbackError, match="allow_rollback=True"):
        LocalKeyring.load(path, passphrase=PASS)
    # restoring a backup on purpose: allowed, and the next save goes above the sidecar
    restored = LocalKeyring.load(path, passphrase=PASS, allow_rollback=True)
    assert restored.versions() == {1: "enabled", 2: "enabled"}
    restored.rotate()
    assert restored.generation == 4
    assert LocalKeyring.load(path, passphrase=PASS).versions() == {
        1: "enabled",
        2: "enabled",
        3: "enabled",
    }


_LOAD = """
import sys
from sealdoc import KeyringRollbackError, LocalKeyring
try:
    LocalKeyring.load(sys.argv[1], passphrase=sys.argv[2])
except KeyringRollbackError as exc:
    print("refused:", exc)
"""


def test_a_fresh_process_refuses_a_rolled_back_file(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    old = path.read_bytes()
    ring.destroy(1)
    path.write_bytes(old)  # a backup put back: it still holds version 1
    result = subprocess.run(
        [sys.executable, "-c", _LOAD, str(path), PASS],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.startswith("refused: keyring ")
    assert "generation 2, older than generation 3" in result.stdout
    assert PASS not in result.stdout


def test_a_fresh_process_refuses_a_rolled_back_file_whose_sidecar_was_deleted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    old = path.read_bytes()
    ring.destroy(1)
    path.write_bytes(old)
    sidecar_path(path).unlink()  # the lock file keeps a second record
    result = subprocess.run(
        [sys.executable, "-c", _LOAD, str(path), PASS],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "generation 2, older than generation 3" in result.stdout


def test_the_limit_both_records_deleted_and_an_old_copy_put_back(tmp_path: Path) -> None:
    """docs/keyring.md's stated limit: whoever can delete both records and replace the file
    defeats the check in a fresh process (a running one still refuses)."""
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    old = path.read_bytes()
    ring.destroy(1)
    path.write_bytes(old)
    sidecar_path(path).unlink()
    lock_path(path).unlink()
    assert LocalKeyring.load(path, passphrase=PASS).versions()[1] == "enabled"
    with pytest.raises(KeyringRollbackError):
        ring.rotate()


def test_a_legacy_file_gets_generations_from_its_first_save(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    new_ring(path)
    make_legacy(path)
    legacy = LocalKeyring.load(path, passphrase=PASS)
    assert legacy.generation == 0
    legacy.rotate()
    assert legacy.generation == 1
    assert json.loads(sidecar_path(path).read_text()) == {"generation": 1, "ring_id": None}


# -- passphrase --------------------------------------------------------------------------


def test_change_passphrase_re_encrypts_under_a_fresh_salt(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    doc = sealdoc.seal(b"x", keys=ring)
    copy_before = path.read_bytes()
    salt_before = json.loads(copy_before)["kdf"]["salt"]
    stale = LocalKeyring.load(path, passphrase=PASS)
    ring.change_passphrase("a new long passphrase")
    assert json.loads(path.read_bytes())["kdf"]["salt"] != salt_before
    with pytest.raises(KeyringError, match="wrong passphrase"):
        LocalKeyring.load(path, passphrase=PASS)
    fresh = LocalKeyring.load(path, passphrase="a new long passphrase")
    assert sealdoc.open(doc, keys=fresh) == b"x"
    ring.rotate()  # the object that changed it goes on under the new key
    assert LocalKeyring.load(path, passphrase="a new long passphrase").primary_version() == 2
    with pytest.raises(KeyringError, match="re-encrypted"):
        stale.rotate()
    with pytest.raises(ValueError, match="at least 8"):
        ring.change_passphrase("short")
    # what the docs warn about: a copy made before opens with the old passphrase
    (tmp_path / "backup.json").write_bytes(copy_before)
    assert LocalKeyring.load(tmp_path / "backup.json", passphrase=PASS).versions() == {1: "enabled"}


def test_destroy_under_a_new_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    ring.destroy(1, new_passphrase="after the shredding")
    backup = tmp_path / "backup.json"
    backup.write_bytes(path.read_bytes())
    again = LocalKeyring.load(path, passphrase="after the shredding")
    assert again.versions() == {1: "destroyed", 2: "enabled"}
    with pytest.raises(KeyringError, match="wrong passphrase"):
        LocalKeyring.load(path, passphrase=PASS)
    with pytest.raises(ValueError, match="pass new_passphrase to purge"):
        again.destroy(2, after=WEEK, new_passphrase="yet another one")


# -- destroy with a grace period ------------------------------------------------------------


@pytest.fixture
def events() -> Iterator[list[AuditEvent]]:
    seen: list[AuditEvent] = []
    remove = sealdoc.add_audit_hook(seen.append)
    yield seen
    remove()


def test_destroy_after_a_grace_period(tmp_path: Path, events: list[AuditEvent]) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    doc = sealdoc.seal(b"old statement", keys=ring)
    ring.rotate()
    ring.destroy(1, after=WEEK, now=T0)
    assert ring.versions() == {1: "pending-destroy", 2: "enabled"}
    assert ring.destroy_schedule() == {1: T0 + WEEK}
    reloaded = LocalKeyring.load(path, passphrase=PASS)
    assert reloaded.destroy_schedule() == {1: T0 + WEEK}  # stored in the file
    with fails_with(sealdoc.DecryptionError, "pending-destroy"):
        sealdoc.open(doc, keys=reloaded)
    assert ring.purge(now=T0 + timedelta(days=6)) == []  # not due yet
    ring.enable(1)  # cancelled
    assert ring.versions() == {1: "enabled", 2: "enabled"}
    assert sealdoc.open(doc, keys=LocalKeyring.load(path, passphrase=PASS)) == b"old statement"

    ring.destroy(1, after=WEEK, now=T0)
    assert ring.purge(now=T0 + WEEK) == [KeyRef("local", f"default@{ring.ring_id}", 1)]
    assert ring.versions() == {1: "destroyed", 2: "enabled"}
    assert ring.purge(now=T0 + 2 * WEEK) == []
    with fails_with(sealdoc.DecryptionError, "destroyed"):
        sealdoc.open(doc, keys=LocalKeyring.load(path, passphrase=PASS))
    ops = [e.operation for e in events if e.operation.startswith("key.")]
    assert ops == [
        "key.rotate",
        "key.destroy.schedule",
        "key.destroy.cancel",
        "key.enable",
        "key.destroy.schedule",
        "key.purge",
    ]


def test_a_due_destroy_happens_at_the_next_change(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    long_ago = datetime.now(timezone.utc) - timedelta(days=10)
    ring.destroy(1, after=WEEK, now=long_ago)  # already due
    assert ring.versions() == {1: "pending-destroy", 2: "enabled"}
    ring.add_key("customer-1")  # any change purges first
    assert ring.versions() == {1: "destroyed", 2: "enabled"}
    assert LocalKeyring.load(path, passphrase=PASS).versions() == {1: "destroyed", 2: "enabled"}


def test_purge_can_change_the_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = new_ring(path)
    ring.rotate()
    ring.destroy(1, after=WEEK, now=T0)
    assert ring.purge(now=T0 + WEEK, new_passphrase="after the purge") != []
    assert LocalKeyring.load(path, passphrase="after the purge").versions()[1] == "destroyed"


def test_grace_period_rules() -> None:
    ring = MemoryKeyring()
    doc = sealdoc.seal(b"x", keys=ring)
    with pytest.raises(ValueError, match="primary"):
        ring.destroy(1, after=WEEK, now=T0)
    ring.rotate()
    with pytest.raises(ValueError, match="positive"):
        ring.destroy(1, after=timedelta(0))
    with pytest.raises(TypeError, match="timedelta"):
        ring.destroy(1, after=7)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timezone-aware"):
        ring.destroy(1, after=WEEK, now=datetime(2026, 1, 1))
    ring.destroy(1, after=WEEK, now=T0)
    with pytest.raises(ValueError, match="already to be destroyed"):
        ring.destroy(1, after=WEEK, now=T0)
    with pytest.raises(ValueError, match="enable\\(\\) cancels"):
        ring.disable(1)
    with fails_with(sealdoc.DecryptionError, "pending-destroy"):
        sealdoc.open(doc, keys=ring)
    ring.destroy(1, confirm=True)  # immediate destroy stays available
    assert ring.versions() == {1: "destroyed", 2: "enabled"}
