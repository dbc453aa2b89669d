"""A short run of the serving load test (benchmarks/serve.py has the 30 s one).

64 clients make random ranged reads of 100 documents for a few seconds
against a uvicorn child process: no error, every answer checked against the
plaintext, and the server's memory over its warmed-up baseline under 128 MiB.
The p99 latency is reported, not asserted (this is not a timed test).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "serve.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_serve", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_64_clients_random_ranges_bounded_memory(
    record_property: Callable[[str, object], None],
) -> None:
    figures = _bench().load(5, clients=64, docs=100, size=256 * 1024)
    for name in ("requests", "p50_ms", "p99_ms", "rss_over_baseline_mib"):
        record_property(name, figures[name])
    print(  # reported with -s / in the junit properties
        f"\nserve load: {figures['requests']} requests, p99 {figures['p99_ms']:.0f} ms, "
        f"RSS +{figures['rss_over_baseline_mib']:.1f} MiB",
        file=sys.stderr,
    )
    assert figures["errors"] == 0, figures["first_errors"]
    assert figures["requests"] >= 64
    assert figures["rss_over_baseline_mib"] < 128
