"""A checkpoint must never make a different job skip work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sealdoc import CheckpointError, MemoryKeyring, Vault


def memory_url() -> str:
    return f"memory://r{os.urandom(6).hex()}/vault"


def test_rotating_a_customer_key_is_not_resumed_from_last_months_checkpoint(
    tmp_path: Path,
) -> None:
    ring = MemoryKeyring()
    ring.add_key("cust-0042")
    vault = Vault(memory_url(), keys=ring)
    for i in range(3):
        vault.put(f"docs/{i}", b"statement")
    customer = Vault(vault.url, keys=ring.key("cust-0042"))
    for i in range(3, 6):
        customer.put(f"docs/{i}", b"customer statement")
    checkpoint = tmp_path / "monthly.checkpoint"
    ring.rotate()
    first = vault.rewrap_all(checkpoint=checkpoint)
    assert first.rewritten == 3
    ring.rotate("cust-0042")  # next month: only the customer's key
    with pytest.raises(CheckpointError, match=r"(?s)cust-0042@kr-\w+#1.*cust-0042@kr-\w+#2"):
        vault.rewrap_all(checkpoint=checkpoint)
    assert vault.rewrap_all(checkpoint=tmp_path / "next.checkpoint").rewritten == 3


def test_two_select_predicates_do_not_share_a_checkpoint(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    vault = Vault(memory_url(), keys=ring)
    for tenant in ("a", "b"):
        for i in range(3):
            vault.put(f"{tenant}/{i}", b"statement", context={"tenant": tenant})
    ring.rotate()
    checkpoint = tmp_path / "job.checkpoint"
    jobs = [lambda h, t=t: h.context.get("tenant") == t for t in ("a", "b")]
    assert vault.rewrap_all(checkpoint=checkpoint, select=jobs[0]).rewritten == 3
    with pytest.raises(CheckpointError, match="another job"):
        vault.rewrap_all(checkpoint=checkpoint, select=jobs[1])
    assert vault.rewrap_all(checkpoint=checkpoint, select=jobs[0]).resumed == 6  # same job
    assert vault.rewrap_all(checkpoint=tmp_path / "b.checkpoint", select=jobs[1]).rewritten == 3


def test_a_checkpoint_in_use_by_a_running_job_is_refused_to_a_second(tmp_path: Path) -> None:
    from sealdoc._bulk.checkpoint import Checkpoint

    path = tmp_path / "job.checkpoint"
    job = {"operation": "rewrap", "url": "memory://x", "prefix": ""}
    first = Checkpoint(path, job)
    with pytest.raises(CheckpointError, match="in use by another running job"):
        Checkpoint(path, job)
    first.close()
    Checkpoint(path, job).close()  # free again once the first job has ended
