"""The benchmark's child scripts still run against today's internals.

benchmarks/bulk.py measures memory in child processes that import private
modules; the bench session is not part of CI, so a renamed module would
otherwise go unnoticed until someone measures. Each child runs here at a
tiny size, and what it reports is checked.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bulk.py"


def _bulk() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_bulk", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH.parent))
    return module


def _child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def test_the_listing_child_streams_its_names() -> None:
    figures = _child(_bulk()._LISTING_CHILD, "250")
    assert figures["names"] == 250
    assert figures["peak_mib"] >= figures["baseline_mib"] > 0


def test_the_large_document_child_rewraps_and_rotates(tmp_path: Path) -> None:
    figures = _child(_bulk()._RSS_CHILD, str(tmp_path / "store"), "1", "2")
    assert figures["rewrap_peak_mib"] >= figures["baseline_mib"] > 0
    assert figures["rotate_peak_mib"] >= figures["baseline_mib"]


def test_the_ci_smoke_runs_and_reports_every_ratio() -> None:
    # benchmarks/smoke.py runs in CI (nox -s smoke) and must not rot: at a
    # tenth of a second it still measures each pair and prints each figure
    smoke = BENCH.parent / "smoke.py"
    done = subprocess.run(
        [sys.executable, str(smoke), "--seconds", "0.1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert set(figures) == {
        "bare_aes_gcm_round_trip_us",
        "sealdoc_round_trip_us",
        "sealdoc_over_bare",
        "rewrap_100k_us",
        "rotate_100k_us",
        "rewrap_rate_vs_rotate",
    }
    assert all(value > 0 for value in figures.values())
