"""Shredded documents (every wrap's version destroyed on purpose) are an outcome, not a failure.

Issue 19, item 14: after a customer's key was destroyed, every later
store-wide rewrap or rotate exited 1 with one long ``failed:`` line per
shredded document, naming the default key instead of the customer's.
"""

from __future__ import annotations

import json
from pathlib import Path

import sealdoc
from sealdoc import MemoryKeyring, Vault

from .test_cli import PASS, run


def _store(tmp_path: Path) -> tuple[str, MemoryKeyring, MemoryKeyring]:
    ring = MemoryKeyring()
    customer = ring.add_key("cust-7")
    escrowed = ring.add_key("cust-8")
    url = (tmp_path / "store").as_uri()
    Vault(url, keys=customer).put("c7/a", b"alice")
    Vault(url, keys=customer).put("c7/b", b"alice again")
    Vault(url, keys=[escrowed, ring.key("default")]).put("c8/a", b"bob")  # a live wrap stays
    Vault(url, keys=ring).put("bank", b"report")
    return url, ring, customer


def test_bulk_jobs_count_shredded_documents_and_name_their_key(tmp_path: Path) -> None:
    url, ring, customer = _store(tmp_path)
    label = customer.current_key().label
    customer.destroy(1, confirm=True)
    ring.key("cust-8").destroy(1, confirm=True)  # its document keeps the default wrap
    ring.rotate()
    vault = Vault(url, keys=ring)
    dry = vault.rewrap_all(dry_run=True)
    assert (dry.would_rewrite, dry.shredded, dry.failed) == (2, 2, ())
    for job in (vault.rewrap_all, vault.rotate_all):
        report = job()
        # rotating c8/a would lose its (dead) cust-8 wrap: refused, as before; never shredded
        lost = {"c8/a"} if job == vault.rotate_all else set()
        assert {f.doc_id for f in report.failed} == lost
        assert report.shredded == 2
        assert report.shredded_on == {label: 2}
        assert report.scanned == 4
        assert json.loads(report.to_json())["shredded"] == 2
    found = vault.inventory()
    assert (found.shredded, found.documents) == (2, 4)
    assert json.loads(found.to_json())["shredded"] == 2
    assert Vault(url).inventory().shredded == 0  # no keys: nothing can tell
    assert vault.get("c8/a") == b"bob"


def test_a_disabled_version_is_still_a_failure_not_a_shred(tmp_path: Path) -> None:
    url, ring, customer = _store(tmp_path)
    customer.rotate()
    customer.disable(1)  # disabled can be enabled again: the documents are not lost
    report = Vault(url, keys=ring).rewrap_all()
    assert report.shredded == 0
    assert {f.doc_id for f in report.failed} == {"c7/a", "c7/b"}


def test_the_cli_exits_0_and_says_which_key_shredded_them(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    customer = ring.add_key("cust-7")
    url = (tmp_path / "store").as_uri()
    for i in range(3):
        Vault(url, keys=customer).put(f"c7/{i}", b"x")
    Vault(url, keys=ring).put("bank", b"y")
    label = customer.current_key().label
    # a deliberate shred passes --check-store, and says what it shreds
    check = run(
        tmp_path, "keys", "destroy", "1", "--key", "cust-7", "--yes-destroy-last",
        "--check-store", url,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert b"rewrap that store" not in check.stderr
    assert b"3 only on key 'cust-7' version 1: they will be shredded" in check.stderr
    assert run(tmp_path, "keys", "rotate").returncode == 0
    for verb in ("rewrap", "rotate"):
        done = run(tmp_path, verb, url)
        assert done.returncode == 0, done.stderr
        assert b"3 shredded" in done.stdout
        assert b"failed:" not in done.stderr
        assert f"shredded: 3 documents only under {label}".encode() in done.stderr
        assert b"'default'" not in done.stderr
    listed = run(tmp_path, "inventory", url, "--key", f"local://{tmp_path / 'ring.json'}")
    assert listed.returncode == 0, listed.stderr
    assert b"shredded: 3" in listed.stdout
