"""Bulk rewrap and rotate over a Vault: reports, idempotence, faults, SIGKILL and resume."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import sealdoc
from sealdoc import KeyProviderError, LocalKeyring, MemoryKeyring, Vault
from sealdoc.providers import AssociatedData, WrappedKey

from .stores import Store, adds_up, filled


def body(vault: Vault, doc_id: str) -> bytes:
    sealed = vault._read_sealed(doc_id)
    return sealed[sealdoc.inspect(sealed).header_length :]


def test_rewrap_all_brings_a_store_up_to_date(store: Store, ring: MemoryKeyring) -> None:
    vault = filled(store, ring, 30, tenants="ab")
    bodies = {d: body(vault, d) for d in vault.list()}
    assert vault.inventory() == {"memory:default@kr-00000000000a#1": 30}
    ring.rotate()
    report = vault.rewrap_all(workers=4)
    adds_up(report)
    assert (report.rewritten, report.skipped, report.failed) == (30, 0, ())
    assert report.before == {"memory:default@kr-00000000000a#1": 30}
    assert report.after == {"memory:default@kr-00000000000a#2": 30}
    assert vault.inventory() == {"memory:default@kr-00000000000a#2": 30}
    assert {d: body(vault, d) for d in vault.list()} == bodies  # bodies untouched
    json.loads(report.to_json())
    again = vault.rewrap_all()
    assert (again.rewritten, again.skipped) == (0, 30)  # idempotent, from headers alone
    ring.destroy(1)
    assert vault.get("docs/0007") == b"statement 7"


def test_dry_run_and_select(store: Store, ring: MemoryKeyring) -> None:
    vault = filled(store, ring, 10, tenants="ab")
    ring.rotate()
    dry = vault.rewrap_all(dry_run=True)
    assert (dry.rewritten, dry.would_rewrite) == (0, 10)  # "would rewrite", never "rewritten"
    assert json.loads(dry.to_json())["would_rewrite"] == 10
    assert vault.inventory() == {"memory:default@kr-00000000000a#1": 10}
    only_a = vault.rewrap_all(select=lambda h: h.context.get("tenant") == "a")
    assert (only_a.rewritten, only_a.skipped) == (5, 5)
    assert vault.inventory() == {
        "memory:default@kr-00000000000a#1": 5,
        "memory:default@kr-00000000000a#2": 5,
    }


def test_move_a_store_to_another_key_and_rotate_with_resume(
    store: Store, ring: MemoryKeyring, tmp_path: Path
) -> None:
    vault = filled(store, ring, 12, tenants="ab")
    escrow = MemoryKeyring(key_id="escrow", ring_id="kr-0000000000e5")
    moved = vault.rewrap_all(to=[ring, escrow])
    assert moved.rewritten == 12
    assert vault.inventory() == {
        "memory:default@kr-00000000000a#1": 12,
        "memory:escrow@kr-0000000000e5#1": 12,
    }
    checkpoint = tmp_path / "rotate.checkpoint"
    first = vault.rotate_all(checkpoint=checkpoint, to=[ring, escrow])
    assert first.rewritten == 12
    second = vault.rotate_all(checkpoint=checkpoint, to=[ring, escrow])
    assert (second.rewritten, second.resumed) == (0, 12)  # not rotated twice
    escrow_only = Vault(store.url, keys=escrow, storage_options=store.storage_options)
    assert escrow_only.get("docs/0003") == b"statement 3"


class Flaky:
    """A provider whose service fails one call in ten, like a throttled KMS."""

    kind = "memory"

    def __init__(self, inner: MemoryKeyring, rate: float, seed: int) -> None:
        self._inner, self._rate = inner, rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.failures = 0

    def _maybe_fail(self) -> None:
        with self._lock:
            fail = self._random.random() < self._rate
            self.failures += fail
        if fail:
            raise KeyProviderError("the key service is throttling (simulated)")

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        self._maybe_fail()
        return self._inner.wrap(dek, ad)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        self._maybe_fail()
        return self._inner.unwrap(wrapped, ad)

    def handles(self, wrapped: WrappedKey) -> bool:
        return self._inner.handles(wrapped)

    def current_key(self) -> sealdoc.KeyRef:
        return self._inner.current_key()


def test_transient_provider_faults_are_retried(store: Store, ring: MemoryKeyring) -> None:
    filled(store, ring, 40, tenants="ab")
    ring.rotate()
    # An attempt makes about four provider calls (unwrap, wrap, the checks of
    # the new header), so at 5% a call about one attempt in five fails: nine
    # attempts all failing is then about 1 in 4 million per document.
    flaky = Flaky(ring, 0.05, seed=7)
    vault = Vault(store.url, keys=flaky, storage_options=store.storage_options)
    report = vault.rewrap_all(retries=8, backoff=0.001)
    adds_up(report)
    assert flaky.failures > 0
    assert (report.rewritten, report.failed) == (40, ())
    assert vault.inventory() == {"memory:default@kr-00000000000a#2": 40}


def test_faults_without_retries_are_reported_and_damage_nothing(
    store: Store, ring: MemoryKeyring
) -> None:
    filled(store, ring, 40, tenants="ab")
    ring.rotate()
    vault = Vault(store.url, keys=Flaky(ring, 0.10, seed=3), storage_options=store.storage_options)
    report = vault.rewrap_all(retries=0)
    adds_up(report)
    assert report.failed
    assert all("throttling" in f.error for f in report.failed)
    steady = Vault(store.url, keys=ring, storage_options=store.storage_options)
    for doc_id in steady.list():
        assert steady.get(doc_id).startswith(b"statement ")
    assert sum(steady.inventory().values()) == 40
    assert steady.rewrap_all().failed == ()  # a rerun finishes the job


KILLED_JOB = """
import sys, sealdoc
url, keyring, checkpoint, options, op = sys.argv[1:6]
ring = sealdoc.LocalKeyring.load(keyring, passphrase="bulk pass phrase")
vault = sealdoc.Vault(url, keys=ring, storage_options=eval(options))
print("started", flush=True)
getattr(vault, op + "_all")(workers=4, checkpoint=checkpoint)
print("finished", flush=True)
"""


def fill_fast(vault: Vault, count: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: vault.put(f"docs/{i:04}", b"statement %d" % i), range(count)))


def finished_in(checkpoint: Path, paths: list[str]) -> int:
    """How many of ``paths`` the checkpoint says are finished (what a resume must skip)."""
    if not checkpoint.exists():
        return 0
    state = json.loads(checkpoint.read_text())  # whole: it is replaced atomically
    upto, above, redo = state["upto"], set(state["above"]), set(state["redo"])
    return sum(1 for p in paths if p in above or (upto is not None and p <= upto and p not in redo))


@pytest.mark.parametrize(
    ("kind", "operation"),
    [("file", "rewrap"), ("file", "rotate"), ("s3", "rewrap"), ("az", "rewrap")],
)
def test_sigkill_twice_mid_job_then_resume(
    kind: str, operation: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from .azurite import azure_options, new_container
    from .stores import new_bucket, s3_options

    if kind == "file":
        store, count = Store("file", f"file://{tmp_path}/vault", {}), 600
    elif kind == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        store = Store("s3", f"s3://{new_bucket(endpoint)}/vault", s3_options(endpoint))
        count = 200  # moto's server answers about 150 requests a second here
    else:
        endpoint = request.getfixturevalue("azurite_endpoint")
        store = Store("az", f"az://{new_container(endpoint)}/vault", azure_options(endpoint))
        count = 500  # Azurite rewraps faster than moto: 150-350 documents a second here
    keyring = tmp_path / "ring.json"
    ring = LocalKeyring.create(keyring, passphrase="bulk pass phrase", opslimit=1, memlimit=8 << 20)
    vault = Vault(store.url, keys=ring, storage_options=store.storage_options)
    fill_fast(vault, count)
    ring.rotate()
    checkpoint = tmp_path / "job.checkpoint"
    for kill in range(2):  # killed twice, at random points
        args = [store.url, str(keyring), str(checkpoint), repr(store.storage_options), operation]
        with subprocess.Popen(
            [sys.executable, "-c", KILLED_JOB, *args], stdout=subprocess.PIPE, text=True
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline() == "started\n"
            # an object store's first kill must come mid-job (checked below)
            time.sleep(random.uniform(0.2, 1.5 if kind == "file" else 0.8))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        if kill == 0 and kind != "file":  # an object store's job takes seconds: still running
            assert child.returncode == -signal.SIGKILL
    paths = [f"docs/{i:04}.sdoc" for i in range(count)]
    skip = finished_in(checkpoint, paths)
    mid = LocalKeyring.load(keyring, passphrase="bulk pass phrase")
    resumed = Vault(store.url, keys=mid, storage_options=store.storage_options)
    report = getattr(resumed, operation + "_all")(workers=4, checkpoint=checkpoint)
    adds_up(report)
    assert report.failed == ()
    assert report.resumed == skip  # exactly what the checkpoint says, no more
    assert report.scanned == count
    assert resumed.inventory().counts == {f"local:default@{mid.ring_id}#2": count}  # none left
    assert len(list(resumed.list())) == count
    for doc_id in list(resumed.list())[:: 1 if kind == "file" else 10]:
        assert resumed.get(doc_id).startswith(b"statement ")  # nothing half-written
    mid.destroy(1)
    assert resumed.get("docs/0001") == b"statement 1"


def test_a_checkpoint_from_another_job_is_refused(
    store: Store, ring: MemoryKeyring, tmp_path: Path
) -> None:
    vault = filled(store, ring, 6, tenants="ab")
    checkpoint = tmp_path / "job.checkpoint"
    vault.rotate_all(checkpoint=checkpoint)
    with pytest.raises(ValueError, match="checkpoint of another job"):
        vault.rewrap_all(checkpoint=checkpoint)  # another operation
    with pytest.raises(ValueError, match="checkpoint of another job"):
        vault.rotate_all(checkpoint=checkpoint, prefix="docs/000")  # another prefix
    junk = tmp_path / "junk"
    junk.write_text("hello\n")
    with pytest.raises(ValueError, match="not a sealdoc checkpoint"):
        vault.rotate_all(checkpoint=junk)
    assert vault.rotate_all(checkpoint=checkpoint).resumed == 6


def test_keys_that_open_nothing_and_empty_selections_are_reported(
    store: Store, ring: MemoryKeyring
) -> None:
    filled(store, ring, 5, tenants="ab")
    stranger = Vault(store.url, keys=MemoryKeyring(), storage_options=store.storage_options)
    report = stranger.rewrap_all(to=MemoryKeyring(key_id="x"))
    adds_up(report)
    assert len(report.failed) == 5
    assert all("DecryptionError" in f.error for f in report.failed)
    none = Vault(store.url, keys=ring, storage_options=store.storage_options).rewrap_all(
        select=lambda h: False
    )
    assert (none.rewritten, none.skipped) == (0, 5)


def test_a_store_that_fails_transiently(tmp_path: Path, ring: MemoryKeyring) -> None:
    """Store calls fail now and then (as S3 does under load): each is retried.

    The first call of each kind fails for sure, later ones one time in twenty-five:
    a document fails only if nine attempts in a row each hit a failure, about one
    chance in ten million per document however the threads interleave."""
    from sealdoc import StoreError

    from .test_bulk_engine import hooked_vault

    store = Store("file", f"file://{tmp_path}/vault", {})
    vault = filled(store, ring, 40, tenants="ab")
    ring.rotate()
    chance = random.Random(11)
    calls = {"failed": 0}
    lock = threading.Lock()
    first: set[str] = set()

    def flaky(call: str, path: str) -> None:
        with lock:
            fail = call not in first or chance.random() < 0.04
            first.add(call)
            calls["failed"] += fail
        if fail:
            raise StoreError("the store dropped the connection (simulated)")

    report = hooked_vault(vault, flaky).rewrap_all(retries=8, backoff=0.001)
    adds_up(report)
    assert calls["failed"] > 0
    assert report.failed == ()
    assert report.rewritten == 40
    steady = Vault(store.url, keys=ring)
    assert steady.inventory() == {"memory:default@kr-00000000000a#2": 40}
    assert steady.get("docs/0011") == b"statement 11"


def test_a_document_rotate_must_not_change_is_reported_and_the_job_goes_on(
    store: Store, ring: MemoryKeyring
) -> None:
    vault = filled(store, ring, 6, tenants="ab")
    escrow = MemoryKeyring(key_id="escrow", ring_id="kr-0000000000e5")
    sealed = sealdoc.seal(b"escrowed", keys=[ring, escrow], binding={"sealdoc:doc_id": "docs/0002"})
    vault._write_sealed("docs/0002", sealed)
    report = vault.rotate_all()  # the vault's keys cannot re-create the escrow wrap
    adds_up(report)
    assert report.rewritten == 5
    [failure] = report.failed
    assert failure.doc_id == "docs/0002"
    assert "would lose the wrapped key memory:escrow@kr-0000000000e5#1" in failure.error
    assert vault.get("docs/0002") == b"escrowed"  # untouched
