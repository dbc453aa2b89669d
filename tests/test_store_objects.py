"""S3 and Azure Blob through obstore, on real servers: names, signatures, throttling, lost answers.

The sync Vault on ``s3://`` (moto's server) and ``az://`` (Azurite), each
test on both. What the retired hand-made S3 path was tested for, kept on
the obstore path: odd keys, empty objects, a session token on every signed
request, throttling (back-off, then success or a clear error), and answers
lost after or before a conditional PUT landed. A proxy in front of the
server (tests/proxy.py) sees or breaks what goes over the wire.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import sealdoc
from sealdoc.exceptions import (
    DocumentChangedError,
    DocumentExistsError,
    DocumentNotFoundError,
    StoreError,
)

from .azurite import ACCOUNT, ACCOUNT_KEY
from .objstores import BUSY, Backend
from .proxy import (
    LOSE_AFTER,
    LOSE_BEFORE,
    Canned,
    CountingProxy,
    FaultProxy,
    FirstAnswered,
    Request,
    Without,
)

ODD = ["with space", "ümlaut/é", "a+b=c&d", "percent%41", "hash#tag", "what?now", "tilde~star"]


def _write(data: bytes) -> Any:
    return lambda f: f.write(data)


def test_odd_keys_round_trip_and_list(backend: Backend, ring: Any) -> None:
    vault = backend.vault(ring)
    for i, doc_id in enumerate(ODD):
        vault.put(doc_id, b"statement %d" % i)
    for i, doc_id in enumerate(ODD):
        assert vault.get(doc_id) == b"statement %d" % i
        assert vault.exists(doc_id)
    assert sorted(vault.list()) == sorted(ODD)
    assert list(vault.list("ümlaut/")) == ["ümlaut/é"]
    assert sorted(vault.list("a+")) == ["a+b=c&d"]
    vault.delete("hash#tag")
    assert not vault.exists("hash#tag")
    assert sorted(vault.list()) == sorted(set(ODD) - {"hash#tag"})


def test_an_empty_object_reads_as_empty(backend: Backend, ring: Any) -> None:
    vault = backend.vault(ring)
    store: Any = vault.store
    version = store.put("empty", _write(b""))
    head = store.read_head("empty", 16)
    assert (head.data, head.size, head.version) == (b"", 0, version)
    for length in (16, 0):  # the async face: the same rule (a 416 is looked up, not an error)
        seen = asyncio.run(store.async_face().head("empty", length))
        assert (seen.data, seen.size, seen.version) == (b"", 0, version)
    assert store.read("empty") == b""
    with store.open_file("empty") as f:
        assert f.read() == b""
    vault.put("nothing", b"")
    assert vault.get("nothing") == b""


def _signature_holds(request: Request, endpoint: str, secret: str = "testing") -> bool:
    """SigV4 of ``request`` recomputed from what went over the wire, as S3 checks it.

    moto does not check signatures, so the test does: the headers the
    Authorization header names, the target, X-Amz-Date, the session token
    and the payload hash sent, signed again with the secret, must give the
    same signature.
    """
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = request.headers["authorization"]
    fields = dict(part.strip().split("=", 1) for part in authorization.split(" ", 1)[1].split(","))
    access, _date, region, service, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    headers = {name: request.headers[name] for name in signed}
    rebuilt = AWSRequest(method=request.method, url=endpoint + request.target, headers=headers)
    rebuilt.context["timestamp"] = request.headers["x-amz-date"]
    token = request.headers.get("x-amz-security-token")
    auth = S3SigV4Auth(Credentials(access, secret, token), service, region)
    expected = auth.signature(
        auth.string_to_sign(rebuilt, auth.canonical_request(rebuilt)), rebuilt
    )
    return (region, service) == ("us-east-1", "s3") and expected == fields["Signature"]


def test_a_session_token_signs_every_s3_request(moto_endpoint: str, ring: Any) -> None:
    backend = Backend("s3", moto_endpoint, _bucket(moto_endpoint))
    token = "FQoGZXIvYXdzEJr-session-token"
    with CountingProxy(moto_endpoint) as proxy:
        options = {**backend.options(proxy.endpoint), "token": token}
        vault = sealdoc.Vault(backend.url, keys=ring, storage_options=options)
        for doc_id in ("plain", "with space", "ümlaut/é", "a+b=c&d"):
            vault.put(doc_id, doc_id.encode())
            assert vault.get(doc_id) == doc_id.encode()
        assert len(list(vault.list())) == 4
    requests = proxy.requests
    assert len(requests) >= 9
    assert all(r.headers.get("x-amz-security-token") == token for r in requests)
    assert all(_signature_holds(r, proxy.endpoint) for r in requests)
    tampered = Request(requests[1].method, requests[1].target + "x", requests[1].headers)
    assert not _signature_holds(tampered, proxy.endpoint)  # the check can fail
    assert not _signature_holds(requests[1], proxy.endpoint, secret="other")


def _bucket(endpoint: str) -> str:
    from .stores import new_bucket

    return new_bucket(endpoint)


def test_a_sas_token_reaches_every_azure_request(azurite_endpoint: str, ring: Any) -> None:
    """Azure's counterpart of a session token: Azurite checks the SAS signature itself."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from .azurite import new_container

    container = new_container(azurite_endpoint)
    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    with CountingProxy(azurite_endpoint) as proxy:
        options = {"account_name": ACCOUNT, "account_host": proxy.endpoint, "sas_token": sas}
        vault = sealdoc.Vault(f"az://{container}/v", keys=ring, storage_options=options)
        vault.put("with space", b"one")
        assert vault.get("with space") == b"one"
        assert list(vault.list()) == ["with space"]
        signature = parse_qs(sas)["sig"]
        sent = [parse_qs(urlsplit(r.target).query).get("sig") for r in proxy.requests]
        assert len(sent) >= 3
        assert all(s == signature for s in sent), sent
        assert all("authorization" not in r.headers for r in proxy.requests)
        forged = {**options, "sas_token": sas.replace("sig=", "sig=A")}
        other = sealdoc.Vault(f"az://{container}/v", keys=ring, storage_options=forged)
        with pytest.raises(StoreError, match=f"az://{container}/v"):
            other.get("with space")  # Azurite refuses a SAS that does not verify


def test_throttling_backs_off_then_succeeds(backend: Backend, ring: Any) -> None:
    busy = FirstAnswered(Canned(503, BUSY[backend.name]), 2)
    with FaultProxy(backend.endpoint, busy) as proxy:
        vault = backend.vault(ring, proxy.endpoint)
        vault.put("doc", b"statement")
        assert vault.get("doc") == b"statement"
    assert busy.answered == 2


def test_throttling_that_lasts_is_a_clear_store_error(backend: Backend, ring: Any) -> None:
    busy = FirstAnswered(Canned(503, BUSY[backend.name]), -1)
    with FaultProxy(backend.endpoint, busy) as proxy:
        vault = backend.vault(ring, proxy.endpoint)
        start = time.monotonic()
        with pytest.raises(StoreError) as caught:
            vault.put("doc", b"statement")
        elapsed = time.monotonic() - start
    message = str(caught.value)
    assert backend.url in message
    assert "503" in message or "SlowDown" in message or "ServerBusy" in message, message
    assert "Traceback" not in message
    assert "\n" not in message
    assert len(proxy.requests) == busy.answered == 5  # the first try and 4 retries
    assert elapsed < 30  # bounded back-off


def _conditional_put(request: Request) -> bool:
    return request.method == "PUT" and (
        "if-match" in request.headers or "if-none-match" in request.headers
    )


def _lose_first_conditional_put(how: str) -> Any:
    lost: list[Request] = []

    def fault(request: Request) -> object:
        if _conditional_put(request) and not lost:
            lost.append(request)
            return how
        return None

    return fault


@pytest.mark.parametrize("how", [LOSE_AFTER, LOSE_BEFORE])
def test_a_replace_whose_answer_is_lost_is_reported_as_written(
    backend: Backend, ring: Any, how: str
) -> None:
    """After it landed: the retry meets its own object (412), which is ours. Before: it lands."""
    with FaultProxy(backend.endpoint, _lose_first_conditional_put(how)) as proxy:
        store: Any = backend.vault(ring, proxy.endpoint).store
        old = store.put("doc", _write(b"version 1"))
        new = store.replace("doc", old, _write(b"version 2"))
        head = store.read_head("doc", 64)
        assert (head.data, head.version) == (b"version 2", new)
        created = store.create("new", _write(b"created"))
        assert store.read_head("new", 64).version == created
        puts = [r for r in proxy.requests if _conditional_put(r)]
    assert len(puts) >= 3  # the lost one was sent again


def test_a_lost_answer_then_another_writers_object_is_a_change(backend: Backend, ring: Any) -> None:
    """Lost before landing, and another writer's object of the same size came first: refused."""
    direct: Any = backend.vault(ring).store

    def fault(request: Request) -> object:
        if _conditional_put(request) and not seen:
            seen.append(request)
            direct.put("doc", _write(b"version X"))  # as long as ours
            return LOSE_BEFORE
        return None

    seen: list[Request] = []
    with FaultProxy(backend.endpoint, fault) as proxy:
        store: Any = backend.vault(ring, proxy.endpoint).store
        old = store.put("doc", _write(b"version 1"))
        with pytest.raises(DocumentChangedError):
            store.replace("doc", old, _write(b"version 2"))
        assert store.read_head("doc", 64).data == b"version X"
        seen.clear()
        with pytest.raises(DocumentExistsError):
            store.create("doc", _write(b"version 3"))
        assert store.read_head("doc", 64).data == b"version X"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def _clear(caught: pytest.ExceptionInfo[BaseException], named: str) -> None:
    message = str(caught.value)
    assert named in message, message
    assert "Traceback" not in message, message
    assert "\n" not in message, message
    assert "Eby8" not in message
    assert "testing" not in message


def _each_call(vault: sealdoc.Vault, error: type[Exception], named: str) -> None:
    for call in (
        lambda: vault.put("doc", b"x"),
        lambda: vault.get("doc"),
        lambda: list(vault.list()),
        lambda: vault.exists("doc"),
    ):
        with pytest.raises(error) as caught:
            call()
        _clear(caught, named)


def test_an_unreachable_endpoint_is_a_clear_store_error(backend: Backend, ring: Any) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}/{ACCOUNT}"
    start = time.monotonic()
    _each_call(backend.vault(ring, endpoint), StoreError, backend.url)
    assert time.monotonic() - start < 60


def test_a_missing_bucket_or_container_is_a_clear_store_error(backend: Backend, ring: Any) -> None:
    """Named as such, on a HEAD (no body to say so) as on a GET; it lists as an empty store.

    "416" in the name: an error's text was once taken for HTTP 416 wherever
    those digits appeared (a request id, a port, a name).
    """
    missing = Backend(backend.name, backend.endpoint, f"missing-416-{backend.bucket}")
    vault = missing.vault(ring)
    for call in (
        lambda: vault.put("doc", b"x"),
        lambda: vault.get("doc"),
        lambda: vault.open("doc"),
        lambda: vault.exists("doc"),
        lambda: vault.delete("doc"),
    ):
        with pytest.raises(StoreError, match="no such bucket or container") as caught:
            call()
        _clear(caught, missing.url)
    assert list(vault.list()) == []  # a typo in the URL: bulk jobs refuse an empty store
    with pytest.raises(sealdoc.EmptyStoreError, match="check the URL"):
        vault.rewrap_all()


def test_wrong_credentials_are_a_clear_store_error(backend: Backend, ring: Any) -> None:
    if backend.name == "az":  # Azurite checks the shared key's signature itself
        options = backend.options()
        options["connection_string"] = options["connection_string"].replace(
            "AccountKey=Eby8", "AccountKey=AAAA"
        )
        vault = sealdoc.Vault(backend.url, keys=ring, storage_options=options)
        _each_call(vault, StoreError, backend.url)
        return
    # moto takes any key: the proxy answers as S3 does for a key it does not know
    refused = Canned(
        403,
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code>'
        b"<Message>The AWS Access Key Id you provided does not exist in our records."
        b"</Message></Error>",
    )
    with FaultProxy(backend.endpoint, lambda request: refused) as proxy:
        _each_call(backend.vault(ring, proxy.endpoint), StoreError, backend.url)


def test_a_missing_document_is_document_not_found(backend: Backend, ring: Any) -> None:
    vault = backend.vault(ring)
    vault.put("other", b"x")
    for call in (lambda: vault.get("doc"), lambda: vault.open("doc"), lambda: vault.delete("doc")):
        with pytest.raises(DocumentNotFoundError):
            call()
    assert not vault.exists("doc")


def test_a_store_that_ignores_range_fails_the_read_and_writes_nothing(
    moto_endpoint: str,
) -> None:
    """An S3 gateway that answers a ranged GET with the whole object (200).

    A rewrap that took that for the body after the header would write a
    document no key opens: obstore refuses the answer, the job reports the
    document failed, and it still opens. (S3 only: Azure signs the Range
    header, so a proxy cannot drop it and still be answered.)
    """
    ring = sealdoc.MemoryKeyring()
    backend = Backend("s3", moto_endpoint, _bucket(moto_endpoint))
    data = os.urandom(100_000)
    backend.vault(ring, segment_size=1024).put("doc", data)
    ignored = Without(frozenset({"range"}))
    with FaultProxy(moto_endpoint, lambda r: ignored if r.method == "GET" else None) as proxy:
        vault = backend.vault(ring, proxy.endpoint)
        with pytest.raises(StoreError, match=backend.url):
            vault.open("doc")
        ring.rotate()
        report = vault.rewrap_all()
        assert (report.rewritten, len(report.failed)) == (0, 1)
        assert not any(r.method in ("PUT", "POST") for r in proxy.requests)
    assert backend.vault(ring).get("doc") == data


def test_a_listing_is_pushed_down_to_the_prefixs_folder(backend: Backend, ring: Any) -> None:
    vault = backend.vault(ring)
    for doc_id in ("a/1", "a/2", "ab/3", "b/4", "a/x/5"):
        vault.put(doc_id, b"x")
    with CountingProxy(backend.endpoint) as proxy:
        through = backend.vault(ring, proxy.endpoint)
        assert sorted(through.list("a/")) == ["a/1", "a/2", "a/x/5"]
        assert sorted(through.list("a")) == ["a/1", "a/2", "a/x/5", "ab/3"]
        assert sorted(through.list("a/x")) == ["a/x/5"]
    prefixes = [parse_qs(urlsplit(r.target).query).get("prefix") for r in proxy.requests]
    # the whole prefix: the sync listing goes through botocore or Azure's SDK (odd keys)
    assert prefixes == [["v/a/"], ["v/a"], ["v/a/x"]]
