"""Throttling on S3 through obstore: back-off, then success or a clear StoreError.

A small HTTP server in front of moto's server answers the first requests
with S3's ``503 SlowDown`` and forwards the rest unchanged.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

import sealdoc
from sealdoc.aio import AsyncVault

from .stores import new_bucket, s3_options

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class Throttle(ThreadingHTTPServer):
    def __init__(self, upstream: str, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream).netloc
        self.failures = failures
        self.throttled = 0
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Throttle
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            throttle = self.server.failures != 0
            if throttle:
                self.server.failures -= 1
                self.server.throttled += 1
        if throttle:
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any  # noqa: N815


@pytest.fixture
def throttle(request: pytest.FixtureRequest, moto_endpoint: str) -> Iterator[Throttle]:
    server = Throttle(moto_endpoint, request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("throttle", [2], indirect=True)
def test_a_throttled_request_backs_off_and_succeeds(throttle: Throttle, moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint)
    options = {**s3_options(moto_endpoint), "endpoint_url": throttle.endpoint}
    vault = AsyncVault(f"s3://{bucket}/v", keys=sealdoc.MemoryKeyring(), storage_options=options)

    async def main() -> bytes:
        await vault.put("doc", b"statement")
        return await vault.get("doc")

    assert asyncio.run(main()) == b"statement"
    assert throttle.throttled == 2


@pytest.mark.parametrize("throttle", [-1], indirect=True)  # every request
def test_throttling_that_lasts_ends_in_a_clear_store_error(
    throttle: Throttle, moto_endpoint: str
) -> None:
    bucket = new_bucket(moto_endpoint)
    options = {**s3_options(moto_endpoint), "endpoint_url": throttle.endpoint}
    vault = AsyncVault(f"s3://{bucket}/v", keys=sealdoc.MemoryKeyring(), storage_options=options)
    start = time.monotonic()
    with pytest.raises(sealdoc.StoreError, match=f"s3://{bucket}/v") as caught:
        asyncio.run(vault.put("doc", b"statement"))
    assert "503" in str(caught.value) or "SlowDown" in str(caught.value)
    assert throttle.throttled == 5  # the first try and obstore's 4 retries
    assert time.monotonic() - start < 30  # bounded back-off
