"""S3 and Azure Blob through obstore, on real servers: ranges, multipart, bytes per header rewrap.

The sync Vault on ``s3://`` (moto's server) and ``az://`` (Azurite), with
tests/proxy.py's counting proxy in front to see what each call moved.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

import sealdoc
from sealdoc.exceptions import DocumentChangedError

from .objstores import Backend
from .proxy import LOSE_AFTER, Canned, CountingProxy, FaultProxy, Request
from .stores import new_bucket

MIB = 1 << 20
SEG = 1024  # small segments: every read below crosses one
PRECONDITION_FAILED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
    b"<Message>At least one of the pre-conditions you specified did not hold</Message>"
    b"<Condition>If-Match</Condition></Error>"
)


@pytest.fixture
def proxy(backend: Backend) -> Any:
    with CountingProxy(backend.endpoint) as counting:
        yield counting


def _gets(proxy: CountingProxy) -> list[Request]:
    return [r for r in proxy.requests if r.method == "GET"]


def test_open_seek_read_across_segments_fetches_only_ranges(
    backend: Backend, ring: Any, proxy: CountingProxy
) -> None:
    data = os.urandom(MIB + 17)
    vault = backend.vault(ring, proxy.endpoint, segment_size=SEG)
    vault.put("doc", data)
    proxy.reset()
    reads = [(0, 10), (SEG - 5, 10), (500 * SEG - 1, 2 * SEG + 2), (len(data) - 7, 100), (7, 0)]
    with vault.open("doc") as reader:
        for offset, size in reads:
            reader.seek(offset)
            assert reader.read(size) == data[offset : offset + size], (offset, size)
    assert proxy.received < len(data) // 2  # the segments read, not the document
    gets = _gets(proxy)
    assert gets
    assert all("range" in r.headers for r in gets)
    assert all("if-match" in r.headers for r in gets)  # one version, never a mix


def test_a_reader_refuses_to_mix_versions(backend: Backend, ring: Any) -> None:
    data = os.urandom(300 * SEG)
    vault = backend.vault(ring, segment_size=SEG)
    vault.put("doc", data)
    with vault.open("doc") as reader:
        assert reader.read(SEG) == data[:SEG]
        vault.put("doc", os.urandom(300 * SEG))
        reader.seek(200 * SEG)
        with pytest.raises(DocumentChangedError):
            reader.read(SEG)


def test_a_12_mib_document_put_get_and_conditional_replace(
    backend: Backend, ring: Any, proxy: CountingProxy
) -> None:
    """Over one part: S3 uploads parts and completes with If-Match; Azure sends one Put Blob."""
    first, second = os.urandom(12 * MIB), os.urandom(12 * MIB + 5)
    vault = backend.vault(ring, proxy.endpoint)
    vault.put("big", first)
    assert vault.get("big") == first
    store: Any = vault.store
    path = vault.path_of("big")
    old = store.read_head(path, 64).version
    sealed = vault._sealed("big", second, None)
    proxy.reset()
    new = store.replace(path, old, lambda f: f.write(sealed))
    writes = [r for r in proxy.requests if r.method in ("PUT", "POST")]
    if backend.name == "s3":
        parts = [r for r in writes if "partNumber=" in r.target]
        assert len(parts) == 3  # 5 + 5 + the rest
        complete = [r for r in writes if r.method == "POST" and "uploadId=" in r.target]
        assert [r.headers.get("if-match") for r in complete] == [old]
    else:
        assert len(writes) == 1
        assert writes[0].headers.get("if-match") == old
        assert int(writes[0].headers["content-length"]) == len(sealed)
    head = store.read_head(path, 64)
    assert (head.version, head.size) == (new, len(sealed))
    assert vault.get("big") == second
    if backend.name == "az":  # moto accepts a stale If-Match on CompleteMultipartUpload
        again = vault._sealed("big", second, None)  # new bytes: a new data key
        with pytest.raises(DocumentChangedError):
            store.replace(path, old, lambda f: f.write(again))
        assert store.read_head(path, 64).version == new


def test_bytes_moved_by_a_header_rewrap_of_a_12_mib_document(
    backend: Backend, proxy: CountingProxy
) -> None:
    """S3 copies all but a part on the server (UploadPartCopy), Azure all but the header."""
    ring = sealdoc.MemoryKeyring()
    data = os.urandom(12 * MIB)
    vault = backend.vault(ring, proxy.endpoint)
    vault.put("big", data)
    size = vault.store.read_head(vault.path_of("big"), 1).size
    ring.rotate()
    proxy.reset()
    report = vault.rewrap_all()
    assert report.rewritten == 1
    up, down = proxy.sent, proxy.received
    print(f"{backend.name}: a header rewrap of {size} bytes moved {up} up, {down} down")
    if backend.name == "s3":
        assert up < 5.5 * MIB
        assert down < 5.5 * MIB
        copies = [r for r in proxy.requests if "x-amz-copy-source" in r.headers]
        assert len(copies) == 1
        assert "x-amz-copy-source-if-match" in copies[0].headers
    else:  # the new header staged, the body copied by the service (Put Block From URL)
        assert up < 64 * 1024
        assert down < MIB  # the job's head read
        copies = [r for r in proxy.requests if "x-ms-copy-source" in r.headers]
        assert len(copies) == 1  # one block of up to 100 MiB
        assert copies[0].headers["x-ms-source-if-match"]
    assert vault.get("big") == data
    assert list(vault.inventory().counts.values()) == [1]


def test_a_multipart_replace_whose_answer_was_lost_is_reported_as_written(
    moto_endpoint: str, ring: Any
) -> None:
    """S3 over one part: the completion landed, its answer was lost, botocore repeats it.

    Real S3 answers the repeat 412 (the object is no longer the version in
    If-Match: it is ours); moto ignores If-Match there, so the proxy answers
    the repeat as S3 does. The object is this upload's if its ETag is the
    one its parts make.
    """
    completions: list[Request] = []
    stale = Canned(412, PRECONDITION_FAILED)
    first: list[object] = [LOSE_AFTER]  # what the first completion meets; a repeat: stale

    def fault(request: Request) -> object:
        if request.method == "POST" and "uploadId=" in request.target:
            completions.append(request)
            return first[0] if len(completions) == 1 else stale
        return None

    backend = Backend("s3", moto_endpoint, new_bucket(moto_endpoint))
    with FaultProxy(moto_endpoint, fault) as proxy:
        vault = backend.vault(ring, proxy.endpoint)
        vault.put("big", b"small first")
        store: Any = vault.store
        path = vault.path_of("big")
        old = store.read_head(path, 64).version
        sealed = vault._sealed("big", os.urandom(6 * MIB), None)
        new = store.replace(path, old, lambda f: f.write(sealed))
        assert len(completions) == 2  # botocore repeated it
        head = store.read_head(path, 64)
        assert (head.version, head.size) == (new, len(sealed))
        # the version in If-Match is stale (another writer's object): still a change
        completions.clear()
        first[0] = stale
        other = vault._sealed("big", os.urandom(6 * MIB), None)
        with pytest.raises(DocumentChangedError):
            store.replace(path, old, lambda f: f.write(other))
        assert store.read_head(path, 64).version == new
