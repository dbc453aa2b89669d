"""Bytes on the wire and requests for a header replace on S3 (moto's server), per document.

Standalone: ``python benchmarks/store_transfer.py [--mib 24] [--docs 3]``
(needs the ``s3`` and ``test`` extras: s3fs, boto3, moto[server]). A counting
TCP proxy (tests/proxy.py) sits between s3fs and moto's server on 127.0.0.1
and counts what crosses it. For each document of ``--mib`` MiB:

* ``header replace``: what a rewrap costs through the store seam:
  ``read_head`` (one ranged GET) + ``replace_header`` (ranged GET filling
  part 1, CreateMultipartUpload, UploadPart, UploadPartCopy, Complete);
* ``full rewrite``: what a rewrap cost before: GET the whole object, PUT it
  whole (a multipart upload of 5 MiB parts).

``main()`` prints JSON; ``measure(mib, docs)`` returns the same dict, for a
caller such as benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.proxy

MIB = 1 << 20


@contextlib.contextmanager
def _moto() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def measure(mib: int = 24, docs: int = 3) -> dict[str, Any]:
    import boto3
    import fsspec
    from tests.proxy import CountingProxy

    from sealdoc._store.factory import store_for

    with _moto() as endpoint, CountingProxy(endpoint) as proxy:
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=bucket
        )
        options = {
            "key": "bench",
            "secret": "bench",
            "endpoint_url": proxy.endpoint,
            "skip_instance_cache": True,
        }
        fs, root = fsspec.core.url_to_fs(f"s3://{bucket}/vault", **options)
        store = store_for(fs, root)
        header, body = b"H" * 600, os.urandom(mib * MIB - 600)
        paths = [f"doc/{i}" for i in range(docs)]
        for path in paths:
            store.put(path, lambda f: f.write(header + body))

        proxy.reset()
        for path in paths:
            head = store.read_head(path, 4096)
            store.replace_header(path, head.version, b"h" * 640, len(header))
        replace = _figures(proxy, docs)

        proxy.reset()
        for path in paths:
            head = store.read_head(path, 1)
            with store.open_range(path, 0, head.version) as f:
                whole = f.read()
            store.replace(path, head.version, _writer(whole))
        rewrite = _figures(proxy, docs)
        check = store.read_head(paths[0], 640).data == b"h" * 640
    return {
        "object_mib": mib,
        "documents": docs,
        "header_replace": replace,
        "full_rewrite": rewrite,
        "ratio_bytes": round(replace["mib_per_doc"] / rewrite["mib_per_doc"], 3),
        "content_checked": check,
    }


def _writer(data: bytes) -> Callable[[BinaryIO], object]:
    return lambda f: f.write(data)


def _figures(proxy: Any, docs: int) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for r in proxy.requests:
        kind = r.method
        if "x-amz-copy-source" in r.headers:
            kind = "UploadPartCopy"
        elif "uploadId=" in r.target and r.method == "PUT":
            kind = "UploadPart"
        elif r.method == "POST":
            kind = "Complete" if "uploadId=" in r.target else "CreateMultipartUpload"
        kinds[kind] = kinds.get(kind, 0) + 1
    total = proxy.sent + proxy.received
    return {
        "mib_per_doc": round(total / docs / MIB, 2),
        "mib_up_per_doc": round(proxy.sent / docs / MIB, 2),
        "mib_down_per_doc": round(proxy.received / docs / MIB, 2),
        "requests_per_doc": round(len(proxy.requests) / docs, 2),
        "requests": dict(sorted(kinds.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=24)
    parser.add_argument("--docs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.mib, args.docs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
