"""benchmarks/obj_bulk.py still runs against today's internals (tiny sizes).

The bench session is not part of CI; this runs the bulk-through-obstore
benchmark with a few documents on moto and Azurite so that a rename shows
here, and checks that every figure it reports is there and positive.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "obj_bulk.py"


def test_the_obstore_bulk_benchmark_runs_and_reports_every_figure() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--docs", "4", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    figures = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert set(figures) == {"s3", "azure"}
    assert set(figures["s3"]) >= {
        "sealdoc_rewrap_cpu_ms",
        "bare_obstore_get_put_cpu_ms",
        "bare_boto3_get_put_cpu_ms",
        "sealdoc_vs_obstore",
        "sealdoc_vs_boto3",
    }
    assert set(figures["azure"]) >= {"sealdoc_rewrap_cpu_ms", "bare_obstore_get_put_cpu_ms"}
    assert all(v > 0 for store in figures.values() for v in store.values())
    assert "bulk rewrap on S3" in out
    assert "bulk rewrap on Azure" in out
