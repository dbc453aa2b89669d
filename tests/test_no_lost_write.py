"""No lost write: Vault.put from threads and another process while replaces run in a loop.

Each document has one owner (a writer thread here, or the writer process)
that puts new versions of it; replacer threads meanwhile copy every document
onto itself with ``replace_header`` (conditional on the version they read),
which is exactly what a bulk job does with an older version it read. At the
end every document must hold the last version its owner's put returned:
a replace that won against a newer put would show up as an older version.
On a local folder, on S3 (moto's server, documents under one part, so
the conditional PutObject is the guard moto enforces) and on Azure Blob
(Azurite: a conditional Put Blob); both object stores through obstore.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pytest

import sealdoc
from sealdoc import DocumentChangedError, DocumentNotFoundError, Vault

from .objstores import Backend

SECRET = bytes(range(32))
DOCS = 8  # documents 0-3: writer threads of this process; 4-7: the writer process
SECONDS = 2.0

WRITER_PROCESS = """
import json, sys, time, sealdoc
url, options, seconds = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
vault = sealdoc.Vault(url, keys=sealdoc.MemoryKeyring._from_secret(bytes(range(32))),
                      storage_options=options)
last = {}
end = time.monotonic() + seconds
seq = 0
while time.monotonic() < end:
    for d in range(4, 8):
        seq += 1
        body = b"process %d %d " % (d, seq) * 400
        vault.put(f"doc/{d}", body)
        last[f"doc/{d}"] = body.decode()
print(json.dumps(last), flush=True)
"""


def _content(doc: int, writer: str, seq: int) -> bytes:
    return f"{writer} {doc} {seq} ".encode() * 400


def _round(url: str, options: dict[str, Any]) -> tuple[int, int]:
    ring = sealdoc.MemoryKeyring._from_secret(SECRET)
    vault = Vault(url, keys=ring, storage_options=options)
    for d in range(DOCS):
        vault.put(f"doc/{d}", _content(d, "initial", 0))
    store = vault.store
    stop = threading.Event()
    expected: dict[str, bytes] = {}
    counts = {"replaced": 0, "changed": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(docs: range, name: str) -> None:
        seq = 0
        while not stop.is_set():
            for d in docs:
                seq += 1
                data = _content(d, name, seq)
                vault.put(f"doc/{d}", data)
                expected[f"doc/{d}"] = data  # only this thread writes this document

    def replacer() -> None:
        while not stop.is_set():
            for d in range(DOCS):
                path = vault.path_of(f"doc/{d}")
                try:
                    head = store.read_head(path, 64)
                    store.replace_header(path, head.version, b"", 0)  # the old version again
                    outcome = "replaced"
                except DocumentChangedError:
                    outcome = "changed"
                except DocumentNotFoundError:  # pragma: no cover - nothing deletes here
                    outcome = "changed"
                with lock:
                    counts[outcome] += 1

    def guarded(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # reported below: the other threads must still stop
            errors.append(exc)

    threads = [
        threading.Thread(target=guarded, args=(writer, range(0, 2), "thread-a")),
        threading.Thread(target=guarded, args=(writer, range(2, 4), "thread-b")),
        *(threading.Thread(target=guarded, args=(replacer,)) for _ in range(3)),
    ]
    with subprocess.Popen(
        [sys.executable, "-c", WRITER_PROCESS, url, json.dumps(options), str(SECONDS)],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        for t in threads:
            t.start()
        try:
            out, _ = child.communicate(timeout=120)
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert child.returncode == 0
    assert errors == []
    from_process = {k: v.encode() for k, v in json.loads(out).items()}
    assert sorted(from_process) == [f"doc/{d}" for d in range(4, 8)]
    expected.update(from_process)
    for doc_id, data in sorted(expected.items()):
        assert vault.get(doc_id) == data, f"a put of {doc_id} was reverted"
    return counts["replaced"], counts["changed"]


def test_no_put_is_lost_on_a_local_folder(tmp_path: Any) -> None:
    replaced = changed = 0
    for i in range(3):
        r, c = _round(f"file://{tmp_path}/vault{i}", {})
        replaced, changed = replaced + r, changed + c
    assert replaced > 0  # the replaces did run, and won where nothing had changed


def test_no_put_is_lost_on_an_object_store(backend: Backend) -> None:
    """S3 (moto's server) and Azure Blob (Azurite), both through obstore."""
    replaced = 0
    for i in range(2):
        r, _c = _round(f"{backend.name}://{backend.bucket}/vault{i}", backend.options())
        replaced += r
    assert replaced > 0


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_a_put_waits_for_a_replace_in_progress(tmp_path: Any, kind: str) -> None:
    """A put that starts while a replace is between its check and its swap is not reverted."""
    url = f"file://{tmp_path}/v" if kind == "file" else f"memory://w{uuid.uuid4().hex}/v"
    ring = sealdoc.MemoryKeyring._from_secret(SECRET)
    vault = Vault(url, keys=ring)
    vault.put("doc", b"version 1")
    store = vault.store
    path = vault.path_of("doc")
    head = store.read_head(path, 64)
    entered, release = threading.Event(), threading.Event()
    old = store.read_head(path, 1 << 20).data

    def slow_write(f: Any) -> None:
        f.write(old)
        entered.set()
        release.wait(10)

    result: list[object] = []
    replace = threading.Thread(
        target=lambda: result.append(_try(lambda: store.replace(path, head.version, slow_write)))
    )
    replace.start()
    assert entered.wait(10)
    put = threading.Thread(target=lambda: vault.put("doc", b"version 2"))
    put.start()
    time.sleep(0.2)
    release.set()
    replace.join()
    put.join()
    assert vault.get("doc") == b"version 2"
    assert len(result) == 1  # refused ("changed"), or swapped in before the put's rename


def _try(fn: Any) -> object:
    try:
        return fn()
    except DocumentChangedError:
        return "changed"
