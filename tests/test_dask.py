"""Bulk jobs on a real dask.distributed LocalCluster (2 worker processes)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealdoc import LocalKeyring, MemoryKeyring, Vault

from .stores import Store, new_bucket, s3_options

PASS = "dask pass phrase"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    # Workers inherit the environment they start with: the keyring passphrase
    # reaches them that way, never through the task graph.
    os.environ["SEALDOC_PASSPHRASE"] = PASS
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture(params=["file", "s3"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Stores every worker process can reach (not memory://, which is per process)."""
    if request.param == "file":
        return Store("file", f"file://{tmp_path}/vault", {})
    endpoint = request.getfixturevalue("moto_endpoint")
    return Store("s3", f"s3://{new_bucket(endpoint)}/vault", s3_options(endpoint))


def test_rewrap_and_rotate_on_a_cluster(client: Any, shared_store: Store, tmp_path: Path) -> None:
    keyring = tmp_path / "ring.json"
    ring = LocalKeyring.create(keyring, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    uri = f"local://{keyring}"
    vault = Vault(shared_store.url, keys=uri, storage_options=shared_store.storage_options)
    count = 240
    for i in range(count):
        vault.put(f"docs/{i:04}", b"statement %d" % i)
    ring.rotate()
    report = vault.rewrap_all(client=client, batch_size=50)  # 5 tasks, not 240
    assert (report.scanned, report.rewritten, report.failed) == (count, count, ())
    assert report.after == {f"local:default@{ring.ring_id}#2": count}
    assert vault.inventory() == {f"local:default@{ring.ring_id}#2": count}
    again = vault.rewrap_all(client=client, batch_size=50)
    assert (again.rewritten, again.skipped) == (0, count)  # idempotent on the cluster too
    checkpoint = tmp_path / "rotate.checkpoint"
    rotated = vault.rotate_all(client=client, batch_size=60, checkpoint=checkpoint)
    assert rotated.rewritten == count
    resumed = vault.rotate_all(client=client, batch_size=60, checkpoint=checkpoint)
    assert (resumed.rewritten, resumed.resumed) == (0, count)
    fresh = Vault(
        shared_store.url,
        keys=LocalKeyring.load(keyring, passphrase=PASS),
        storage_options=shared_store.storage_options,
    )
    assert fresh.get("docs/0123") == b"statement 123"


def test_a_cluster_job_needs_key_uris(client: Any, tmp_path: Path) -> None:
    vault = Vault(f"file://{tmp_path}/v", keys=MemoryKeyring())
    vault.put("d", b"x")
    with pytest.raises(ValueError, match="key URIs"):
        vault.rewrap_all(client=client)


def test_the_command_line_runs_on_a_cluster(client: Any, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    keyring = tmp_path / "ring.json"
    ring = LocalKeyring.create(keyring, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    url = f"file://{tmp_path}/store"
    vault = Vault(url, keys=ring)
    for i in range(90):
        vault.put(f"d/{i:03}", b"doc %d" % i)
    ring.rotate()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    env.update(SEALDOC_KEYRING=str(keyring), SEALDOC_PASSPHRASE=PASS)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealdoc",
            "rewrap",
            url,
            "--dask",
            client.scheduler.address,
            "--batch-size",
            "30",
            "--json",
        ],
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rewritten"] == 90
    assert vault.inventory() == {f"local:default@{ring.ring_id}#2": 90}


def test_a_stop_on_a_cluster_lets_batches_in_flight_finish(client: Any, tmp_path: Path) -> None:
    import threading

    keyring = tmp_path / "ring.json"
    ring = LocalKeyring.create(keyring, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    vault = Vault(f"file://{tmp_path}/vault", keys=f"local://{keyring}")
    for i in range(200):
        vault.put(f"docs/{i:04}", b"statement %d" % i)
    ring.rotate()
    stop = threading.Event()
    checkpoint = tmp_path / "job.checkpoint"
    report = vault.rewrap_all(
        client=client,
        batch_size=20,
        checkpoint=checkpoint,
        stop=stop,
        progress=lambda done, total: stop.set(),  # as a signal handler would, after one batch
    )
    assert report.interrupted
    assert 20 <= report.rewritten < 200
    assert report.failed == ()
    resumed = vault.rewrap_all(client=client, batch_size=20, checkpoint=checkpoint)
    assert not resumed.interrupted
    assert resumed.resumed == report.rewritten
    assert resumed.rewritten == 200 - report.rewritten
    assert vault.inventory().counts == {f"local:default@{ring.ring_id}#2": 200}


def test_add_runs_on_a_cluster(client: Any, tmp_path: Path) -> None:
    """add= travels to the workers as key URIs (recipient strings), with allow_classical."""
    from sealdoc.providers import HybridIdentity, X25519Identity

    keyring = tmp_path / "ring.json"
    ring = LocalKeyring.create(keyring, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    vault = Vault(f"file://{tmp_path}/vault", keys=f"local://{keyring}")
    for i in range(40):
        vault.put(f"docs/{i:04}", b"statement %d" % i)
    classic, pq = X25519Identity.generate(), HybridIdentity.generate()
    first = vault.rewrap_all(client=client, batch_size=20, add=[classic.recipient])
    assert (first.rewritten, first.added) == (40, {"x25519:device#1": 40})
    refused = vault.rewrap_all(client=client, batch_size=20, add=[pq.recipient])
    assert (refused.rewritten, len(refused.failed)) == (0, 40)
    window = vault.rewrap_all(
        client=client, batch_size=20, add=[pq.recipient], allow_classical=True
    )
    assert (window.rewritten, window.added) == (40, {"mlkem768x25519:device#1": 40})
    again = vault.rewrap_all(client=client, batch_size=20, add=[pq.recipient])
    assert (again.rewritten, again.skipped) == (0, 40)
    with pytest.raises(ValueError, match="key URIs"):
        vault.rewrap_all(client=client, add=[pq.to_recipient()])
    label = f"local:default@{ring.ring_id}#1"
    assert vault.inventory().counts == {
        label: 40,
        "x25519:device#1": 40,
        "mlkem768x25519:device#1": 40,
    }
