"""Bulk rewrap through obstore: client CPU per 100 KiB document on S3 and Azure, against peers.

    python benchmarks/obj_bulk.py [--docs N] [--only s3|azure] [--profile]

Issue 21 ("Speed"): ``Vault.rewrap_all`` (8 workers) on S3 (moto's
application served by waitress with keep-alive, in its own process) and on
Azure Blob (Azurite, node, in its own process), so that this process's CPU
time (``getrusage``: Python and obstore's Rust threads) is the client's
alone. Peers measured in the same run, on the same objects, 8 threads:

* S3: a bare boto3 GET + PUT per document; a bare obstore ``get`` + ``put``.
* Azure: a bare obstore ``get`` + ``put``.

Each figure is the best of ``--repeats`` passes over every document, after
one pass that warms the connection pools. ``--profile`` adds cProfile's
top entries (own time, every worker thread) of one more sealdoc pass.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# tests/azurite.py starts Azurite, for the tests and here
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bulk import _boto, _cpu_seconds, _profiled
from s3_proxy import moto_process

KIB = 1024
TARGET_MS = 1.5  # issue 21: client CPU per 100 KiB document of a bulk rewrap


def _threads(fn: Callable[[str], object], keys: list[str], threads: int = 8) -> None:
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, keys))


def _bare_obstore(store: Any) -> Callable[[str], None]:
    """The least a rewrap needs of obstore per small document: one GET, one PUT."""
    import obstore

    def one(key: str) -> None:
        data = obstore.get(store, key).bytes()
        obstore.put(store, key, data)

    return one


def _interleaved(works: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """CPU seconds of each work, best of ``repeats`` rounds that run one of each in turn.

    Alternating, so that a neighbour's load on a shared machine falls on
    sealdoc and its peers alike.
    """
    best = dict.fromkeys(works, float("inf"))
    for _ in range(repeats):
        for name, work in works.items():
            best[name] = min(best[name], _cpu_seconds(work))
    return best


def _run(
    url: str,
    options: dict[str, Any],
    *,
    count: int,
    repeats: int,
    profile: bool,
    peers: Callable[[Any, list[str]], dict[str, Callable[[str], None]]],
) -> dict[str, Any]:
    """Fill ``count`` documents; then sealdoc's rewrap_all and each peer, alternating."""
    import sealdoc
    from sealdoc._store.blobs import BlobStore

    ring = sealdoc.MemoryKeyring()
    vault = sealdoc.Vault(url, keys=ring, storage_options=options)
    store = vault._backend
    assert isinstance(store, BlobStore), f"{url} did not go through obstore: {store!r}"
    body = os.urandom(100 * KIB)
    _threads(lambda doc_id: vault.put(doc_id, body), [f"d/{i:05}" for i in range(count)])
    keys = [store._full(entry.path) for entry in store.list("")]
    assert len(keys) == count, keys[:5]

    def rewrap() -> None:
        ring.rotate()
        report = vault.rewrap_all(workers=8)
        assert report.rewritten == count, report

    works: dict[str, Callable[[], object]] = {"sealdoc_rewrap_cpu_ms": rewrap}
    for name, one in peers(store._store, keys).items():
        works[name] = partial(_threads, one, keys)
    for work in works.values():
        work()  # every client's pool warmed, outside the figures
    cpu = _interleaved(works, repeats)
    figures: dict[str, Any] = {"documents": count}
    figures.update({name: 1000 * spent / count for name, spent in cpu.items()})
    if profile:
        out = io.StringIO()
        profiles = _profiled(rewrap)
        pstats.Stats(*profiles, stream=out).sort_stats("tottime").print_stats(30)
        figures["profile_top"] = out.getvalue().splitlines()[:50]
    return figures


def s3(count: int, repeats: int, profile: bool) -> dict[str, Any]:
    with moto_process(keep_alive=True) as port:
        endpoint = f"http://127.0.0.1:{port}"
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client = _boto(endpoint)
        client.create_bucket(Bucket=bucket)

        def boto_one(key: str) -> None:
            data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            client.put_object(Bucket=bucket, Key=key, Body=data)

        def peers(store: Any, _keys: list[str]) -> dict[str, Callable[[str], None]]:
            return {
                "bare_obstore_get_put_cpu_ms": _bare_obstore(store),
                "bare_boto3_get_put_cpu_ms": boto_one,
            }

        # the options s3fs users give; none that only s3fs takes, so obstore serves them
        options = {"key": "bench", "secret": "bench", "endpoint_url": endpoint}
        figures = _run(
            f"s3://{bucket}/v", options, count=count, repeats=repeats, profile=profile, peers=peers
        )
    _ratios(figures, "bare_obstore_get_put_cpu_ms", "bare_boto3_get_put_cpu_ms")
    return figures


@contextmanager
def azurite() -> Iterator[str]:
    from tests.azurite import running

    with (
        tempfile.TemporaryDirectory(prefix="sealdoc-azurite-") as workdir,
        running(Path(workdir)) as endpoint,
    ):
        yield endpoint


def azure(count: int, repeats: int, profile: bool) -> dict[str, Any]:
    from tests.azurite import azure_options, new_container

    with azurite() as endpoint:
        container = new_container(endpoint)
        options = azure_options(endpoint)
        figures = _run(
            f"az://{container}/v",
            options,
            count=count,
            repeats=repeats,
            profile=profile,
            peers=lambda store, _keys: {"bare_obstore_get_put_cpu_ms": _bare_obstore(store)},
        )
    _ratios(figures, "bare_obstore_get_put_cpu_ms")
    return figures


def _ratios(figures: dict[str, Any], *peers: str) -> None:
    for peer in peers:
        name = peer.removeprefix("bare_").removesuffix("_get_put_cpu_ms")
        figures[f"sealdoc_vs_{name}"] = round(figures["sealdoc_rewrap_cpu_ms"] / figures[peer], 2)


def measure(
    count: int = 300, repeats: int = 3, only: str | None = None, profile: bool = False
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if only in (None, "s3"):
        results["s3"] = s3(count, repeats, profile)
    if only in (None, "azure"):
        results["azure"] = azure(count, repeats, profile)
    return results


def report(results: dict[str, Any]) -> int:
    """Print issue 21's bulk CPU target per store, with the peers; the number missed."""
    missed = 0
    for name, label in (("s3", "S3 (moto, keep-alive)"), ("azure", "Azure (Azurite)")):
        if name not in results:
            continue
        r = results[name]
        ok = r["sealdoc_rewrap_cpu_ms"] <= TARGET_MS
        missed += not ok
        peers = f"bare obstore get+put {r['bare_obstore_get_put_cpu_ms']:.2f} ms"
        peers += f" ({r['sealdoc_vs_obstore']:.2f}x)"
        if "bare_boto3_get_put_cpu_ms" in r:
            peers += f", bare boto3 GET+PUT {r['bare_boto3_get_put_cpu_ms']:.2f} ms"
            peers += f" ({r['sealdoc_vs_boto3']:.2f}x)"
        print(
            f"{'PASS' if ok else 'MISS'}  bulk rewrap on {label}, client CPU per 100 KiB "
            f"document: {r['sealdoc_rewrap_cpu_ms']:.2f} ms (target <= {TARGET_MS} ms); {peers}"
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["s3", "azure"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    results = measure(args.docs, args.repeats, args.only, args.profile)
    print(json.dumps(results, indent=2))
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
