"""The S3 backend's per-document calls go through a blocking botocore client, set up as s3fs's.

moto's server over HTTP on 127.0.0.1 (``tests.stores``).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import fsspec
import pytest

from sealdoc._store.factory import store_for
from sealdoc.exceptions import DocumentChangedError, DocumentNotFoundError

from .stores import new_bucket, s3_options


def _store(endpoint: str, **extra: Any) -> Any:
    fs, root = fsspec.core.url_to_fs(
        f"s3://{new_bucket(endpoint)}/v", **s3_options(endpoint), **extra
    )
    return store_for(fs, root)


def _write(data: bytes) -> Any:
    return lambda f: f.write(data)


def test_documents_are_read_and_written_while_s3fs_event_loop_is_busy(moto_endpoint: str) -> None:
    store = _store(moto_endpoint)
    version = store.put("doc", _write(b"old"))
    loop = store._fs.loop
    busy, release = threading.Event(), threading.Event()

    def hold() -> None:
        busy.set()
        release.wait(30)

    loop.call_soon_threadsafe(hold)  # s3fs's one loop thread blocks until released
    assert busy.wait(10)
    done: list[object] = []

    def work() -> None:
        head = store.read_head("doc", 16)
        done.append(store.replace("doc", head.version, _write(b"new")))

    worker = threading.Thread(target=work, daemon=True)
    try:
        worker.start()
        worker.join(15)
        assert done, "the S3 calls waited on s3fs's event loop"
    finally:
        release.set()
        worker.join(30)
    assert done[0] != version
    assert store.read_head("doc", 16).data == b"new"


def test_s3fs_additional_kwargs_reach_every_write(moto_endpoint: str) -> None:
    store = _store(moto_endpoint, s3_additional_kwargs={"ServerSideEncryption": "AES256"})
    store.put("small", _write(b"x" * 100))
    store.put("big", _write(b"y" * (6 << 20)))  # multipart: on CreateMultipartUpload
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    for name in ("small", "big"):
        head = client.head_object(Bucket=store.bucket, Key=f"v/{name}")
        assert head["ServerSideEncryption"] == "AES256", name


def test_errors_are_mapped_on_the_botocore_path(moto_endpoint: str) -> None:
    store = _store(moto_endpoint)
    assert store._clients is not None
    old = store.put("doc", _write(b"one"))
    store.replace("doc", old, _write(b"two"))
    with pytest.raises(DocumentChangedError):
        store.replace("doc", old, _write(b"three"))
    with pytest.raises(DocumentNotFoundError):
        store.read_head("missing", 16)
    assert store.read_head("doc", 16).data == b"two"


def test_a_callers_own_session_keeps_s3fs_client(moto_endpoint: str) -> None:
    from aiobotocore.session import AioSession  # type: ignore[import-untyped]

    store = _store(moto_endpoint, session=AioSession())
    assert store._clients is None
    store.put("doc", _write(b"one"))
    assert store.read_head("doc", 16).data == b"one"
