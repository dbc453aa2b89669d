"""No lost write across the two faces: AsyncVault puts while a bulk job's replaces run.

Async writers (obstore on S3, the pooled sync backend on a folder) put new
versions of their documents in a loop; replacer threads meanwhile copy every
document onto itself with the sync store's conditional ``replace_header``,
as a bulk rewrap does with the version it read. At the end every document
holds the last version its writer's put returned. A replace that won against
a newer async put would show up as an older version.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import sealdoc
from sealdoc import DocumentChangedError, DocumentNotFoundError, Vault
from sealdoc.aio import AsyncVault

from .stores import new_bucket, s3_options

DOCS = 6
SECONDS = 2.0


def _content(doc: int, seq: int) -> bytes:
    return f"async {doc} {seq} ".encode() * 400


@pytest.mark.parametrize("where", ["file", "s3"])
def test_no_async_put_is_lost_to_a_bulk_replace(where: str, tmp_path: Any, request: Any) -> None:
    if where == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        url, options = f"s3://{new_bucket(endpoint)}/vault", s3_options(endpoint)
    else:
        url, options = f"file://{tmp_path}/vault", {}
    ring = sealdoc.MemoryKeyring()
    sync = Vault(url, keys=ring, storage_options=options)
    vault = AsyncVault(url, keys=ring, storage_options=options)
    for d in range(DOCS):
        sync.put(f"doc/{d}", _content(d, 0))
    store = sync.store
    stop = threading.Event()
    counts = {"replaced": 0, "changed": 0}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def replacer() -> None:
        try:
            while not stop.is_set():
                for d in range(DOCS):
                    path = sync.path_of(f"doc/{d}")
                    try:
                        head = store.read_head(path, 64)
                        store.replace_header(path, head.version, b"", 0)  # the old version again
                        outcome = "replaced"
                    except (DocumentChangedError, DocumentNotFoundError):
                        outcome = "changed"
                    with lock:
                        counts[outcome] += 1
        except BaseException as exc:  # reported below; the writers must still stop
            errors.append(exc)

    async def writers() -> dict[str, bytes]:
        last: dict[str, bytes] = {}

        async def one(d: int) -> None:
            seq = 0
            end = time.monotonic() + SECONDS
            while time.monotonic() < end:
                seq += 1
                data = _content(d, seq)
                await vault.put(f"doc/{d}", data)
                last[f"doc/{d}"] = data  # only this task writes this document

        await asyncio.gather(*(one(d) for d in range(DOCS)))
        return last

    threads = [threading.Thread(target=replacer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        expected = asyncio.run(writers())
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert counts["replaced"] > 0  # the replaces did run, and won where nothing had changed
    for doc_id, data in sorted(expected.items()):
        assert sync.get(doc_id) == data, f"an async put of {doc_id} was reverted"
        assert asyncio.run(vault.get(doc_id)) == data
