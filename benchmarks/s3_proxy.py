"""A counting, delaying TCP proxy in front of moto's server, and moto in its own process."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_METHODS = (b"GET ", b"PUT ", b"POST", b"HEAD", b"DELE")


class Proxy:
    """A TCP proxy in front of one server: counts bytes and requests, delays each request.

    A request is a client chunk that starts with an HTTP method; the delay
    is applied before it is passed on (a stand-in for a WAN round trip).
    """

    def __init__(self, port: int, delay: float = 0.0) -> None:
        self._target = ("127.0.0.1", port)
        self._delay = delay
        self._lock = threading.Lock()
        self.up = self.down = self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.up = self.down = self.requests = 0

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self._target)
        pair = {client: server, server: client}
        try:
            while True:
                ready, _, _ = select.select(list(pair), [], [])
                for sock in ready:
                    data = sock.recv(1 << 20)
                    if not data:
                        return
                    if sock is client:
                        if data[:4] in _METHODS:
                            with self._lock:
                                self.requests += 1
                            if self._delay:
                                time.sleep(self._delay)
                        with self._lock:
                            self.up += len(data)
                    else:
                        with self._lock:
                            self.down += len(data)
                    pair[sock].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()


# moto's own server (werkzeug's) answers every request with "Connection: close",
# so each request costs the client a new TCP connection, which S3 does not
# ask: it keeps connections open across requests. With ``keep_alive`` moto's
# same WSGI application is served by waitress, which keeps them open.
_WERKZEUG = (
    "from moto.server import ThreadedMotoServer\n"
    "s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "s.start()\n"
    "print(s.get_host_and_port()[1], flush=True)\n"
    "import time\n"
    "time.sleep(10**9)\n"
)
_WAITRESS = (
    "import socket, waitress\n"
    "from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app\n"
    "app = DomainDispatcherApplication(create_backend_app)\n"
    "sock = socket.socket()\n"
    "sock.bind(('127.0.0.1', 0))\n"
    "sock.listen(256)\n"
    "print(sock.getsockname()[1], flush=True)\n"
    "waitress.serve(app, sockets=[sock], threads=16, connection_limit=512, _quiet=True)\n"
)


@contextmanager
def moto_process(*, keep_alive: bool = False) -> Iterator[int]:
    """moto's server in a child process (its CPU is not ours); yields its port."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    code = _WAITRESS if keep_alive else _WERKZEUG
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline())
    finally:
        child.kill()
        child.wait()


_PROXY = (
    "import sys, time\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from s3_proxy import Proxy\n"
    "proxy = Proxy(int(sys.argv[2]), delay=float(sys.argv[3]))\n"
    "print(proxy.url, flush=True)\n"
    "time.sleep(10**9)\n"
)


@contextmanager
def proxy_process(port: int, delay: float) -> Iterator[str]:
    """A :class:`Proxy` delaying each request by ``delay`` s, in a process of its own; its URL.

    Its threads' CPU is then not counted as the client's, and do not take
    the client's GIL.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen(
        [sys.executable, "-c", _PROXY, here, str(port), str(delay)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        child.kill()
        child.wait()
