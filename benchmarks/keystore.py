"""KeyStore at scale (issue 20): ratios printed in the same run.

``python benchmarks/keystore.py --quick`` (20,000 subjects) for a quick look;
the full run (``nox -s bench``, or no flag) uses a million subjects. Wall
clock and CPU time are both printed, with the load average: on a shared
machine the wall-clock rate says more about the neighbours than the code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import sealdoc

SECRET = bytes(range(32))


def _master() -> sealdoc.MemoryKeyring:
    return sealdoc.MemoryKeyring._from_secret(SECRET, key_id="master")


def _per_op(fn: Any, names: list[str]) -> float:
    """Median seconds of one call of ``fn(name)`` over ``names``."""
    times = []
    for name in names:
        start = time.perf_counter()
        fn(name)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _single_ops(store: sealdoc.KeyStore, tag: str, n: int = 200) -> dict[str, float]:
    new = [f"{tag}-new-{i}" for i in range(n)]
    return {
        "add_s": _per_op(store.add, new),
        "rotate_s": _per_op(store.rotate, new),
        "destroy_s": _per_op(lambda s: store.destroy(s, confirm=True), new),
    }


def scale(tmp: Path, subjects: int) -> dict[str, Any]:
    small = sealdoc.KeyStore(f"sqlite:///{tmp}/small.db", master=_master(), batch_size=5000)
    small.add_many(f"S-{i:09}" for i in range(1000))
    at_thousand = _single_ops(small, "small")
    big = sealdoc.KeyStore(f"sqlite:///{tmp}/big.db", master=_master(), batch_size=5000)
    load_before = os.getloadavg()
    start, cpu = time.perf_counter(), time.process_time()
    big.add_many(f"C-{i:09}" for i in range(subjects))
    add_many_s = time.perf_counter() - start
    add_many_cpu_s = time.process_time() - cpu
    at_scale = _single_ops(big, "big")
    size = sum(p.stat().st_size for p in tmp.glob("big.db*"))
    count = min(100_000, subjects)
    start = time.perf_counter()
    big.destroy_many((f"C-{i:09}" for i in range(count)), confirm=True)
    destroy_many_s = time.perf_counter() - start
    return {
        "subjects": subjects,
        "add_many_keys_per_s": subjects / add_many_s,
        "add_many_cpu_keys_per_s": subjects / add_many_cpu_s,
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "bytes_per_subject": size / subjects,
        "at_1000": at_thousand,
        f"at_{subjects}": at_scale,
        "ratio_add": at_scale["add_s"] / at_thousand["add_s"],
        "ratio_rotate": at_scale["rotate_s"] / at_thousand["rotate_s"],
        "ratio_destroy": at_scale["destroy_s"] / at_thousand["destroy_s"],
        "destroy_many": {"subjects": count, "seconds": destroy_many_s},
    }


def warm(tmp: Path) -> dict[str, Any]:
    data = os.urandom(100 * 1024)
    store = sealdoc.KeyStore(f"sqlite:///{tmp}/warm.db", master=_master())
    subject = store.key("C-1")
    ring = sealdoc.LocalKeyring.create(
        tmp / "ring.json", passphrase="x" * 20, opslimit=1, memlimit=8 << 20
    )
    key = ring.add_key("C-1")

    def rate(keys: Any, opener: Any) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(200):
                sealdoc.open(sealdoc.seal(data, keys=keys), keys=opener)
            best = min(best, time.perf_counter() - start)
        return 200 / best

    rate(subject, store)  # warm the cache
    store_rate, ring_rate = rate(subject, store), rate(key, ring)
    return {
        "keystore_per_s": store_rate,
        "keyring_per_s": ring_rate,
        "ratio": store_rate / ring_rate,
    }


def _race_worker(url: str, names: list[str], threads: int, start: Any, out: Any) -> None:
    store = sealdoc.KeyStore(url, master=_master())
    errors: list[str] = []
    lock = threading.Lock()

    def put(name: str) -> None:
        try:
            sealdoc.seal(b"x", keys=store.key(name))
        except Exception as exc:
            with lock:
                errors.append(repr(exc))

    start.wait()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, names))
    out.put(errors)


def race(tmp: Path, subjects: int) -> dict[str, Any]:
    url = f"sqlite:///{tmp}/race.db"
    sealdoc.KeyStore(url, master=_master())
    ctx = get_context("spawn")
    names = [f"R-{i}" for i in range(subjects)]
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race_worker, args=(url, names, 8, start, out)) for _ in range(2)]
    began = time.perf_counter()
    for p in procs:
        p.start()
    errors = [e for _ in procs for e in out.get()]
    for p in procs:
        p.join()
    import sqlite3

    conn = sqlite3.connect(f"{tmp}/race.db")
    rows = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT subject) FROM sealdoc_keystore_versions"
    ).fetchone()
    conn.close()
    return {
        "subjects": subjects,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "keys": rows[0],
        "one_key_per_subject": rows[0] == rows[1] == subjects,
        "seconds": time.perf_counter() - began,
    }


def postgres(subjects: int) -> dict[str, Any]:
    """add_many and destroy_many on a throwaway PostgreSQL cluster (tests/pg.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg import cluster, new_database

    with cluster() as server:
        store = sealdoc.KeyStore(new_database(server), master=_master(), batch_size=5000)
        names = [f"P-{i:09}" for i in range(subjects)]
        start = time.perf_counter()
        store.add_many(names)
        add_s = time.perf_counter() - start
        single = _single_ops(store, "pg", 50)
        start = time.perf_counter()
        store.destroy_many(names, confirm=True)
        destroy_s = time.perf_counter() - start
        store.close()
    return {
        "subjects": subjects,
        "add_many_keys_per_s": subjects / add_s,
        "destroy_many_seconds": destroy_s,
        "one_op": single,
    }


def keyring_add_key(tmp: Path, keys: int) -> dict[str, Any]:
    ring = sealdoc.LocalKeyring.create(
        tmp / "big-ring.json", passphrase="x" * 20, opslimit=1, memlimit=8 << 20
    )
    start = time.perf_counter()
    for i in range(keys):
        ring.add_key(f"C-{i}")
    return {"keys": keys, "seconds": time.perf_counter() - start}


def run(tmp: Path, quick: bool) -> dict[str, Any]:
    subjects = 20_000 if quick else 1_000_000
    return {
        "scale": scale(tmp, subjects),
        "warm_100k": warm(tmp),
        "race_2x8": race(tmp, 1000 if quick else 10_000),
        "keyring_add_key": keyring_add_key(tmp, 200 if quick else 2000),
        "postgresql": postgres(5000 if quick else 100_000),
    }


def report(figures: dict[str, Any]) -> None:
    s = figures["scale"]
    checks = [
        ("add_many >= 20,000 keys/s", s["add_many_keys_per_s"] >= 20_000),
        ("one add at scale within 2x", s["ratio_add"] <= 2),
        ("one rotate at scale within 2x", s["ratio_rotate"] <= 2),
        ("one destroy at scale within 2x", s["ratio_destroy"] <= 2),
        ("destroy_many of 100,000 within 60 s", s["destroy_many"]["seconds"] <= 60),
        ("warm seal+open >= 0.9x LocalKeyring", figures["warm_100k"]["ratio"] >= 0.9),
        (
            "2 processes x 8 threads: no error, one key each",
            figures["race_2x8"]["errors"] == 0 and figures["race_2x8"]["one_key_per_subject"],
        ),
    ]
    for name, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sealdoc-keystore-") as name:
        figures = run(Path(name), args.quick)
    print(json.dumps(figures, indent=2))
    report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
