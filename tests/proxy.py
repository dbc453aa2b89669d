"""Proxies on 127.0.0.1, put between a client and a test server (moto, Azurite).

:class:`CountingProxy` forwards TCP both ways, counts the bytes in each
direction and parses the client's side into requests (method, target,
headers), so that a test or a benchmark can see what went over the wire:
bytes uploaded and downloaded, how many requests of which kind, and which
conditional headers they carried. An optional ``delay`` sleeps before
forwarding each request (a WAN-like latency).

:class:`FaultProxy` works at the HTTP level: for each request, ``fault``
decides whether it is forwarded, answered with a canned error (throttling,
a refused key), or its answer is lost (the connection closed before or
after the server got it).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import attrs


@attrs.define
class Request:
    method: str
    target: str
    headers: dict[str, str]


class CountingProxy:
    """``with CountingProxy(upstream_port) as proxy:`` then use ``proxy.endpoint``."""

    def __init__(self, upstream: str, *, delay: float = 0.0) -> None:
        # an endpoint may have a path (Azurite's account): the proxy forwards what it is sent
        parts = urlsplit(upstream)
        self._upstream = (str(parts.hostname), int(parts.port or 80))
        self._delay = delay
        self._lock = threading.Lock()
        self.sent = 0  # client -> server bytes
        self.received = 0  # server -> client bytes
        self.requests: list[Request] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.endpoint = _with_path(self._server.getsockname()[1], upstream)
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._server.close()

    def reset(self) -> None:
        with self._lock:
            self.sent = self.received = 0
            self.requests.clear()

    def count(self, method: str, contains: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.method == method and contains in r.target)

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client), daemon=True).start()

    def _responses(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                with self._lock:
                    self.received += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(dst)

    def _requests(self, src: socket.socket, dst: socket.socket) -> None:
        reader = _Reader(src)
        try:
            while True:
                head = reader.until(b"\r\n\r\n")
                if not head:
                    return
                request = _parse(head)
                with self._lock:
                    self.requests.append(request)
                if self._delay:
                    time.sleep(self._delay)
                # the head goes first: a client may wait for "100 Continue" before the body
                self._forward(dst, head)
                if request.headers.get("transfer-encoding", "").lower() == "chunked":
                    self._forward(dst, _chunked(reader))
                else:
                    left = int(request.headers.get("content-length", "0"))
                    while left:
                        data = reader.some(left)
                        self._forward(dst, data)
                        left -= len(data)
        except OSError:
            pass
        finally:
            _close(dst)

    def _forward(self, dst: socket.socket, data: bytes) -> None:
        with self._lock:
            self.sent += len(data)
        dst.sendall(data)


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _fill(self) -> bool:
        data = self._sock.recv(1 << 16)
        self._buffer += data
        return bool(data)

    def until(self, marker: bytes) -> bytes:
        while (i := self._buffer.find(marker)) < 0:
            if not self._fill():
                return b""
        out = bytes(self._buffer[: i + len(marker)])
        del self._buffer[: i + len(marker)]
        return out

    def some(self, n: int) -> bytes:
        """Up to ``n`` bytes, at least one."""
        if not self._buffer and not self._fill():
            raise OSError("the client closed mid-request")
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self._buffer) < n:
            if not self._fill():
                raise OSError("the client closed mid-request")
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out


def _chunked(reader: _Reader) -> bytes:
    out = []
    while True:
        line = reader.until(b"\r\n")
        out.append(line)
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            out.append(reader.until(b"\r\n"))  # no trailers from botocore: the final CRLF
            return b"".join(out)
        out.append(reader.exactly(size + 2))


def _parse(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, Any] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return Request(method, target, headers)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _with_path(port: int, upstream: str) -> str:
    """This proxy's endpoint, with the upstream endpoint's path (Azurite's account)."""
    return f"http://127.0.0.1:{port}{urlsplit(upstream).path.rstrip('/')}"


@attrs.frozen
class Canned:
    """An answer the proxy gives itself, without forwarding (S3's SlowDown, a refused key)."""

    status: int
    body: bytes


class FirstAnswered:
    """A fault: the first ``times`` requests (every one if negative) get ``answer`` instead."""

    def __init__(self, answer: Canned, times: int) -> None:
        self._answer = answer
        self._left = times
        self.answered = 0

    def __call__(self, request: Request) -> Canned | None:
        if self._left == 0:
            return None
        self._left -= 1
        self.answered += 1
        return self._answer


@attrs.frozen
class Without:
    """Forward the request without these headers (a store that ignores ``range``, say)."""

    names: frozenset[str]


LOSE_BEFORE = "lose before"  # close the connection; the server never sees the request
LOSE_AFTER = "lose after"  # forward, then close before the answer: the request landed


class FaultProxy(ThreadingHTTPServer):
    """``with FaultProxy(upstream, fault) as proxy:`` then use ``proxy.endpoint``.

    ``fault(request)`` is called under a lock for each request, in order:
    None forwards it, a :class:`Canned` answers it, :data:`LOSE_BEFORE` or
    :data:`LOSE_AFTER` loses its answer. ``requests`` lists them all.
    """

    daemon_threads = True

    def __init__(self, upstream: str, fault: Callable[[Request], object]) -> None:
        super().__init__(("127.0.0.1", 0), _FaultHandler)
        self.upstream = str(urlsplit(upstream).netloc)
        self.endpoint = _with_path(self.server_address[1], upstream)
        self.fault = fault
        self.lock = threading.Lock()
        self.requests: list[Request] = []

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _FaultHandler(BaseHTTPRequestHandler):
    server: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        with self.server.lock:
            self.server.requests.append(request)
            action = self.server.fault(request)
        if action == LOSE_BEFORE:
            self.close_connection = True
            return
        if isinstance(action, Canned):
            self._answer(action.status, [("Content-Type", "application/xml")], action.body)
            return
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=30)
        try:
            dropped = action.names if isinstance(action, Without) else frozenset()
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() != "transfer-encoding" and k.lower() not in dropped
            }
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        if action == LOSE_AFTER:
            self.close_connection = True
            return
        self._answer(answer.status, answer.getheaders(), data)

    def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        length = str(len(data))
        for name, value in headers:
            if name.lower() == "content-length" and self.command == "HEAD":
                length = value  # a HEAD's answer has the object's length and no body
            elif name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any  # noqa: N815
