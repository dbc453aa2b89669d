"""DocumentApp under load, and against Starlette's FileResponse of the same plaintext.

The server is a child process (uvicorn on 127.0.0.1, a free port) so its
memory is its own: ``python benchmarks/serve.py --serve DIR`` seals ``--docs``
documents into a vault under DIR, writes their plaintexts beside it, and
serves both (``/docs/{i}`` through DocumentApp, ``/file/{i}`` through
FileResponse). The client here is httpx, asynchronous, in this process.

``python benchmarks/serve.py --load 30`` is issue 22's load test (64 clients,
random ranged reads of 100 documents for 30 s); ``--versus`` the requests per
second against FileResponse (1 MiB whole and by 64 KiB ranges). tests/
test_serve_load.py runs the load test for a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
SEGMENT = 64 * 1024


def plaintext(i: int, size: int) -> bytes:
    """Document ``i``'s bytes: the client rebuilds them to check every answer."""
    return random.Random(i).randbytes(size)


def _serve(folder: Path, docs: int, size: int, s3: str | None = None) -> None:
    """The child: seal the documents, then serve them until killed.

    With ``s3`` (``ENDPOINT/BUCKET`` of moto's server) the vault and the
    plaintexts are objects there, ``/proxy/{name}`` streams a plaintext
    object through obstore (the bare proxy DocumentApp is compared with), and
    ``/adocs/{i}`` is DocumentApp over an AsyncVault (obstore) on the same vault
    (``/adocs-cold/{i}`` the same with no header cache: every request uncached).
    """
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route

    import sealdoc
    from sealdoc.serve import DocumentApp

    plain = folder / "plain"
    plain.mkdir(exist_ok=True)
    routes: list[Any] = []
    if s3 is None:
        vault = sealdoc.Vault(
            f"file://{folder}/vault", keys=sealdoc.MemoryKeyring(), segment_size=SEGMENT
        )
    else:
        from sealdoc.aio import AsyncVault

        endpoint, bucket = s3.rsplit("/", 1)
        options = {"key": "testing", "secret": "testing", "endpoint_url": endpoint}
        keys = sealdoc.MemoryKeyring()
        url = f"s3://{bucket}/vault"
        vault = sealdoc.Vault(url, keys=keys, segment_size=SEGMENT, storage_options=options)
        on_obstore = AsyncVault(url, keys=keys, storage_options=options)
        routes.append(Route("/proxy/{name}", _obstore_proxy(endpoint, bucket, docs, size)))
        routes.append(Mount("/adocs", app=DocumentApp(on_obstore, authorize=lambda *_: True)))
        # the same without the per-version header cache: what a first request costs
        cold = DocumentApp(on_obstore, authorize=lambda *_: True, header_cache=0)
        routes.append(Mount("/adocs-cold", app=cold))
    for i in range(docs):
        data = plaintext(i, size)
        vault.put(f"doc-{i}", data)
        (plain / f"doc-{i}").write_bytes(data)

    async def file(request: Request) -> FileResponse:
        name = request.path_params["name"]
        return FileResponse(plain / name, content_disposition_type="inline")

    app = Starlette(
        routes=[
            *routes,
            Route("/file/{name}", file, methods=["GET", "HEAD"]),
            Mount("/docs", app=DocumentApp(vault, authorize=lambda *_: True)),
        ]
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _obstore_proxy(endpoint: str, bucket: str, docs: int, size: int) -> Any:
    """A bare streaming proxy of the plaintext objects (one range, or the whole), via obstore."""
    import obstore
    from obstore.store import S3Store
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse

    store = S3Store(
        bucket,
        endpoint=endpoint,
        access_key_id="testing",
        secret_access_key="testing",
        region="us-east-1",
        client_options={"allow_http": True},
    )
    for i in range(docs):
        obstore.put(store, f"plain/doc-{i}", plaintext(i, size))

    async def proxy(request: Request) -> Response:
        path = f"plain/{request.path_params['name']}"
        asked = request.headers.get("range")
        if asked:
            first, last = (int(v) for v in asked.removeprefix("bytes=").split("-"))
            data = await obstore.get_range_async(store, path, start=first, end=last + 1)
            headers = {"content-range": f"bytes {first}-{last}/{size}", "accept-ranges": "bytes"}
            return Response(bytes(data), status_code=206, headers=headers)
        result = await obstore.get_async(store, path)
        length = {"content-length": str(result.meta["size"])}
        return StreamingResponse(result.stream(), headers=length)

    return proxy


@contextmanager
def server(folder: Path, docs: int, size: int, s3: str | None = None) -> Iterator[tuple[str, int]]:
    """``(base URL, pid)`` of a serving child until the block ends."""
    args = ["--serve", str(folder), "--docs", str(docs), "--size", str(size)]
    child = subprocess.Popen(
        [sys.executable, __file__, *args, *(["--s3", s3] if s3 else [])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}", child.pid
    finally:
        child.terminate()
        child.wait(20)
        if child.stdout is not None:
            child.stdout.close()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _load(
    url: str, pid: int, *, seconds: float, clients: int, docs: int, size: int
) -> dict[str, Any]:
    import httpx

    plains = [plaintext(i, size) for i in range(docs)]
    latencies: list[float] = []
    errors: list[str] = []
    rss: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        # warm up: every document once, so the baseline holds what a served vault holds
        for i in range(docs):
            await client.head(f"/docs/doc-{i}")
        baseline = rss_mib(pid)
        deadline = time.monotonic() + seconds
        rng = random.Random(0)

        async def one_client() -> None:
            while time.monotonic() < deadline:
                i = rng.randrange(docs)
                start = rng.randrange(size)
                end = min(size, start + rng.randrange(1, 256 * 1024)) - 1
                began = time.perf_counter()
                r = await client.get(f"/docs/doc-{i}", headers={"range": f"bytes={start}-{end}"})
                latencies.append(time.perf_counter() - began)
                if r.status_code != 206 or r.content != plains[i][start : end + 1]:
                    errors.append(f"doc-{i} {start}-{end}: {r.status_code}")

        async def sample() -> None:
            while time.monotonic() < deadline:
                rss.append(rss_mib(pid))
                await asyncio.sleep(0.1)

        await asyncio.gather(sample(), *(one_client() for _ in range(clients)))
    latencies.sort()
    return {
        "seconds": seconds,
        "clients": clients,
        "documents": docs,
        "document_size": size,
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:5],
        "requests_per_s": len(latencies) / seconds,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rss_baseline_mib": baseline,
        "rss_peak_mib": max(rss, default=baseline),
        "rss_over_baseline_mib": max(rss, default=baseline) - baseline,
    }


def load(seconds: float, *, clients: int = 64, docs: int = 100, size: int = MIB) -> dict[str, Any]:
    """Issue 22's load test: random ranged reads by ``clients`` at once for ``seconds``."""
    with (
        tempfile.TemporaryDirectory(prefix="sealdoc-serve-") as name,
        server(Path(name), docs, size) as (url, pid),
    ):
        return asyncio.run(_load(url, pid, seconds=seconds, clients=clients, docs=docs, size=size))


async def _rate(url: str, path: str, ranged: bool, count: int, clients: int) -> tuple[float, float]:
    """Requests per second, and client CPU seconds per request."""
    import httpx

    size = MIB
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await client.get(path)
        left = count

        async def worker() -> None:
            nonlocal left
            rng = random.Random(1)
            while left > 0:
                left -= 1
                if ranged:
                    start = rng.randrange(size // (64 * 1024)) * 64 * 1024
                    headers = {"range": f"bytes={start}-{start + 64 * 1024 - 1}"}
                    r = await client.get(path, headers=headers)
                    assert r.status_code == 206
                else:
                    r = await client.get(path)
                    assert r.status_code == 200

        cpu, began = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return count / wall, cpu / count


def versus(quick: bool) -> dict[str, Any]:
    """1 MiB whole and by 64 KiB ranges, local folder: DocumentApp against FileResponse."""
    count = 100 if quick else 1000
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="sealdoc-serve-") as name,
        server(Path(name), 1, MIB) as (url, _),
    ):
        for label, ranged in (("whole", False), ("ranges_64k", True)):
            ours, ours_cpu = asyncio.run(_rate(url, "/docs/doc-0", ranged, count, 8))
            theirs, theirs_cpu = asyncio.run(_rate(url, "/file/doc-0", ranged, count, 8))
            results[label] = {
                "sealdoc_per_s": ours,
                "file_response_per_s": theirs,
                "ratio": ours / theirs,
                "client_cpu_ms_per_request": 1000 * ours_cpu,
                "client_cpu_ms_per_request_file_response": 1000 * theirs_cpu,
            }
    return results


@contextmanager
def moto() -> Iterator[str]:
    """moto's server as a child process on 127.0.0.1 (keep-alive), with a new bucket."""
    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    fake |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull}
    fake |= {"AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    os.environ.update(fake)
    child = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="serve-bench")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield f"{endpoint}/serve-bench"
    finally:
        child.terminate()
        child.wait(20)


def versus_s3(quick: bool) -> dict[str, Any]:
    """From S3 (moto): DocumentApp over a Vault (s3fs, threads) and over an AsyncVault
    (obstore) against a bare obstore streaming proxy of the plaintext, in one run."""
    count = 50 if quick else 500
    results: dict[str, Any] = {}
    with (
        moto() as s3,
        tempfile.TemporaryDirectory(prefix="sealdoc-serve-") as name,
        server(Path(name), 1, MIB, s3) as (url, _),
    ):
        for label, ranged in (("whole", False), ("ranges_64k", True)):
            ours, ours_cpu = asyncio.run(_rate(url, "/docs/doc-0", ranged, count, 8))
            on_obstore, _ = asyncio.run(_rate(url, "/adocs/doc-0", ranged, count, 8))
            uncached, _ = asyncio.run(_rate(url, "/adocs-cold/doc-0", ranged, count, 8))
            theirs, _ = asyncio.run(_rate(url, "/proxy/doc-0", ranged, count, 8))
            results[label] = {
                "sealdoc_per_s": ours,
                "asyncvault_per_s": on_obstore,
                "obstore_proxy_per_s": theirs,
                "ratio": ours / theirs,
                "asyncvault_ratio": on_obstore / theirs,
                "asyncvault_uncached_per_s": uncached,
                "asyncvault_uncached_ratio": uncached / theirs,
                "client_cpu_ms_per_request": 1000 * ours_cpu,
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", metavar="DIR", help="(the child) seal and serve into DIR")
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--size", type=int, default=MIB)
    parser.add_argument("--load", type=float, metavar="SECONDS", help="the load test")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--versus", action="store_true", help="against FileResponse")
    parser.add_argument("--versus-s3", action="store_true", help="against an obstore proxy")
    parser.add_argument("--s3", metavar="ENDPOINT/BUCKET", help="(the child) serve from S3")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.serve:
        _serve(Path(args.serve), args.docs, args.size, args.s3)
        return 0
    results: dict[str, Any] = {}
    if args.load:
        results["load"] = load(args.load, clients=args.clients, docs=args.docs, size=args.size)
    if args.versus:
        results["versus_file_response"] = versus(args.quick)
    if args.versus_s3:
        results["versus_obstore_proxy_s3"] = versus_s3(args.quick)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
