"""A small document's GET and PutObject skip botocore's per-call machinery (``_s3_direct``).

Against moto's server over HTTP on 127.0.0.1, with the counting proxy in
between to see what went over the wire: which requests carried sealdoc's own
user agent (the direct path) and which botocore's, and their headers.
"""

from __future__ import annotations

import base64
import logging
import os
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import fsspec
import pytest

import sealdoc
from sealdoc._store import _s3_direct
from sealdoc._store._s3_client import _timestamp
from sealdoc._store.factory import store_for
from sealdoc.exceptions import DocumentChangedError, DocumentNotFoundError, StoreError

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


def _signature_holds(request: Request, endpoint: str, secret: str = "testing") -> bool:
    """SigV4 of ``request`` recomputed from what went over the wire, as S3 checks it.

    moto does not check signatures, so the tests do: the headers the
    Authorization header names, the target, the X-Amz-Date and the payload
    hash sent, signed again with the secret, must give the same signature.
    """
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = request.headers["authorization"]
    fields = dict(part.strip().split("=", 1) for part in authorization.split(" ", 1)[1].split(","))
    access, date, region, service, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    headers = {name: request.headers[name] for name in signed}
    rebuilt = AWSRequest(method=request.method, url=endpoint + request.target, headers=headers)
    rebuilt.context["timestamp"] = request.headers["x-amz-date"]
    token = request.headers.get("x-amz-security-token")
    auth = S3SigV4Auth(Credentials(access, secret, token), service, region)
    expected = auth.signature(
        auth.string_to_sign(rebuilt, auth.canonical_request(rebuilt)), rebuilt
    )
    return (
        (region, service) == ("us-east-1", "s3")  # the store's, as botocore signs for it
        and date == request.headers["x-amz-date"][:8]
        and expected == fields["Signature"]
    )


class _Faulty:
    """The client's own HTTP session, with a fault put in front of or after a real send."""

    def __init__(self, real: Any, fault: Callable[[Any, Any], Any]) -> None:
        self._real = real
        self._fault = fault
        self.calls = 0

    def send(self, request: Any) -> Any:
        self.calls += 1
        return self._fault(self._real, request)


def _faulty(store: Any, fault: Callable[[Any, Any], Any]) -> _Faulty:
    direct = store._clients._direct
    assert direct is not None, "the route was not learnt"
    wrapper = _Faulty(direct._http, fault)
    direct._http = wrapper
    return wrapper


class _Raw:
    """A canned answer's body, as urllib3 hands it to botocore's AWSResponse."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, *_: object, **__: object) -> Iterator[bytes]:
        yield self._data


def _answer(status: int, code: str) -> Any:
    from botocore.awsrequest import AWSResponse

    body = f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()
    return AWSResponse("http://x", status, {"x-amz-request-id": "REQ1"}, _Raw(body))


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
    assert all(_signature_holds(r, proxy.endpoint) for r in requests)
    tampered = Request(gets[1].method, gets[1].target.replace("d1", "d2"), gets[1].headers)
    assert not _signature_holds(tampered, proxy.endpoint)  # the check can fail
    assert not _signature_holds(gets[1], proxy.endpoint, secret="other")


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
    # the refused PutObject went direct and was reported from its answer, not asked again
    refused = [r for r in _object_requests(proxy) if r.headers.get("if-match") == old]
    assert [_direct(r) for r in refused] == [True, True]
    missing = [r for r in _object_requests(proxy) if r.target.endswith("/v/missing")]
    assert [_direct(r) for r in missing] == [True]


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
    assert len(requests) == 17  # a GET and a PUT per document, one GET for the root check
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
    assert all(_signature_holds(r, proxy.endpoint) for r in requests)


# A client with "when_required" sends no checksum: then the ETag (the MD5 of
# the bytes sent) tells a landed write from another writer's (issue 19 item 10).
CHECKSUMS = pytest.mark.parametrize(
    "config", [{}, {"request_checksum_calculation": "when_required"}], ids=["crc", "none"]
)


@CHECKSUMS
def test_a_put_whose_answer_was_lost_after_it_landed_is_not_made_twice(
    moto_endpoint: str, proxy: CountingProxy, config: dict[str, str]
) -> None:
    from botocore.exceptions import ReadTimeoutError

    store = _store(proxy.endpoint, new_bucket(moto_endpoint), config_kwargs=config)
    old = store.put("doc", _write(b"one"))

    def lose_answer(real: Any, request: Any) -> Any:
        real.send(request)  # it lands
        raise ReadTimeoutError(endpoint_url=request.url)

    wrapper = _faulty(store, lose_answer)
    new = store.replace("doc", old, _write(b"two"))
    assert wrapper.calls == 1
    head = store.read_head("doc", 16)
    assert (head.data, head.version) == (b"two", new)
    puts = [r for r in _object_requests(proxy) if r.method == "PUT"]
    assert len(puts) == 2  # the first put, then the replace: not repeated
    assert proxy.count("HEAD") == 1  # looked at once to tell it landed
    sent_crc = ["x-amz-checksum-crc32" in r.headers for r in puts]
    assert sent_crc == ([True, True] if not config else [False, False])


def test_a_put_whose_answer_was_lost_before_it_landed_is_made_by_botocore(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    from botocore.exceptions import ReadTimeoutError

    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    old = store.put("doc", _write(b"one"))

    def lose_request(real: Any, request: Any) -> Any:
        raise ReadTimeoutError(endpoint_url=request.url)

    _faulty(store, lose_request)
    new = store.replace("doc", old, _write(b"two"))
    assert store.read_head("doc", 16).version == new != old
    assert store.read_head("doc", 16).data == b"two"
    puts = [r for r in _object_requests(proxy) if r.method == "PUT"]
    assert [_direct(r) for r in puts] == [False, False]  # botocore's replace, once


@CHECKSUMS
def test_a_lost_put_that_another_writer_overtook_is_a_change(
    moto_endpoint: str, proxy: CountingProxy, config: dict[str, str]
) -> None:
    from botocore.exceptions import ReadTimeoutError

    store = _store(proxy.endpoint, new_bucket(moto_endpoint), config_kwargs=config)
    old = store.put("doc", _write(b"one"))
    other = _store(moto_endpoint, store.bucket)

    def overtaken(real: Any, request: Any) -> Any:
        other.replace("doc", old, _write(b"theirs"))
        raise ReadTimeoutError(endpoint_url=request.url)

    _faulty(store, overtaken)
    with pytest.raises(DocumentChangedError):
        store.replace("doc", old, _write(b"mine"))
    assert store.read_head("doc", 16).data == b"theirs"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "AuthorizationHeaderMalformed"),
        (403, "SignatureDoesNotMatch"),
        (301, "PermanentRedirect"),
    ],
)
def test_an_answer_that_says_the_route_is_wrong_turns_it_off(
    moto_endpoint: str,
    proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str,
) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    old = store.put("doc", _write(b"one"))
    wrapper = _faulty(store, lambda real, request: _answer(status, code))
    with caplog.at_level(logging.WARNING, logger="sealdoc.store.s3"):
        new = store.replace("doc", old, _write(b"two"))
    assert store.read_head("doc", 16).data == b"two"
    store.replace("doc", new, _write(b"three"))
    assert wrapper.calls == 1  # off after the first
    assert not any(_direct(r) for r in _object_requests(proxy))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert code in warnings[0]
    assert "REQ1" in warnings[0]
    assert "testing" not in warnings[0]  # no credential in the line


def test_an_error_about_one_object_keeps_the_route(
    moto_endpoint: str, proxy: CountingProxy
) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    store.put("doc", _write(b"one"))
    with pytest.raises(DocumentNotFoundError):
        store.read_head("missing", 16)
    assert store._clients._direct.on
    store.put("doc2", _write(b"two"))
    assert _direct(_object_requests(proxy)[-1])


def test_a_throttle_leaves_the_next_calls_to_botocore_for_a_while(
    moto_endpoint: str, proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(proxy.endpoint, new_bucket(moto_endpoint))
    old = store.put("doc", _write(b"one"))
    answers = iter([_answer(503, "SlowDown")])
    wrapper = _faulty(store, lambda real, request: next(answers, None) or real.send(request))
    now = [1000.0]
    monkeypatch.setattr(_s3_direct, "_clock", lambda: now[0])
    new = store.replace("doc", old, _write(b"two"))  # direct: 503, then botocore
    newer = store.replace("doc", new, _write(b"three"))  # paused: botocore
    assert wrapper.calls == 1
    now[0] += _s3_direct.THROTTLE_PAUSE_S
    store.replace("doc", newer, _write(b"four"))  # direct again
    assert wrapper.calls == 2
    assert store.read_head("doc", 16).data == b"four"
    assert store._clients._direct.on


def test_a_store_that_ignores_the_range_is_refused_not_written(moto_endpoint: str) -> None:
    store = _store(moto_endpoint, new_bucket(moto_endpoint))
    store.put("doc", _write(b"H" * 10 + b"body" * 10))
    version = store.read_head("doc", 8).version
    clients = store._clients
    real = clients.get_whole

    def whole_object(bucket: str, key: str, byte_range: str, if_match: str | None) -> Any:
        response = clients.call("get_object", Bucket=bucket, Key=key)  # Range dropped
        data = response["Body"].read()
        response.pop("ContentRange", None)
        return response, data

    clients.get_whole = whole_object
    try:
        with pytest.raises(StoreError, match="nothing was written"):
            store.replace_header("doc", version, b"NEWHEADER!", 10)
    finally:
        clients.get_whole = real
    assert store.read_head("doc", 64).data == b"H" * 10 + b"body" * 10
    head = store.read_head("doc", 4)  # from byte 0 a whole answer is still right
    assert head.data.startswith(b"HHHH")


def test_the_callers_settings_reach_direct_calls(moto_endpoint: str, proxy: CountingProxy) -> None:
    config = {
        "max_pool_connections": 4,
        "request_checksum_calculation": "when_required",
        "user_agent_appid": "statements-rotation",
        "user_agent_extra": "bank/1.0",
    }
    store = _store(proxy.endpoint, new_bucket(moto_endpoint), config_kwargs=config)
    store.put("a", _write(b"one"))
    store.put("b", _write(b"two"))
    first, second = _object_requests(proxy)
    assert _direct(second)
    agent = second.headers["user-agent"]
    assert "app/statements-rotation" in agent
    assert "bank/1.0" in agent
    assert "x-amz-checksum-crc32" not in first.headers  # botocore, when_required
    assert "x-amz-checksum-crc32" not in second.headers


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T10:31:20.000Z",
        "2026-12-01T10:31:20Z",
        "2026-12-01T10:31:20+00:00",
        "Tue, 01 Dec 2026 10:31:20 GMT",
        "1796121080",
    ],
)
def test_listing_timestamps_read_as_botocore_reads_them(text: str) -> None:
    from botocore.utils import parse_timestamp

    ours = _timestamp(text)
    assert ours == parse_timestamp(text)
    assert ours == datetime(2026, 12, 1, 10, 31, 20, tzinfo=timezone.utc)
