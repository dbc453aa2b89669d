"""A writer killed (SIGKILL) mid-write leaves the old version; the next clean removes its leftovers.

Locally the leftover is the hidden temporary file; on S3 (moto's server) it
is a multipart upload killed between its parts. Through obstore (the Vault's
backend for S3 and Azure Blob), the same on S3; Azure holds a write in
memory until its one Put Blob, so a killed writer leaves nothing at all.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import fsspec

from sealdoc._store.factory import open_store, store_for

from .objstores import Backend
from .stores import new_bucket, s3_options

KILLED_WRITER = """
import json, sys, time, fsspec
from sealdoc._store.factory import open_store, store_for
url, options = sys.argv[1], json.loads(sys.argv[2])
if sys.argv[3] == "fsspec":
    fs, root = fsspec.core.url_to_fs(url, **options)
    store = store_for(fs, root)
else:
    store, _ = open_store(url, options)
head = store.read_head("doc", 16)

def write(f):
    f.write(b"n" * (6 << 20))  # more than one 5 MiB part: on S3 part 1 is uploaded now
    f.write(b"n" * (1 << 20))
    print("between parts", flush=True)
    time.sleep(60)

store.replace("doc", head.version, write)
"""


def _kill_a_writer(
    url: str,
    options: dict[str, Any],
    while_alive: Callable[[], None] = lambda: None,
    backend: str = "fsspec",
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, url, json.dumps(options), backend],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "between parts\n"
        try:
            while_alive()
        finally:
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)


def test_a_killed_local_writer_is_cleaned_by_the_next_run(tmp_path: Any) -> None:
    url = f"file://{tmp_path}/store"
    fs, root = fsspec.core.url_to_fs(url)
    store = store_for(fs, root)
    store.put("doc", lambda f: f.write(b"version 1"))

    def live_writer_is_spared() -> None:  # the other process still holds its file's lock
        assert store.clean_partials("", time.time() + 3600) == 0

    _kill_a_writer(url, {}, live_writer_is_spared)
    assert store.read_head("doc", 100).data == b"version 1"
    left = [p.name for p in (tmp_path / "store").iterdir() if p.name != "doc"]
    assert len(left) == 1
    assert left[0].endswith(".partial")
    assert [e.path for e in store.list()] == ["doc"]
    assert store.clean_partials("", time.time() + 1) == 1
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["doc"]


def test_a_multipart_upload_killed_between_parts_is_aborted_by_the_next_run(
    moto_endpoint: str,
) -> None:
    url = f"s3://{new_bucket(moto_endpoint)}/store"
    options = s3_options(moto_endpoint)
    fs, root = fsspec.core.url_to_fs(url, **options)
    store: Any = store_for(fs, root)
    store.put("doc", lambda f: f.write(b"version 1"))
    _kill_a_writer(url, options)
    assert store.read_head("doc", 100).data == b"version 1"
    uploads = store._call("list_multipart_uploads").get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["store/doc"]
    assert store.clean_partials("", time.time() + 1) == 1
    assert store._call("list_multipart_uploads").get("Uploads", []) == []
    assert store.read_head("doc", 100).data == b"version 1"


def test_a_killed_writer_on_obstore_leaves_the_old_version(backend: Backend) -> None:
    store: Any
    store, _ = open_store(backend.url, backend.options())
    store.put("doc", lambda f: f.write(b"version 1"))
    _kill_a_writer(backend.url, backend.options(), backend="obstore")
    assert store.read_head("doc", 100).data == b"version 1"
    assert [e.path for e in store.list()] == ["doc"]
    left = 1 if backend.name == "s3" else 0  # S3: the upload's first part, invisible
    assert store.clean_partials("", time.time() + 1) == left
    assert store.clean_partials("", time.time() + 1) == 0
    assert store.read_head("doc", 100).data == b"version 1"
