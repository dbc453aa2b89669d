"""Review of the obstore backends (issue 21) as an attacker and an on-call operator.

Against the real servers: moto's server for S3, Azurite for Azure Blob.
Answers are lost in the clients' own send paths, after the request landed.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from sealdoc._store.blobs import open_blob_store
from sealdoc._store.objects import PART

from .azurite import azure_options, new_container
from .stores import new_bucket, s3_options


def _lose_first(client: Any, event: str) -> list[int]:
    """Send the first ``event`` request for real, then raise as if its answer never came."""
    from botocore.exceptions import ReadTimeoutError

    sent: list[int] = []

    def send(request: Any, **_: Any) -> Any:
        sent.append(1)
        if len(sent) == 1:
            client._endpoint.http_session.send(request)  # it lands
            raise ReadTimeoutError(endpoint_url=request.url)
        return None  # the repeat goes through botocore as usual

    client.meta.events.register(f"before-send.s3.{event}", send)
    return sent


def _s3(endpoint: str) -> Any:
    return open_blob_store(f"s3://{new_bucket(endpoint)}/v", s3_options(endpoint))


def test_a_large_replace_whose_completion_answer_was_lost_is_written(moto_endpoint: str) -> None:
    """Over PART the write is a multipart upload completed with If-Match: its lost answer."""
    store = _s3(moto_endpoint)
    version = store.put("doc", lambda f: f.write(b"old"))
    body = os.urandom(PART + 1024)
    sent = _lose_first(store._s3()._clients.client(), "CompleteMultipartUpload")
    written = store.replace("doc", version, lambda f: f.write(body))
    assert len(sent) == 2  # botocore repeated it, and the repeat met our own object
    head = store.read_head("doc", 16)
    assert (head.version, head.size) == (written, len(body))


def test_a_large_create_whose_completion_answer_was_lost_is_written(moto_endpoint: str) -> None:
    store = _s3(moto_endpoint)
    body = os.urandom(PART + 1024)
    sent = _lose_first(store._s3()._clients.client(), "CompleteMultipartUpload")
    written = store.create("doc", lambda f: f.write(body))
    assert len(sent) == 2
    assert store.read_head("doc", 0).version == written


def test_a_header_replace_copied_by_s3_whose_answer_was_lost_is_written(
    moto_endpoint: str,
) -> None:
    """The large header replace (UploadPartCopy) completes with If-Match too."""
    store = _s3(moto_endpoint)
    old = b"H" * 100 + os.urandom(2 * PART)
    version = store.put("doc", lambda f: f.write(old))
    sent = _lose_first(store._s3()._clients.client(), "CompleteMultipartUpload")
    written = store.replace_header("doc", version, b"N" * 100, 100)
    assert len(sent) == 2
    assert store.read("doc") == b"N" * 100 + old[100:]
    assert store.read_head("doc", 0).version == written


def _azure(endpoint: str) -> Any:
    return open_blob_store(f"az://{new_container(endpoint)}/v", azure_options(endpoint))


def _lose_first_commit(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The copier's first Put Block List lands, then its answer is lost (a read timeout)."""
    from azure.core.exceptions import ServiceResponseError
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import BlobClient

    from sealdoc._store import azure_copy

    sent: list[int] = []

    class Losing(RequestsTransport):  # type: ignore[misc]
        def send(self, request: Any, **kwargs: Any) -> Any:
            response = super().send(request, **kwargs)
            if request.method == "PUT" and "comp=blocklist" in request.url:
                sent.append(1)
                if len(sent) == 1:
                    raise ServiceResponseError("the answer was lost")
            return response

    made = azure_copy.BlockCopier._client

    def client(self: Any, key: str) -> Any:
        real = made(self, key)
        return BlobClient(
            self._endpoint,
            self._container,
            key,
            credential=real.credential,
            transport=Losing(),
        )

    monkeypatch.setattr(azure_copy.BlockCopier, "_client", client)
    return sent


def test_an_azure_header_replace_whose_commit_answer_was_lost_is_written(
    azurite_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Put Block List carries If-Match: its repeat after a lost answer meets our own blob."""
    store = _azure(azurite_endpoint)
    assert type(store).__name__ == "AzureBlobStore"
    old = b"H" * 100 + os.urandom(2 * PART)
    version = store.put("doc", lambda f: f.write(old))
    sent = _lose_first_commit(monkeypatch)
    written = store.replace_header("doc", version, b"N" * 100, 100)
    assert len(sent) == 2  # the SDK repeated it
    assert store.read("doc") == b"N" * 100 + old[100:]
    assert store.read_head("doc", 0).version == written


def test_an_azure_header_replace_outlasting_one_sas_still_copies(
    azurite_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy source's SAS lives minutes; a copy of a very large blob takes longer.

    Scaled down: a SAS of 2 s, blocks of 1 MiB, and the copy of the third
    block starts after a SAS made at the start has ended.
    """
    import time
    from datetime import timedelta

    from azure.storage.blob import BlobClient

    from sealdoc._store import azure_copy

    monkeypatch.setattr(azure_copy, "_SAS_LIFETIME", timedelta(seconds=2))
    monkeypatch.setattr(azure_copy, "COPY_BLOCK", 1 << 20)
    copies: list[int] = []
    stage = BlobClient.stage_block_from_url

    def slow(self: Any, *args: Any, **kwargs: Any) -> Any:
        copies.append(1)
        done = stage(self, *args, **kwargs)
        if len(copies) == 2:
            time.sleep(4)  # the copy runs past the end of a SAS made before it
        return done

    monkeypatch.setattr(BlobClient, "stage_block_from_url", slow)
    store = _azure(azurite_endpoint)
    old = b"H" * 100 + os.urandom(PART + (4 << 20))
    version = store.put("doc", lambda f: f.write(old))
    written = store.replace_header("doc", version, b"N" * 100, 100)
    assert len(copies) == 9
    assert store.read("doc") == b"N" * 100 + old[100:]
    assert store.read_head("doc", 0).version == written


def test_an_azure_copy_source_refused_is_a_store_error_not_a_missing_document(
    azurite_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CannotVerifyCopySource (here an expired SAS) is not "no object": the blob is there.

    As DocumentNotFoundError the bulk jobs filed it under "missing" (deleted
    meanwhile) and never retried it: the operator was told of a deletion
    that did not happen.
    """
    from datetime import timedelta

    from sealdoc._store import azure_copy
    from sealdoc.exceptions import DocumentNotFoundError, StoreError

    monkeypatch.setattr(azure_copy, "_SAS_LIFETIME", timedelta(minutes=-5))
    store = _azure(azurite_endpoint)
    old = b"H" * 100 + os.urandom(PART + 1024)
    version = store.put("doc", lambda f: f.write(old))
    with pytest.raises(StoreError, match="copy source") as caught:
        store.replace_header("doc", version, b"N" * 100, 100)
    assert not isinstance(caught.value, DocumentNotFoundError)
    assert "sig=" not in str(caught.value)
    assert store.read("doc") == old
    assert store.read_head("doc", 0).version == version


def test_the_botocore_delegate_is_built_once_under_the_bulk_engines_threads(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk engine's workers meet their first large document together.

    Each built its own s3fs file system and botocore client (a connection
    pool and credential resolution each), and all but one were dropped.
    """
    import threading
    import time

    import fsspec.core

    store = _s3(moto_endpoint)
    real = fsspec.core.url_to_fs
    built: list[int] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        time.sleep(0.2)  # building it takes a while: botocore loads its models
        return real(*args, **kwargs)

    monkeypatch.setattr(fsspec.core, "url_to_fs", slow)
    got: list[Any] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        got.append(store._s3())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert all(delegate is got[0] for delegate in got)


def _vault_with_odd_neighbours(endpoint: str) -> tuple[Any, Any]:
    import boto3

    from sealdoc import MemoryKeyring, Vault

    bucket = new_bucket(endpoint)
    ring = MemoryKeyring()
    vault = Vault(f"s3://{bucket}/w", keys=ring, storage_options=s3_options(endpoint))
    vault.put("doc1", b"one")
    vault.put("sub/doc2", b"two")
    client = boto3.client("s3", endpoint_url=endpoint)
    client.put_object(Bucket=bucket, Key="w/sub/", Body=b"")  # the S3 console's "folder"
    client.put_object(Bucket=bucket, Key="w/exports//day.csv", Body=b"a,b")  # a naive path join
    return vault, ring


def test_one_odd_key_beside_the_documents_does_not_stop_the_listing(moto_endpoint: str) -> None:
    """obstore refuses keys with empty, '.' or '..' segments, and failed the whole listing.

    Anyone with write access to the bucket (or a tool joining paths with a
    trailing slash) stopped every listing, and so every rotation job.
    """
    vault, ring = _vault_with_odd_neighbours(moto_endpoint)
    assert sorted(vault.list()) == ["doc1", "sub/doc2"]
    ring.rotate()
    report = vault.rewrap_all()
    assert report.rewritten == 2, report


def test_a_folder_marker_is_not_reported_missing(moto_endpoint: str) -> None:
    """S3 folder markers (``sub/``) were listed as ``sub`` and every job reported it missing."""
    vault, ring = _vault_with_odd_neighbours(moto_endpoint)
    ring.rotate()
    report = vault.rewrap_all()
    assert report.missing == (), report.missing


def test_an_azure_header_replace_after_a_cancelled_streamed_put_still_runs(
    azurite_endpoint: str,
) -> None:
    """A streamed put cut short (AsyncVault.put of a stream, cancelled) leaves its blocks.

    They stay uncommitted for up to seven days, with obstore's block ids;
    Azure refuses a block whose id has another length than the blob's
    uncommitted ones (InvalidBlobOrBlock), so every rewrap of that blob
    failed for a week.
    """
    import asyncio

    import obstore

    store = _azure(azurite_endpoint)
    old = b"H" * 100 + os.urandom(PART + 1024)
    version = store.put("doc", lambda f: f.write(old))

    async def cut_short() -> Any:
        for _ in range(3):
            yield os.urandom(PART)
            await asyncio.sleep(0.3)  # the parts before are staged meanwhile
        raise RuntimeError("the client went away")

    async def streamed_put() -> None:
        await obstore.put_async(store._store, "v/doc", cut_short(), chunk_size=PART)

    with pytest.raises(RuntimeError, match="went away"):
        asyncio.run(streamed_put())
    assert store.read("doc") == old  # the cut put left the document, and its blocks
    written = store.replace_header("doc", version, b"N" * 100, 100)
    assert store.read("doc") == b"N" * 100 + old[100:]
    assert store.read_head("doc", 0).version == written


@pytest.mark.parametrize("where", ["s3", "azure"])
def test_a_document_changed_under_a_reader_is_reported_as_a_read(
    where: str, request: pytest.FixtureRequest
) -> None:
    """The reader notices (If-Match), and says so: not "nothing was written" at 3 am."""
    from sealdoc.exceptions import DocumentChangedError

    if where == "s3":
        store = _s3(request.getfixturevalue("moto_endpoint"))
    else:
        store = _azure(request.getfixturevalue("azurite_endpoint"))
    version = store.put("doc", lambda f: f.write(os.urandom(300_000)))
    reader = store.open_file("doc")
    reader.read(1000)
    store.replace("doc", version, lambda f: f.write(os.urandom(300_000)))
    reader.seek(200_000)
    with pytest.raises(DocumentChangedError, match="changed while it was read") as caught:
        reader.read(1000)
    assert "written" not in str(caught.value)


def test_an_azure_header_replace_with_the_sas_the_store_was_given(azurite_endpoint: str) -> None:
    """A store opened with a SAS (no account key) copies the body with that SAS as the source's."""
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from .azurite import ACCOUNT, ACCOUNT_KEY

    container = new_container(azurite_endpoint)
    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    options = {"account_name": ACCOUNT, "sas_token": sas, "account_host": azurite_endpoint}
    store = open_blob_store(f"az://{container}/v", options)
    assert type(store).__name__ == "AzureBlobStore"
    old = b"H" * 100 + os.urandom(PART + 1024)
    version = store.put("doc", lambda f: f.write(old))
    written = store.replace_header("doc", version, b"N" * 100, 100)
    assert store.read("doc") == b"N" * 100 + old[100:]
    assert store.read_head("doc", 0).version == written


class _FailingRangedGets:
    """An HTTP proxy in front of moto: every ranged GET is answered 500, the rest forwarded."""

    def __init__(self, upstream: str) -> None:
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(upstream)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "GET" and "range" in self.headers:
                    self.send_response(500, "Internal Server Error")
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection(str(target.hostname), target.port)
                upstream.request(self.command, self.path, body, dict(self.headers))
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _forward  # noqa: N815 - http.server's names

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_a_failed_ranged_read_is_not_taken_for_an_empty_object(moto_endpoint: str) -> None:
    """A 416 was recognised by "416" anywhere in the error: a name, a port, an elapsed time.

    Any failed head read of ``report-416`` then became the head of an empty
    object (a HEAD answers its size): the document read as not sealed,
    which a job files as not its own and skips.
    """
    from sealdoc.exceptions import StoreError

    bucket = new_bucket(moto_endpoint)
    url = f"s3://{bucket}/v"
    direct = open_blob_store(url, s3_options(moto_endpoint))
    direct.put("report-416", lambda f: f.write(b"sealed bytes"))
    proxy = _FailingRangedGets(moto_endpoint)
    try:
        store = open_blob_store(url, {**s3_options(moto_endpoint), "endpoint_url": proxy.endpoint})
        with pytest.raises(StoreError, match="failed to read"):
            store.read_head("report-416", 64)
    finally:
        proxy.close()


@pytest.mark.parametrize("where", ["s3", "azure"])
@pytest.mark.parametrize("doc_id", ["NoSuchBucket", "reports/ContainerNotFound"])
def test_a_missing_document_named_like_an_error_code_is_missing(
    where: str, doc_id: str, request: pytest.FixtureRequest
) -> None:
    """The error codes were found anywhere in the text, which carries the object's URL.

    A service taking doc ids from its users answered "no such bucket" (and
    ``exists`` raised) for a document that merely was not there.
    """
    from sealdoc import MemoryKeyring, Vault
    from sealdoc.exceptions import DocumentNotFoundError, StoreError

    if where == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        url, options = f"s3://{new_bucket(endpoint)}/v", s3_options(endpoint)
    else:
        endpoint = request.getfixturevalue("azurite_endpoint")
        url, options = f"az://{new_container(endpoint)}/v", azure_options(endpoint)
    vault = Vault(url, keys=MemoryKeyring(), storage_options=options)
    assert vault.exists(doc_id) is False
    with pytest.raises(DocumentNotFoundError):
        vault.get(doc_id)
    vault.put(doc_id, b"now it is")
    assert vault.get(doc_id) == b"now it is"
    missing = url.replace(url.split("/")[2], "sealdoc-not-there-" + where, 1)
    with pytest.raises(StoreError, match="no such bucket or container"):
        Vault(missing, keys=MemoryKeyring(), storage_options=options).put(doc_id, b"x")


def test_one_odd_blob_beside_the_documents_does_not_stop_an_azure_listing(
    azurite_endpoint: str,
) -> None:
    """As on S3: obstore failed the whole listing, and so every job, on one name like ``a//b``."""
    from azure.storage.blob import BlobServiceClient

    from sealdoc import MemoryKeyring, Vault

    container = new_container(azurite_endpoint)
    ring = MemoryKeyring()
    options = azure_options(azurite_endpoint)
    vault = Vault(f"az://{container}/w", keys=ring, storage_options=options)
    vault.put("doc1", b"one")
    vault.put("sub/doc2", b"two")
    service = BlobServiceClient.from_connection_string(options["connection_string"])
    service.get_blob_client(container, "w/exports//day.csv").upload_blob(b"a,b")
    assert sorted(vault.list()) == ["doc1", "sub/doc2"]
    entries = list(vault.store.list(""))
    assert {e.path: e.version for e in entries} == {
        e.path: vault.store.read_head(e.path, 0).version for e in entries
    }
    ring.rotate()
    report = vault.rewrap_all()
    assert report.rewritten == 2, report


def test_the_async_face_lists_past_an_odd_key_as_the_sync_one_does(moto_endpoint: str) -> None:
    """AsyncVault.list ran obstore's own listing, which one key like ``a//b`` failed whole."""
    import asyncio

    from sealdoc.aio import AsyncVault

    vault, ring = _vault_with_odd_neighbours(moto_endpoint)
    options = s3_options(moto_endpoint)
    aio = AsyncVault(vault.url, keys=ring, storage_options=options)

    async def listing() -> list[str]:
        return [doc_id async for doc_id in aio.list()]

    assert sorted(asyncio.run(listing())) == ["doc1", "sub/doc2"]


NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>"
)


def test_a_document_deleted_before_its_replace_is_a_change_not_a_missing_bucket(
    moto_endpoint: str,
) -> None:
    """AWS answers an If-Match PUT of a key deleted meanwhile 404 NoSuchKey (moto: 412).

    The review feared every 404 on a write reads as "no such bucket" (a
    store fault failing the job). obstore reports that 404 as a failed
    precondition: the replace is refused as changed, and the job reads the
    document again and counts it missing. A proxy answers as AWS does.
    """
    from sealdoc import DocumentChangedError, MemoryKeyring, Vault

    from .proxy import Canned, FaultProxy, Request

    def deleted(request: Request) -> object:
        conditional = "if-match" in request.headers
        return Canned(404, NO_SUCH_KEY) if request.method == "PUT" and conditional else None

    bucket = new_bucket(moto_endpoint)
    with FaultProxy(moto_endpoint, deleted) as proxy:
        options = s3_options(proxy.endpoint)
        vault = Vault(f"s3://{bucket}/w", keys=MemoryKeyring(), storage_options=options)
        vault.put("doc", b"statement")
        path = vault.path_of("doc")
        head = vault.store.read_head(path, 1 << 20)
        with pytest.raises(DocumentChangedError) as caught:
            vault.store.replace(path, head.version, lambda f: f.write(b"a new version"))
    assert "no such bucket" not in str(caught.value)
