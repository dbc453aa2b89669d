"""KeyStore: per-subject keys in SQLite and in a real PostgreSQL server (tests/pg.py)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

import sealdoc
from sealdoc._keystore import _db
from sealdoc.exceptions import KeyProviderError, KeyStoreError, RetentionError

SECRET = bytes(range(32))
BACKENDS = ["sqlite", "postgresql"]


def master() -> sealdoc.MemoryKeyring:
    """The same master in every process (a known KEK: worker processes rebuild it)."""
    return sealdoc.MemoryKeyring._from_secret(SECRET, key_id="master")


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/keys.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(url: str) -> Iterator[sealdoc.KeyStore]:
    s = sealdoc.KeyStore(url, master=master())
    yield s
    s.close()


def sql(url: str, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the store's database from outside the store (an attacker, a DBA)."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            return conn.execute(text, params).fetchall()
        finally:
            conn.close()
    with psycopg.connect(url, autocommit=True) as pg:
        cur = pg.execute(text.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []


def count_subjects(url: str) -> int:
    return int(sql(url, "SELECT COUNT(*) FROM sealdoc_keystore_subjects")[0][0])


# -- the store itself ----------------------------------------------------------------


def test_seal_open_and_wrap_names_subject(store: sealdoc.KeyStore) -> None:
    sealed = sealdoc.seal(b"statement", keys=store.key("C-1007"))
    (wrap,) = sealdoc.inspect(sealed).wrapped_keys
    assert (wrap.kind, wrap.key_id, wrap.version) == ("keystore", f"C-1007@{store.store_id}", 1)
    assert sealdoc.open(sealed, keys=store) == b"statement"
    assert sealdoc.open(sealed, keys=store.key("C-1007")) == b"statement"


def test_store_holds_no_plain_key(store: sealdoc.KeyStore, url: str) -> None:
    store.add("C-1")
    entry = store._entry("C-1", create=False)
    assert entry is not None
    secret = store._master.unwrap(entry.versions[1].wrapped, _master_ad(store, "C-1", 1))
    for row in sql(url, "SELECT * FROM sealdoc_keystore_versions"):
        for value in row:
            assert secret not in (bytes(value) if isinstance(value, bytes | memoryview) else b"")
    if url.startswith("sqlite:"):
        assert secret not in Path(url.removeprefix("sqlite:///")).read_bytes()


def _master_ad(store: sealdoc.KeyStore, subject: str, version: int) -> Any:
    from sealdoc._keystore._model import master_ad

    return master_ad(store.store_id, subject, version)


def test_master_binding_is_unchanged() -> None:
    # Every wrap in every existing database is bound to these bytes: a change
    # that makes add_many faster must not change them (vectors from the first
    # version, which hashed the whole prefix each call).
    from sealdoc._keystore._model import master_ad

    vectors = [
        ("ks-0123456789ab", "C-1007", 1, "4036551b214f98a734d4010db6e0f4a8"),
        ("ks-ffffffffffff", "\u00e9/\u5ba2\u6237", 2**32 - 1, "7e807984b282160a28eff8da3cee9c1e"),
    ]
    for store_id, subject, version, head in vectors:
        for _ in range(2):  # the first call fills the per-store cache, the second uses it
            assert master_ad(store_id, subject, version).digest.hex().startswith(head)
    assert master_ad("ks-0123456789ab", "C-1007", 2).digest.hex()[:32] != vectors[0][3]


def test_audit_names_every_change_and_no_secret(store: sealdoc.KeyStore) -> None:
    import pickle

    events: list[sealdoc.AuditEvent] = []
    remove = sealdoc.add_audit_hook(events.append)
    try:
        sealdoc.seal(b"x", keys=store.key("C-1"))
        store.rotate("C-1")
        store.hold("C-1", "case 3")
        store.release("C-1")
        store.destroy("C-1", confirm=True)
    finally:
        remove()
    ops = [e.operation for e in events if e.operation.startswith("keystore.")]
    assert ops == [
        "keystore.add",
        "keystore.rotate",
        "keystore.hold",
        "keystore.release",
        "keystore.destroy",
    ]
    assert all(e.key_id == f"C-1@{store.store_id}" for e in events if e.operation in ops)
    with pytest.raises(TypeError, match="key URI"):
        pickle.dumps(store.key("C-1"))
    assert "C-1" in repr(store.key("C-1"))


def test_sqlite_file_is_0600(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = sealdoc.KeyStore(f"sqlite:///{tmp_path}/k.db", master=master())
        store.add("C-1")
        files = sorted(tmp_path.glob("k.db*"))  # with the WAL and its index, while open
        assert [f.name for f in files] == ["k.db", "k.db-shm", "k.db-wal"]
        for f in files:
            assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f.name
    finally:
        os.umask(old)


def test_row_copied_to_another_subject_does_not_open(url: str) -> None:
    store = sealdoc.KeyStore(url, master=master())
    a = sealdoc.seal(b"alice", keys=store.key("A"))
    b = sealdoc.seal(b"bob", keys=store.key("B"))
    # The attacker gives B the wrapped key of A's row (the same master wraps both).
    sql(
        url,
        "UPDATE sealdoc_keystore_versions SET wrapped = (SELECT wrapped FROM"
        " sealdoc_keystore_versions WHERE subject = 'A') WHERE subject = 'B'",
    )
    fresh = sealdoc.KeyStore(url, master=master())
    assert sealdoc.open(a, keys=fresh) == b"alice"
    with pytest.raises(KeyProviderError) as caught:
        sealdoc.open(b, keys=fresh)
    assert "subject 'B' version 1" in caught.value.details()
    assert "copied from elsewhere" in caught.value.details()


def test_row_copied_to_another_store_does_not_open(tmp_path: Path) -> None:
    one = sealdoc.KeyStore(f"sqlite:///{tmp_path}/one.db", master=master())
    two = sealdoc.KeyStore(f"sqlite:///{tmp_path}/two.db", master=master())
    sealed = sealdoc.seal(b"x", keys=two.key("C-1"))
    one.add("C-1")
    row = sql(f"sqlite:///{tmp_path}/one.db", "SELECT wrapped FROM sealdoc_keystore_versions")
    sql(f"sqlite:///{tmp_path}/two.db", "UPDATE sealdoc_keystore_versions SET wrapped = ?", row[0])
    with pytest.raises(KeyProviderError) as caught:
        sealdoc.open(sealed, keys=sealdoc.KeyStore(f"sqlite:///{tmp_path}/two.db", master=master()))
    assert "copied from elsewhere" in caught.value.details()


def test_versions_states_and_tombstones(store: sealdoc.KeyStore) -> None:
    v1 = sealdoc.seal(b"one", keys=store.key("C-1"))
    assert store.rotate("C-1") == 2
    v2 = sealdoc.seal(b"two", keys=store.key("C-1"))
    assert sealdoc.inspect(v2).wrapped_keys[0].version == 2
    store.disable("C-1", 1)
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(v1, keys=store)
    with pytest.raises(KeyStoreError, match="primary"):
        store.disable("C-1", 2)
    store.enable("C-1", 1)
    assert sealdoc.open(v1, keys=store) == b"one"
    store.destroy("C-1", 1)
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(v1, keys=store)
    assert sealdoc.open(v2, keys=store) == b"two"
    info = store.info("C-1")
    assert [(v.version, v.state) for v in info.versions] == [(1, "destroyed"), (2, "enabled")]
    with pytest.raises(KeyStoreError, match="destroyed"):
        store.enable("C-1", 1)
    with pytest.raises(KeyStoreError, match="confirm=True"):
        store.destroy("C-1", 2)
    with pytest.raises(KeyStoreError, match="confirm=True"):
        store.destroy("C-1")


def test_scheduled_destroy_waits_for_erase_due(store: sealdoc.KeyStore) -> None:
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    old = sealdoc.seal(b"old", keys=store.key("C-1"))
    store.rotate("C-1")
    with pytest.raises(KeyStoreError, match="primary"):
        store.destroy("C-1", 2, after=timedelta(days=7), now=now)
    store.destroy("C-1", 1, after=timedelta(days=7), now=now)
    assert [v.state for v in store.info("C-1").versions] == ["pending-destroy", "enabled"]
    with pytest.raises(sealdoc.DecryptionError):  # stops opening at once
        sealdoc.open(old, keys=store)
    store.enable("C-1", 1)  # cancels
    assert sealdoc.open(old, keys=store) == b"old"
    store.destroy("C-1", 1, after=timedelta(days=7), now=now)
    assert store.erase_due(now=now + timedelta(days=6)).versions == ()
    store.hold("C-1", "case 9")
    assert store.erase_due(now=now + timedelta(days=8)).versions == ()  # the hold keeps it
    store.release("C-1")
    assert store.erase_due(now=now + timedelta(days=8)).versions == (("C-1", 1),)
    assert [v.state for v in store.info("C-1").versions] == ["destroyed", "enabled"]
    with pytest.raises(KeyStoreError, match="retain"):
        store.destroy("C-1", after=timedelta(days=1))


def test_erased_subject_is_not_made_again(store: sealdoc.KeyStore) -> None:
    sealed = sealdoc.seal(b"x", keys=store.key("C-1"))
    store.destroy("C-1", confirm=True)
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(sealed, keys=store)
    # the tombstone stops first use from quietly making a new key
    with pytest.raises(KeyProviderError, match="erased"):
        sealdoc.seal(b"y", keys=store.key("C-1"))
    with pytest.raises(KeyStoreError, match="erased"):
        store.rotate("C-1")
    assert store.info("C-1").shredded


def test_bad_subjects_refused_before_anything_is_written(store: sealdoc.KeyStore, url: str) -> None:
    for bad in ["", "a\x00b", "x" * 1100, "y" * 1010, "tab\there", "zero\u200bwidth"]:
        with pytest.raises((ValueError, TypeError)):
            store.add(bad)
        with pytest.raises((ValueError, TypeError)):
            store.add_many(["fine", bad])
    assert count_subjects(url) == 0


def test_master_that_refuses_stores_nothing(url: str) -> None:
    ring = sealdoc.MemoryKeyring()
    ring.destroy(1, confirm=True)  # a master with no usable key
    store = sealdoc.KeyStore(url, master=ring)
    with pytest.raises(KeyProviderError):
        sealdoc.seal(b"x", keys=store.key("C-1"))
    with pytest.raises(KeyProviderError):
        store.add_many(["C-1", "C-2"])
    assert count_subjects(url) == 0


def test_add_many_is_one_transaction_a_batch(url: str) -> None:
    store = sealdoc.KeyStore(url, master=master(), batch_size=10)
    begun: list[str] = []
    real = store._db.transaction

    def counting(what: str) -> Any:
        begun.append(what)
        return real(what)

    store._db.transaction = counting  # type: ignore[method-assign]
    assert store.add_many(f"C-{i:03}" for i in range(25)) == 25
    assert begun == ["add subjects"] * 3
    assert store.add_many(["C-000", "C-100"]) == 1  # existing subjects are left alone
    assert count_subjects(url) == 26


def test_add_many_failure_keeps_nothing_of_the_batch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/k.db"
    store = sealdoc.KeyStore(url, master=master(), batch_size=10)
    # The database refuses the 15th key half-way through the second batch.
    sql(
        url,
        "CREATE TRIGGER refuse BEFORE INSERT ON sealdoc_keystore_versions"
        " WHEN NEW.subject = 'C-014' BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    with pytest.raises(KeyProviderError, match="cannot add subjects"):
        store.add_many(f"C-{i:03}" for i in range(25))
    names = [r[0] for r in sql(url, "SELECT subject FROM sealdoc_keystore_subjects")]
    assert sorted(names) == [f"C-{i:03}" for i in range(10)]  # batch 1 only, whole
    assert len(sql(url, "SELECT * FROM sealdoc_keystore_versions")) == 10


def test_locked_sqlite_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/k.db"
    store = sealdoc.KeyStore(url, master=master())
    monkeypatch.setattr(_db, "BUSY_TIMEOUT_S", 0.2)
    store.close()
    other = sqlite3.connect(f"{tmp_path}/k.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(KeyProviderError, match="locked"):
            store.add("C-1")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert count_subjects(url) == 0
    store.add("C-1")  # and it works once the lock is gone
    assert count_subjects(url) == 1


def test_read_only_postgres_is_a_clear_error(postgres_url: str) -> None:
    store = sealdoc.KeyStore(postgres_url, master=master())
    name = postgres_url.rsplit("/", 1)[1]
    sql(postgres_url, f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    store.close()  # the setting applies to new sessions
    with pytest.raises(KeyProviderError, match="read-only"):
        store.add("C-1")


def test_a_dropped_connection_is_read_again(postgres_url: str) -> None:
    writer = sealdoc.KeyStore(postgres_url, master=master())
    sealed = sealdoc.seal(b"x", keys=writer.key("C-1"))
    reader = sealdoc.KeyStore(postgres_url, master=master(), cache_ttl=0)
    assert sealdoc.open(sealed, keys=reader) == b"x"
    # The server ends every other session (a restart, a failover, an idle timeout).
    sql(
        postgres_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert sealdoc.open(sealed, keys=reader) == b"x"  # the read is retried on a new connection
    with pytest.raises(KeyProviderError, match="unreachable"):
        writer.rotate("C-1")  # a write is not retried: it fails clearly
    assert writer.rotate("C-1") == 2  # and the next call has a new connection


def test_postgres_down_is_a_clear_error(postgres_server: str) -> None:
    port = postgres_server.rsplit(":", 1)[1]
    with pytest.raises(KeyProviderError, match="unreachable"):
        sealdoc.KeyStore(postgres_server.replace(port, str(int(port) + 1)) + "/x", master=master())


# -- caching -------------------------------------------------------------------------


class CountingMaster(sealdoc.MemoryKeyring):
    unwraps = 0

    def unwrap(self, wrapped: Any, ad: Any) -> bytes:
        type(self).unwraps += 1
        return super().unwrap(wrapped, ad)


def test_cold_use_costs_one_read_and_one_unwrap_warm_use_none(url: str) -> None:
    ring = CountingMaster._from_secret(SECRET, key_id="master")
    sealdoc.KeyStore(url, master=ring).add("C-1")
    store = sealdoc.KeyStore(url, master=ring)
    reads: list[str] = []
    real = store._db.read

    def counting(what: str) -> Any:
        reads.append(what)
        return real(what)

    store._db.read = counting  # type: ignore[method-assign]
    CountingMaster.unwraps = 0
    sealed = sealdoc.seal(b"x", keys=store.key("C-1"))
    assert (len(reads), CountingMaster.unwraps) == (1, 1)
    for _ in range(5):
        sealdoc.open(sealdoc.seal(b"y", keys=store.key("C-1")), keys=store)
        sealdoc.open(sealed, keys=store)
    assert (len(reads), CountingMaster.unwraps) == (1, 1)


def test_change_elsewhere_seen_within_ttl_and_at_once_here(url: str) -> None:
    here = sealdoc.KeyStore(url, master=master(), cache_ttl=0.5)
    there = sealdoc.KeyStore(url, master=master(), cache_ttl=0.5)
    sealed = sealdoc.seal(b"x", keys=here.key("C-1"))
    assert sealdoc.open(sealed, keys=there) == b"x"  # cached there now
    here.destroy("C-1", confirm=True)
    with pytest.raises(KeyProviderError):  # at once in the process that made the change
        sealdoc.seal(b"x", keys=here.key("C-1"))
    start = time.monotonic()
    deadline = start + 5
    while time.monotonic() < deadline:
        try:
            sealdoc.open(sealed, keys=there)
        except sealdoc.DecryptionError:
            break
        time.sleep(0.05)
    assert time.monotonic() - start <= 0.5 + 0.2  # the bound, plus scheduling slack
    with pytest.raises(KeyProviderError):
        sealdoc.seal(b"x", keys=there.key("C-1"))


def test_cache_is_bounded_in_entries(url: str) -> None:
    store = sealdoc.KeyStore(url, master=master(), cache_size=3)
    for i in range(10):
        sealdoc.seal(b"x", keys=store.key(f"C-{i}"))
    assert len(store._cache) == 3


def test_cache_ttl_is_bounded() -> None:
    with pytest.raises(ValueError, match="0 to 60"):
        sealdoc.KeyStore("sqlite:///unused.db", master=master(), cache_ttl=3600)


# -- first use from several processes ------------------------------------------------


def _first_use(url: str, start: Any, subjects: list[str], out: Any) -> None:
    store = sealdoc.KeyStore(url, master=master())
    start.wait()
    out.put([sealdoc.seal(s.encode(), keys=store.key(s)) for s in subjects])


def test_first_use_race_across_processes(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    subjects = [f"new-{i}" for i in range(40)]
    start = ctx.Barrier(3)
    out = ctx.Queue()
    workers = [ctx.Process(target=_first_use, args=(url, start, subjects, out)) for _ in range(3)]
    for w in workers:
        w.start()
    results = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    store = sealdoc.KeyStore(url, master=master())
    for sealed_list in results:
        for subject, sealed in zip(subjects, sealed_list, strict=True):
            assert sealdoc.open(sealed, keys=store) == subject.encode()
    assert count_subjects(url) == 40
    assert len(sql(url, "SELECT * FROM sealdoc_keystore_versions")) == 40


# -- the vault ---------------------------------------------------------------------------


def test_vault_put_under_subject_rewrap_and_shred(url: str, tmp_path: Path) -> None:
    store = sealdoc.KeyStore(url, master=master())
    vault = sealdoc.Vault(f"file://{tmp_path}/docs", keys=store)
    for customer in ("C-1", "C-2"):
        for month in ("01", "02"):
            vault.put(f"{customer}/{month}", f"{customer} {month}".encode(), key=customer)
    store.rotate("C-1")
    report = vault.rewrap_all()
    assert (report.failed, report.rewritten) == ((), 2)
    for customer, version in (("C-1", 2), ("C-2", 1)):
        (wrap,) = vault.inspect(f"{customer}/01").wrapped_keys
        assert (wrap.key_id, wrap.version) == (f"{customer}@{store.store_id}", version)
    store.destroy("C-1", confirm=True)
    for month in ("01", "02"):
        with pytest.raises(sealdoc.DecryptionError):
            vault.get(f"C-1/{month}")
        assert vault.get(f"C-2/{month}") == f"C-2 {month}".encode()


def test_inventory_per_subject(store: sealdoc.KeyStore, tmp_path: Path) -> None:
    from sealdoc._keystore._inventory import subjects_in

    vault = sealdoc.Vault(f"file://{tmp_path}/docs", keys=store)
    for i in range(3):
        vault.put(f"A/{i}", b"a", key="A")
    store.rotate("A")
    vault.put("A/new", b"a", key="A")
    vault.put("B/0", b"b", key="B")
    store.hold("A", "case 5")
    store.destroy("B", confirm=True)
    rows = {r.subject: r for r in subjects_in(store, vault.inventory())}
    assert rows["A"].documents == {1: 3, 2: 1}
    assert (rows["A"].shredded, rows["A"].info.hold) == (0, "case 5")
    assert (rows["B"].documents, rows["B"].shredded) == ({1: 1}, 1)
    assert rows["B"].info.shredded


def test_vault_key_for_and_stream_put(store: sealdoc.KeyStore, tmp_path: Path) -> None:
    import io

    vault = sealdoc.Vault(
        f"file://{tmp_path}/docs", keys=store, key_for=lambda doc_id, ctx: doc_id.split("/")[0]
    )
    vault.put("C-9/a", b"bytes")
    vault.put("C-9/b", io.BytesIO(b"stream"), key="C-8")
    assert vault.inspect("C-9/a").wrapped_keys[0].key_id.startswith("C-9@")
    assert vault.inspect("C-9/b").wrapped_keys[0].key_id.startswith("C-8@")
    assert vault.get("C-9/b") == b"stream"


def test_vault_key_with_keyring_and_escrow(tmp_path: Path) -> None:
    ring = sealdoc.MemoryKeyring()
    ring.add_key("C-1")
    escrow = sealdoc.MemoryKeyring(key_id="escrow")
    vault = sealdoc.Vault(f"file://{tmp_path}/docs", keys=[ring, escrow])
    vault.put("d", b"x", key="C-1")
    names = [w.key_id.split("@")[0] for w in vault.inspect("d").wrapped_keys]
    assert names == ["C-1", "escrow"]
    with pytest.raises(TypeError, match="first provider"):
        sealdoc.Vault(f"file://{tmp_path}/d2", keys=[_NoNames(), ring]).put("d", b"x", key="C-1")


class _NoNames:
    """A provider without named keys."""

    def wrap(self, dek: bytes, ad: Any) -> Any:
        raise AssertionError

    def unwrap(self, wrapped: Any, ad: Any) -> bytes:
        raise AssertionError

    def handles(self, wrapped: Any) -> bool:
        return False


# -- retention and legal hold ------------------------------------------------------------


def test_hold_and_retention_gate_erasure(store: sealdoc.KeyStore) -> None:
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    docs = {s: sealdoc.seal(s.encode(), keys=store.key(s)) for s in ("A", "B", "C", "D")}
    store.hold("A", "case 2026-114")
    store.retain("B", now + timedelta(days=30))
    store.retain("C", now - timedelta(days=1))
    store.retain("A", now - timedelta(days=1))
    with pytest.raises(RetentionError, match="case 2026-114"):
        store.destroy("A", confirm=True, now=now)
    with pytest.raises(RetentionError, match="retained until 2030-01-31"):
        store.destroy("B", confirm=True, now=now)
    with pytest.raises(RetentionError, match="case 2026-114"):
        store.destroy_many(["D", "A"], confirm=True, now=now)
    assert sealdoc.open(docs["D"], keys=store) == b"D"  # refused before anything was written
    report = store.erase_due(now=now)
    assert report.erased == ("C",)
    assert report.held == (("A", "case 2026-114"),)
    for s, expect in (("A", b"A"), ("B", b"B"), ("D", b"D")):
        assert sealdoc.open(docs[s], keys=store) == expect
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(docs["C"], keys=store)
    store.release("A")
    assert store.erase_due(now=now).erased == ("A",)
    assert store.erase_due(now=now + timedelta(days=31)).erased == ("B",)
    assert store.destroy_many(["D"], confirm=True) == 1
    assert all(store.info(s).shredded for s in "ABCD")


def test_a_restored_backup_is_refused_by_a_process_that_saw_newer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/keys.db"
    store = sealdoc.KeyStore(url, master=master(), cache_ttl=0)
    sealed = sealdoc.seal(b"x", keys=store.key("C-1"))
    sealdoc.seal(b"y", keys=store.key("C-2"))
    backup = tmp_path / "backup.db"
    with sqlite3.connect(backup) as dst:
        src = sqlite3.connect(f"{tmp_path}/keys.db")
        src.backup(dst)
        src.close()
    store.destroy("C-1", confirm=True)
    # The operator restores the backup under the live database's name.
    with sqlite3.connect(f"{tmp_path}/keys.db") as dst:
        src = sqlite3.connect(backup)
        src.backup(dst)
        src.close()
    with pytest.raises(KeyProviderError) as caught:
        sealdoc.open(sealed, keys=store)
    assert "went back" in caught.value.details()
    with pytest.raises(KeyProviderError, match="went back"):
        sealdoc.seal(b"z", keys=store.key("C-2"))
    # A process that never saw the newer database cannot tell (docs/customer-keys.md).
    assert sealdoc.open(sealed, keys=sealdoc.KeyStore(url, master=master())) == b"x"


# -- master rotation and the backup mitigation --------------------------------------------


def test_master_rotation_makes_old_backups_useless(tmp_path: Path) -> None:
    ring = sealdoc.MemoryKeyring(key_id="master")
    url = f"sqlite:///{tmp_path}/keys.db"
    store = sealdoc.KeyStore(url, master=ring, batch_size=3)
    docs = {f"C-{i}": sealdoc.seal(b"x", keys=store.key(f"C-{i}")) for i in range(7)}
    backup = tmp_path / "backup.db"
    src = sqlite3.connect(f"{tmp_path}/keys.db")
    with sqlite3.connect(backup) as dst:
        src.backup(dst)
    src.close()
    store.destroy("C-0", confirm=True)
    # The weak spot: the backup still opens the erased customer's documents.
    old = sealdoc.KeyStore(f"sqlite:///{backup}", master=ring)
    assert sealdoc.open(docs["C-0"], keys=old) == b"x"
    # The mitigation: rotate the master, re-wrap every row, destroy the old master version.
    ring.rotate()
    seen: list[int] = []
    assert store.rewrap_master(progress=seen.append) == 6
    assert seen == [3, 6]
    assert store.rewrap_master() == 0  # resumable: done rows are skipped
    ring.destroy(1, confirm=True)
    fresh = sealdoc.KeyStore(url, master=ring)
    for i in range(1, 7):
        assert sealdoc.open(docs[f"C-{i}"], keys=fresh) == b"x"
    old = sealdoc.KeyStore(f"sqlite:///{backup}", master=ring)
    with pytest.raises(sealdoc.SealdocError):
        sealdoc.open(docs["C-0"], keys=old)


# -- key URIs ------------------------------------------------------------------------------


def test_key_uri_names_a_subject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ring_path = tmp_path / "master.json"
    sealdoc.LocalKeyring.create(
        ring_path, passphrase="correct horse battery staple 1729!", opslimit=1, memlimit=8 << 20
    )
    monkeypatch.setenv("SEALDOC_PASSPHRASE", "correct horse battery staple 1729!")
    monkeypatch.setenv("SEALDOC_KEYSTORE_MASTER", f"local://{ring_path}#default")
    uri = f"keystore+sqlite://{tmp_path}/keys.db"
    customer = sealdoc.key_from_uri(uri + "#C-1007")
    sealed = sealdoc.seal(b"x", keys=customer)
    assert sealdoc.inspect(sealed).wrapped_keys[0].key_id.startswith("C-1007@ks-")
    assert sealdoc.open(sealed, keys=uri) == b"x"  # the store opens every subject
    vault = sealdoc.Vault(f"file://{tmp_path}/docs", keys=uri)
    vault.put("d", b"y", key="C-2")
    assert vault.get("d") == b"y"
    monkeypatch.delenv("SEALDOC_KEYSTORE_MASTER")
    with pytest.raises(sealdoc.KeyUriError, match="SEALDOC_KEYSTORE_MASTER"):
        sealdoc.key_from_uri(f"keystore+sqlite://{tmp_path}/other.db#C-1")
    with pytest.raises(sealdoc.KeyUriError):
        sealdoc.key_from_uri("keystore+mysql://h/db#C-1", master=master())


# -- AWS KMS as the master (moto's server) -------------------------------------------------


def test_kms_master_cold_use_is_one_decrypt(moto_endpoint: str, tmp_path: Path) -> None:
    from sealdoc.providers import AwsKms

    from .test_aws_kms import new_key

    arn = new_key(moto_endpoint)
    url = f"sqlite:///{tmp_path}/keys.db"
    sealdoc.KeyStore(url, master=AwsKms(arn, endpoint_url=moto_endpoint)).add_many(["A", "B"])
    kms = AwsKms(arn, endpoint_url=moto_endpoint)
    store = sealdoc.KeyStore(url, master=kms)
    sealed = [sealdoc.seal(b"x", keys=store.key("A")) for _ in range(5)]
    assert all(sealdoc.open(s, keys=store) == b"x" for s in sealed)
    assert kms.calls == 1  # one Decrypt for A's key, then none
    # B's row given A's wrapped key: KMS refuses it (the encryption context differs)
    sql(
        url,
        "UPDATE sealdoc_keystore_versions SET wrapped = (SELECT wrapped FROM"
        " sealdoc_keystore_versions WHERE subject = 'A') WHERE subject = 'B'",
    )
    with pytest.raises(KeyProviderError, match="subject 'B'"):
        sealdoc.seal(b"x", keys=store.key("B"))
    down = sealdoc.KeyStore(url, master=AwsKms(arn, endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(KeyProviderError):
        sealdoc.seal(b"x", keys=down.key("C"))
    assert count_subjects(url) == 2  # nothing stored for C


# -- migration from keyring keys --------------------------------------------------------


def test_customers_move_from_keyring_keys(tmp_path: Path) -> None:
    from sealdoc._keystore._migrate import import_keyring, move_documents

    ring = sealdoc.MemoryKeyring()
    escrow = sealdoc.MemoryKeyring(key_id="escrow")
    for name in ("C-1", "C-2"):
        ring.add_key(name)
    store = sealdoc.KeyStore(f"sqlite:///{tmp_path}/keys.db", master=master())
    before_move = sealdoc.Vault(f"file://{tmp_path}/docs", keys=[ring, escrow])
    for name in ("C-1", "C-2"):
        for month in ("01", "02"):
            before_move.put(f"{name}/{month}", name.encode(), key=name)
    before_move.put("bank/policy", b"policy")  # the default key: not a customer
    vault = sealdoc.Vault(f"file://{tmp_path}/docs", keys=[ring, escrow, store])
    assert import_keyring(store, ring) == ["C-1", "C-2"]
    before = vault.inventory().counts
    reports = move_documents(vault, ring, store, ["C-1", "C-2"], keep=[escrow])
    assert [r.rewritten for r in reports.values()] == [2, 2]
    after = vault.inventory().counts
    moved = {k: v for k, v in after.items() if k.startswith("keystore:")}
    assert moved == {
        f"keystore:C-1@{store.store_id}#1": 2,
        f"keystore:C-2@{store.store_id}#1": 2,
    }
    assert not any(k.startswith(("local:C-", "memory:C-")) for k in after)
    assert sum(before.values()) - sum(after.values()) == 0  # same wraps count: one moved each
    for version in (1,):
        ring.destroy(version, "C-1", confirm=True)  # the keyring key can go now
    store.destroy("C-2", confirm=True)
    opener = sealdoc.Vault(f"file://{tmp_path}/docs", keys=[ring, store])
    assert opener.get("C-1/01") == b"C-1"
    with pytest.raises(sealdoc.DecryptionError):
        opener.get("C-2/01")
    assert opener.get("bank/policy") == b"policy"


def test_sealdoc_fs_writes_under_a_subject(store: sealdoc.KeyStore, tmp_path: Path) -> None:
    import fsspec

    options = {"sealdoc": {"keys": store, "key": "C-1007"}}
    with fsspec.open(f"sealdoc::file://{tmp_path}/report.csv", "wb", **options) as f:
        f.write(b"a,b\n1,2\n")
    header = sealdoc.inspect((tmp_path / "report.csv").read_bytes())
    assert header.wrapped_keys[0].key_id == f"C-1007@{store.store_id}"
    with fsspec.open(f"sealdoc::file://{tmp_path}/report.csv", "rb", sealdoc={"keys": store}) as f:
        assert f.read() == b"a,b\n1,2\n"
