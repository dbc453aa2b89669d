"""Bulk rotation benchmarks (issue 11, "Performance"): run by run.py, or alone.

``python benchmarks/bulk.py [--quick] [--only NAME ...]`` prints the figures
as JSON. moto's server runs in its own process, so that ``getrusage`` of this
one counts sealdoc's side only, and S3 traffic goes through a byte-counting
proxy (``Proxy``) that can also delay each request by 20 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from s3_proxy import Proxy, moto_process

MIB = 1024 * 1024


def _s3_options(url: str) -> dict[str, Any]:
    # Only options obstore takes: one it has no counterpart for (s3fs's
    # config_kwargs, say) sends the Vault through s3fs instead (_store/factory.py),
    # and these sections would measure that fallback, not the S3 backend.
    return {
        "key": "bench",
        "secret": "bench",
        "endpoint_url": url,
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }


def _boto(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", config=Config(max_pool_connections=64)
    )


def _fill(vault: Any, count: int, body: bytes, workers: int = 8) -> None:
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda i: vault.put(f"d/{i:05}", body), range(count)))


# -- local folder against cp -r and sync ------------------------------------------------------


def local(tmp: Path, quick: bool) -> dict[str, Any]:
    import sealdoc

    ring = sealdoc.MemoryKeyring()
    count = 1000 if quick else 10_000
    store = tmp / "local-store"
    vault = sealdoc.Vault(f"file://{store}", keys=ring, durable=False)
    _fill(vault, count, os.urandom(100 * 1024))
    os.sync()
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(store), str(tmp / "local-copy")], check=True)
    os.sync()
    t_cp = time.perf_counter() - start
    ring.rotate()
    durable = sealdoc.Vault(f"file://{store}", keys=ring)  # fsynced, the default
    start = time.perf_counter()
    report = durable.rewrap_all(workers=8)
    os.sync()
    t_rewrap = time.perf_counter() - start
    assert report.rewritten == count, report
    return {
        "documents": count,
        "rewrap_per_s": count / t_rewrap,
        "cp_r_sync_per_s": count / t_cp,
        "rewrap_vs_cp_r": t_cp / t_rewrap,
    }


# -- S3: bytes on the wire, workers against bare boto3, inventory, CPU per document -----------


def s3_bytes(quick: bool) -> dict[str, Any]:
    """Bytes through the proxy per document, rewrap of 24 MiB documents."""
    import sealdoc

    size, count = (24 * MIB, 2) if quick else (24 * MIB, 4)
    with moto_process() as port:
        proxy = Proxy(port)
        _boto(proxy.url).create_bucket(Bucket="bench-bytes")
        ring = sealdoc.MemoryKeyring()
        vault = sealdoc.Vault(
            "s3://bench-bytes/v", keys=ring, storage_options=_s3_options(proxy.url)
        )
        _fill(vault, count, bytes(size), workers=2)
        ring.rotate()
        proxy.reset()
        report = vault.rewrap_all(workers=2)
        assert report.rewritten == count, report
        per_doc = (proxy.up + proxy.down) / count
        return {
            "document_mib": size / MIB,
            "wire_mib_per_document": per_doc / MIB,
            "requests_per_document": proxy.requests / count,
        }


def _bare_rewrap(client: Any, bucket: str, keys: list[str], threads: int) -> float:
    """The least a rewrap needs per small document: one GET, one PUT. Documents per second."""

    def one(key: str) -> None:
        data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        client.put_object(Bucket=bucket, Key=key, Body=data)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, keys))
    return len(keys) / (time.perf_counter() - start)


def s3_concurrency(quick: bool) -> dict[str, Any]:
    """32 workers behind a 20 ms proxy, against 1 worker and a bare boto3 loop of 32 threads."""
    import sealdoc

    count = 160 if quick else 640
    results: dict[str, Any] = {"documents": count, "delay_ms": 20}
    with moto_process() as port:
        proxy = Proxy(port, delay=0.02)
        client = _boto(proxy.url)
        client.create_bucket(Bucket="bench-conc")
        ring = sealdoc.MemoryKeyring()
        options = _s3_options(proxy.url)
        body = os.urandom(4096)
        for workers in (1, 32):
            n = count if workers == 32 else max(20, count // 16)
            vault = sealdoc.Vault(f"s3://bench-conc/w{workers}", keys=ring, storage_options=options)
            _fill(vault, n, body, workers=32)
            ring.rotate()
            proxy.reset()
            start = time.perf_counter()
            report = vault.rewrap_all(workers=workers)
            elapsed = time.perf_counter() - start
            assert report.rewritten == n, report
            results[f"workers_{workers}_per_s"] = n / elapsed
            results[f"workers_{workers}_requests_per_s"] = proxy.requests / elapsed
            results[f"workers_{workers}_requests_per_document"] = proxy.requests / n
        keys = [f"w32/d/{i:05}.sdoc" for i in range(count)]
        proxy.reset()
        start = time.perf_counter()
        results["bare_boto3_32_per_s"] = _bare_rewrap(client, "bench-conc", keys, 32)
        results["bare_boto3_32_requests_per_s"] = proxy.requests / (time.perf_counter() - start)
        inventory_vault = sealdoc.Vault("s3://bench-conc/w32", keys=ring, storage_options=options)
        start = time.perf_counter()
        inv = inventory_vault.inventory(workers=32)
        results["inventory_32_per_s"] = inv.documents / (time.perf_counter() - start)

        def head(key: str) -> None:
            client.get_object(Bucket="bench-conc", Key=key, Range="bytes=0-8191")["Body"].read()

        start = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(head, keys))
        results["bare_boto3_ranged_get_32_per_s"] = count / (time.perf_counter() - start)
    results["workers_32_vs_1"] = results["workers_32_per_s"] / results["workers_1_per_s"]
    results["request_rate_vs_bare"] = (
        results["workers_32_requests_per_s"] / results["bare_boto3_32_requests_per_s"]
    )
    results["inventory_vs_bare"] = (
        results["inventory_32_per_s"] / results["bare_boto3_ranged_get_32_per_s"]
    )
    return results


def s3_cpu(quick: bool) -> dict[str, Any]:
    """Client CPU per document: rewrap of 100 KiB documents, 8 workers, moto in its own process.

    Measured twice: on moto's own server, which closes the connection after
    every response, and on moto served with keep-alive, as S3 does; the
    target is judged on the second. The bare boto3 loop runs on each.
    """
    results: dict[str, Any] = {}
    for keep_alive in (False, True):
        name = "keep_alive" if keep_alive else "connection_per_request"
        results[name] = _s3_cpu_run(quick, keep_alive=keep_alive)
    results["cpu_ms_per_document"] = results["keep_alive"]["cpu_ms_per_document"]
    results["bare_boto3_get_put_cpu_ms_per_document"] = results["keep_alive"][
        "bare_boto3_get_put_cpu_ms_per_document"
    ]
    return results


def _cpu_seconds(work: Callable[[], object]) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF)
    work()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _s3_cpu_run(quick: bool, *, keep_alive: bool) -> dict[str, Any]:
    import sealdoc

    count = 100 if quick else 300
    with moto_process(keep_alive=keep_alive) as port:
        url = f"http://127.0.0.1:{port}"
        _boto(url).create_bucket(Bucket="bench-cpu")
        ring = sealdoc.MemoryKeyring()
        vault = sealdoc.Vault("s3://bench-cpu/v", keys=ring, storage_options=_s3_options(url))
        _fill(vault, count, os.urandom(100 * 1024))
        vault.rewrap_all(workers=8)  # botocore's first calls of the store, outside the figure
        ring.rotate()
        reports: list[Any] = []
        start = time.perf_counter()
        cpu = _cpu_seconds(lambda: reports.append(vault.rewrap_all(workers=8)))
        elapsed = time.perf_counter() - start
        assert reports[0].rewritten == count, reports[0]
        client = _boto(url)
        keys = [f"v/d/{i:05}.sdoc" for i in range(count)]
        _bare_rewrap(client, "bench-cpu", keys, 8)  # the client's pool warmed, as sealdoc's
        bare = _cpu_seconds(lambda: _bare_rewrap(client, "bench-cpu", keys, 8))
        ring.rotate()
        profiles = _profiled(lambda: vault.rewrap_all(workers=8))
    out = io.StringIO()
    pstats.Stats(*profiles, stream=out).sort_stats("tottime").print_stats(25)
    return {
        "documents": count,
        "cpu_ms_per_document": 1000 * cpu / count,
        "bare_boto3_get_put_cpu_ms_per_document": 1000 * bare / count,
        "wall_per_s": count / elapsed,
        "profile_top": out.getvalue().splitlines()[:45],
    }


def _profiled(work: Callable[[], object]) -> list[cProfile.Profile]:
    """cProfile in every thread ``work`` starts (cProfile alone sees the calling thread only)."""
    profiles: list[cProfile.Profile] = []

    def start(*_: object) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()  # replaces this hook in the new thread

    threading.setprofile(start)
    try:
        work()
    finally:
        threading.setprofile(None)
    return profiles


# -- memory: large documents, and a listing of a million names -----------------------------


_RSS_CHILD = r"""
import io, json, sys
import sealdoc

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)

class Zeros(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left); b[:n] = bytes(n); self.left -= n; return n

root, size_mib, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ring = sealdoc.MemoryKeyring()
vault = sealdoc.Vault(f"file://{root}", keys=ring, durable=False)
vault.put("warm", b"x"); ring.rotate(); vault.rewrap_all(workers=count); vault.delete("warm")
for i in range(count):
    vault.put(f"big/{i}", Zeros(size_mib << 20))
ring.rotate()
baseline = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
vault.rewrap_all(workers=count)
rewrap_peak = status("VmHWM")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
vault.rotate_all(workers=count)
print(json.dumps({"baseline_mib": baseline, "rewrap_peak_mib": rewrap_peak,
                  "rotate_peak_mib": status("VmHWM")}))
"""


def big_rss(tmp: Path, quick: bool) -> dict[str, Any]:
    size = 64 if quick else 300
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(tmp / "rss-store"), str(size), "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(out.stdout)
    figures["documents"] = f"3 x {size} MiB, 3 workers"
    return figures


_LISTING_CHILD = r"""
import json, sys
from sealdoc._bulk.checkpoint import Checkpoint
from sealdoc._bulk.engine import listing
from sealdoc._bulk.source import Source
from sealdoc._store.base import Entry

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)

count = int(sys.argv[1])

class Listed:
    # A store whose listing pages through generated names, as S3's would.
    url = "memory://simulated"
    conditional = True
    def list(self, prefix=""):
        for i in range(count):
            yield Entry(f"{prefix}customer-{i:08}/statement-2026-11.sdoc", 102_400, None)

source = Source(url="memory://simulated", store=Listed(), keys=(), opaque=False, name_key=None,
                doc_id_of=lambda p: p[:-5], binding_for=lambda d: {})
marks = Checkpoint(None, {})
baseline = status("VmRSS")
seen = sum(1 for entry, doc_id in listing(source, "") if not marks.finished(entry.path))
print(json.dumps({"names": seen, "baseline_mib": baseline, "peak_mib": status("VmHWM")}))
"""


def listing_rss(quick: bool) -> dict[str, Any]:
    count = 100_000 if quick else 1_000_000
    out = subprocess.run(
        [sys.executable, "-c", _LISTING_CHILD, str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(out.stdout)
    figures["how"] = (
        "a DocumentStore whose list() yields generated Entry objects one by one (as S3 pages "
        "would), through the engine's listing filter and the checkpoint's resume test"
    )
    return figures


SECTIONS: dict[str, Callable[[Path, bool], dict[str, Any]]] = {
    "local": local,
    "s3_bytes": lambda _tmp, quick: s3_bytes(quick),
    "s3_concurrency": lambda _tmp, quick: s3_concurrency(quick),
    "s3_cpu": lambda _tmp, quick: s3_cpu(quick),
    "big_rss": big_rss,
    "listing_rss": lambda _tmp, quick: listing_rss(quick),
}


def run(tmp: Path, quick: bool, only: list[str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        print(f"bulk: {name} ...", flush=True)
        results[name] = section(tmp, quick)
    return results


def report(b: dict[str, Any]) -> int:
    """Print each bulk target's PASS or MISS; return how many were missed."""
    missed = 0

    def line(ok: bool | None, text: str) -> None:
        nonlocal missed
        missed += ok is False
        print(f"{'INFO' if ok is None else 'PASS' if ok else 'MISS'}  {text}")

    if "local" in b:
        r = b["local"]
        line(
            r["rewrap_vs_cp_r"] >= 0.5,
            f"bulk rewrap of {r['documents']} x 100 KiB, fsynced: {r['rewrap_per_s']:.0f}/s, "
            f"{r['rewrap_vs_cp_r']:.2f}x cp -r + sync (target 0.5x)",
        )
    if "s3_bytes" in b:
        r = b["s3_bytes"]
        line(
            r["wire_mib_per_document"] <= 12,
            f"S3 rewrap of {r['document_mib']:.0f} MiB documents: "
            f"{r['wire_mib_per_document']:.1f} MiB on the wire, "
            f"{r['requests_per_document']:.1f} requests per document (target <= 12 MiB)",
        )
    if "s3_concurrency" in b:
        r = b["s3_concurrency"]
        line(
            r["request_rate_vs_bare"] >= 0.8,
            f"S3 behind 20 ms: 32 workers at {r['request_rate_vs_bare']:.2f}x the request rate "
            f"of bare boto3 x 32 threads; {r['workers_32_vs_1']:.1f}x one worker (target 0.8x)",
        )
        line(
            r["inventory_vs_bare"] >= 0.8,
            f"inventory behind 20 ms, 32 workers: {r['inventory_32_per_s']:.0f}/s, "
            f"{r['inventory_vs_bare']:.2f}x bare ranged GETs (target 0.8x)",
        )
    if "s3_cpu" in b:
        r = b["s3_cpu"]
        ratio = r["cpu_ms_per_document"] / r["bare_boto3_get_put_cpu_ms_per_document"]
        line(
            r["cpu_ms_per_document"] <= 3,
            f"client CPU per 100 KiB document on S3, keep-alive: {r['cpu_ms_per_document']:.2f} ms "
            f"(target <= 3 ms); a bare boto3 GET + PUT of it: "
            f"{r['bare_boto3_get_put_cpu_ms_per_document']:.2f} ms "
            f"({ratio:.2f}x); with a connection per "
            f"request (moto's own server): "
            f"{r['connection_per_request']['cpu_ms_per_document']:.2f} ms, bare boto3 "
            f"{r['connection_per_request']['bare_boto3_get_put_cpu_ms_per_document']:.2f} ms",
        )
    if "big_rss" in b:
        r = b["big_rss"]
        peak = max(r["rewrap_peak_mib"], r["rotate_peak_mib"]) - r["baseline_mib"]
        line(peak < 96, f"peak RSS over baseline, {r['documents']}: {peak:.1f} MiB (< 96)")
    if "listing_rss" in b:
        r = b["listing_rss"]
        line(
            None,
            f"listing {r['names']:,} names: peak RSS {r['peak_mib']:.1f} MiB "
            f"(baseline {r['baseline_mib']:.1f})",
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sealdoc-bulk-bench-") as name:
        results = run(Path(name), args.quick, args.only)
    print(json.dumps(results, indent=2))
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
