"""benchmarks/keystore.py runs at tiny sizes, so a rename or a broken step shows in CI."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import keystore as bench


def test_the_keystore_benchmark_runs(tmp_path: Path) -> None:
    scale = bench.scale(tmp_path, 1500)
    assert scale["destroy_many"]["subjects"] == 1500
    assert scale["bytes_per_subject"] > 0
    assert bench.race(tmp_path, 30)["one_key_per_subject"]
    assert bench.keyring_add_key(tmp_path, 3)["keys"] == 3
    assert bench.postgres(200)["destroy_many_seconds"] > 0
