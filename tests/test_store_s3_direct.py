"""A small document's GET and PutObject skip botocore's per-call machinery (``_s3_direct``).

Against moto's server over HTTP on 127.0.0.1, with the counting proxy in
between to see what went over the wire: which requests carried sealdoc's own
user agent (the direct path) and which botocore's, and their headers.
"""

from __future__ import annotations

import base64
import os
import zlib
from collections.abc import Iterator
from typing import Any

import fsspec
import pytest

import sealdoc
from sealdoc._store.factory import store_for
from sealdoc.exceptions import DocumentChangedError, DocumentNotFoundError

from .proxy import CountingProxy, Request
from .stores import new_bucket, s3_options


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[CountingProxy]:
    with CountingProxy(moto_endpoint) as counting:
        yield counting


def _store(endpoint: str, bucket: str, **extra: Any) -> Any:
    fs, root = fsspec.core.url_to_fs(f"s3://{bucket}/v", **s3_options(endpoint), **extra)
    return store_for(fs, root)


def _write(data: bytes) -> Any:
    return lambda f: f.write(data)


def _direct(request: Request) -> bool:
    return request.headers.get("user-agent", "").startswith("sealdoc/")


def _object_requests(proxy: CountingProxy) -> list[Request]:
    return [r for r in proxy.requests if r.method in ("GET", "PUT") and "/v/" in r.target]


def test_after_botocores_first_call_the_small_calls_go_direct(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    versions = {f"d{i}": store.put(f"d{i}", _write(f"body {i}".encode())) for i in range(6)}
    for name, version in versions.items():
        head = store.read_head(name, 64)
        assert head.data == f"body {name[1:]}".encode()
        assert head.version == version
        store.replace(name, version, _write(b"new " + name.encode()))
    requests = _object_requests(proxy)
    assert len(requests) == 18
    gets = [r for r in requests if r.method == "GET"]
    puts = [r for r in requests if r.method == "PUT"]
    # botocore made the first PUT, which taught the route the GETs take as well
    assert [_direct(r) for r in puts] == [False] + [True] * 11
    assert all(_direct(r) for r in gets)
    for name in versions:
        assert store.read_head(name, 64).data == b"new " + name.encode()
    conditional = [r for r in puts if "if-match" in r.headers]
    assert len(conditional) == 6
    assert all(_direct(r) for r in conditional)
    assert all(r.headers["authorization"].startswith("AWS4-HMAC-SHA256 ") for r in requests)


def test_a_direct_put_carries_the_checksum_botocore_would_send(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    body = os.urandom(3000)
    store.put("first", _write(body))  # botocore's
    store.put("second", _write(body))  # direct
    first, second = (r for r in _object_requests(proxy) if r.method == "PUT")
    assert not _direct(first)
    assert _direct(second)
    expected = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert first.headers["x-amz-checksum-crc32"] == expected
    assert second.headers["x-amz-checksum-crc32"] == expected
    # on plain HTTP both sign the payload's SHA-256, as S3 then requires
    assert first.headers["x-amz-content-sha256"] == second.headers["x-amz-content-sha256"]


def test_a_conflict_or_a_missing_object_answers_as_on_botocores_path(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    old = store.put("doc", _write(b"one"))
    store.read_head("doc", 16)  # the route is learnt from both calls
    new = store.replace("doc", old, _write(b"two"))
    with pytest.raises(DocumentChangedError):
        store.replace("doc", old, _write(b"three"))
    with pytest.raises(DocumentNotFoundError):
        store.read_head("missing", 16)
    head = store.read_head("doc", 16)
    assert (head.data, head.version) == (b"two", new)
    # the refused PutObject went direct, and botocore asked again to report it
    refused = [r for r in _object_requests(proxy) if r.headers.get("if-match") == old]
    assert [_direct(r) for r in refused] == [True, True, False]


def test_an_empty_object_still_reads_as_empty(moto_endpoint: str, proxy: CountingProxy) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    store.put("a", _write(b"x"))
    store.read_head("a", 16)
    store.put("empty", _write(b""))
    head = store.read_head("empty", 16)
    assert (head.data, head.size) == (b"", 0)


def test_extra_request_arguments_keep_every_call_on_botocore(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    store = _store(
        proxy.endpoint,
        new_bucket(moto_endpoint),
        s3_additional_kwargs={"ServerSideEncryption": "AES256"},
    )
    for i in range(3):
        version = store.put(f"d{i}", _write(b"x"))
        store.replace(f"d{i}", store.read_head(f"d{i}", 8).version, _write(b"y"))
        assert version
    requests = _object_requests(proxy)
    assert len(requests) == 9
    assert not any(_direct(r) for r in requests)
    puts = [r for r in requests if r.method == "PUT"]
    assert all(r.headers.get("x-amz-server-side-encryption") == "AES256" for r in puts)


def test_a_keys_special_characters_reach_the_same_object(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    store.put("plain", _write(b"teach the route"))
    store.read_head("plain", 32)
    names = ["with space", "ümlaut/é", "a+b=c&d", "tilde~star*", "percent%41"]
    for name in names:
        version = store.put(name, _write(name.encode()))
        head = store.read_head(name, 64)
        assert (head.data, head.version) == (name.encode(), version)
    listed = {entry.path for entry in store.list()}
    assert listed == {"plain", *names}
    assert all(_direct(r) for r in _object_requests(proxy)[2:])


def test_a_bulk_rewrap_on_s3_makes_no_botocore_object_call_after_the_first(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    ring = sealdoc.MemoryKeyring()
    bucket = new_bucket(moto_endpoint)
    vault = sealdoc.Vault(f"s3://{bucket}/v", keys=ring, storage_options=s3_options(proxy.endpoint))
    for i in range(8):
        vault.put(f"d{i}", f"statement {i}".encode())
    ring.rotate()
    proxy.reset()
    report = vault.rewrap_all(workers=4)
    assert report.rewritten == 8
    requests = _object_requests(proxy)
    assert len(requests) == 16
    assert sum(not _direct(r) for r in requests) == 0  # the route was learnt by the puts
    for i in range(8):
        assert vault.get(f"d{i}") == f"statement {i}".encode()
    inventory = vault.inventory()
    assert (inventory.documents, inventory.unreadable) == (8, ())
    assert list(inventory.counts.values()) == [8]  # all on the ring's new version


def test_direct_calls_sign_with_the_session_token(moto_endpoint: str, proxy: CountingProxy) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint), token="a-session-token")
    store.put("a", _write(b"one"))
    store.put("b", _write(b"two"))
    assert store.read_head("b", 8).data == b"two"
    requests = _object_requests(proxy)
    assert [_direct(r) for r in requests] == [False, True, True]
    assert all(r.headers.get("x-amz-security-token") == "a-session-token" for r in requests)
    assert all("x-amz-security-token" in r.headers["authorization"] for r in requests)
