"""A bulk job given a URL above or below the vault's root says so (issue 19, item 15).

Before, ``rewrap s3://bank-docs`` on a vault rooted at
``s3://bank-docs/statements`` counted "10 would rewrite" on a dry run, then
failed all 10 with "another keyring, or altered", which reads like tampering.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sealdoc
from sealdoc import MemoryKeyring, Vault, WrongRootError

from .stores import Store, filled
from .test_cli import PASS, run


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_job_above_or_below_the_root_names_the_right_one(store: Store, dry_run: bool) -> None:
    ring = MemoryKeyring()
    filled(store, ring, 4)  # doc ids docs/0000..., under <url>
    ring.rotate()
    above = store.url.rsplit("/", 1)[0]
    for wrong in (above, f"{store.url}/docs"):
        vault = Vault(wrong, keys=ring, storage_options=store.storage_options)
        with pytest.raises(WrongRootError, match=f"the vault's URL is {store.url};"):
            vault.rewrap_all(dry_run=dry_run)
        with pytest.raises(WrongRootError):
            vault.rotate_all(dry_run=dry_run)
    right = Vault(store.url, keys=ring, storage_options=store.storage_options)
    report = right.rewrap_all(dry_run=dry_run)
    assert (report.would_rewrite if dry_run else report.rewritten) == 4  # nothing was written


def test_unbound_documents_and_other_keys_are_left_to_the_job(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    url = (tmp_path / "store").as_uri()
    filled(url, ring, 2)
    # listed first, sealed with no binding: it tells nothing about the root
    (tmp_path / "store" / "a-loose.sdoc").write_bytes(sealdoc.seal(b"x", keys=ring))
    ring.rotate()
    report = Vault(url, keys=ring).rewrap_all()  # not refused: the bound ones decide
    assert report.rewritten == 2
    assert [f.doc_id for f in report.failed] == ["a-loose"]  # a vault binds every document
    stranger = Vault(url, keys=MemoryKeyring()).rewrap_all()  # opens under no root either
    assert len(stranger.failed) == 3


def test_the_cli_refuses_the_wrong_root_with_exit_3(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    filled(f"file://{tmp_path}/bank-docs/statements", ring, 3)
    for args in (["--dry-run"], []):
        wrong = run(tmp_path, "rewrap", f"file://{tmp_path}/bank-docs", *args)
        assert wrong.returncode == 3, wrong.stderr
        assert b"would rewrite" not in wrong.stdout
        assert b"another root" in wrong.stderr
        assert f"file://{tmp_path}/bank-docs/statements;".encode() in wrong.stderr
        assert b"altered" not in wrong.stderr


def test_a_copy_under_a_subfolder_does_not_stop_the_job(tmp_path: Path) -> None:
    # Found in review: one document copied one folder down (a stray backup, or
    # planted by anyone with write access to the store and no key), listed
    # first, stopped every rewrap of the whole store and named the wrong root.
    ring = MemoryKeyring()
    url = (tmp_path / "v").as_uri()
    vault = Vault(url, keys=ring)
    for i in range(3):
        vault.put(f"C-{i}/2026", b"x")
    stray = tmp_path / "v" / "0-backup" / "C-1"
    stray.mkdir(parents=True)
    (stray / "2026.sdoc").write_bytes((tmp_path / "v" / "C-1" / "2026.sdoc").read_bytes())
    ring.rotate()
    report = vault.rewrap_all()
    assert report.rewritten == 3
    assert [f.doc_id for f in report.failed] == ["0-backup/C-1/2026"]
