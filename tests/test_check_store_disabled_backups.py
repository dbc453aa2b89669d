"""--check-store counts a wrap under a disabled or destroyed version as gone."""

from __future__ import annotations

from pathlib import Path

import sealdoc

from .test_cli import PASS, run


def test_check_store_does_not_rely_on_an_escrow_wrap_already_disabled(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    escrow = ring.add_key("escrow")
    url = f"file://{tmp_path}/vault"
    vault = sealdoc.Vault(url, keys=[ring, escrow])
    for i in range(3):
        vault.put(f"acme/{i}", b"statement %d" % i)  # wraps: default#1 and escrow#1
    ring.rotate()
    ring.rotate("escrow")
    first = run(tmp_path, "keys", "disable", "1", "--key", "escrow", "--check-store", url)
    assert first.returncode == 0, first.stderr  # default#1 still opens them
    second = run(tmp_path, "keys", "disable", "1", "--key", "default", "--check-store", url)
    # now nothing enabled opens the 3 documents: the check must refuse
    assert second.returncode == 3, second.stderr
    assert b"default\t1\tenabled" in run(tmp_path, "keys", "list").stdout
