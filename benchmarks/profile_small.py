"""Where a 1 KiB seal+open spends its time: cProfile, top functions by own time.

Run: python benchmarks/profile_small.py (docs/performance.md quotes it).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import timeit

import sealdoc


def main() -> None:
    ring = sealdoc.MemoryKeyring()
    doc = os.urandom(1024)
    context = {"tenant": "acme", "doc_type": "statement"}

    def round_trip() -> None:
        sealdoc.open(sealdoc.seal(doc, keys=ring, context=context), keys=ring)

    per_call = min(timeit.repeat(round_trip, number=2000, repeat=5)) / 2000
    print(f"seal+open of 1 KiB: {per_call * 1e6:.1f} us ({1 / per_call:,.0f}/s)")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5000):
        round_trip()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(15)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    print("\n".join(lines[start:]))


if __name__ == "__main__":
    main()
