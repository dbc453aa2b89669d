"""What inventory counts under a version, rewrap_all can move off it: sealdoc:: files too."""

from __future__ import annotations

from pathlib import Path

import fsspec

from sealdoc import MemoryKeyring, Vault


def test_rewrap_all_moves_files_written_through_the_protocol(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    url = f"file://{tmp_path}/store"
    vault = Vault(url, keys=ring)
    vault.put("docs/a", b"statement")
    with fsspec.open(f"sealdoc::{url}/exports/report.parquet", "wb", sealdoc={"keys": ring}) as f:
        f.write(b"the export")
    ring.rotate()
    vault.rewrap_all()
    old = f"memory:{ring.current_key().key_id}#1"
    # inventory (and keys destroy --check-store) counts the export on version 1, yet the
    # runbook's rewrap never touches it: the operator can never retire version 1
    assert vault.inventory().only_on.get(old, 0) == 0
    with fsspec.open(f"sealdoc::{url}/exports/report.parquet", "rb", sealdoc={"keys": ring}) as f:
        assert f.read() == b"the export"  # moved, and still opens, unbound as it was


def test_objects_that_are_not_sealed_are_skipped_not_failed(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    url = f"file://{tmp_path}/store"
    vault = Vault(url, keys=ring)
    vault.put("docs/a", b"statement")
    (tmp_path / "store" / "README.txt").write_text("not a sealed document")
    ring.rotate()
    report = vault.rewrap_all()
    assert (report.rewritten, report.skipped, report.failed) == (1, 1, ())
    assert (tmp_path / "store" / "README.txt").read_text() == "not a sealed document"
