"""``sealdoc serve STORE --authorizer module:function``: uvicorn as a subprocess, on 127.0.0.1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .test_cli import PASS, run

AUTH = '''
def authorize(request, doc_id, header):
    """Acme's documents to a caller who says they are acme; nothing else."""
    return request.headers.get("x-tenant") == header.context.get("tenant") == "acme"
'''


def test_serve_binds_to_localhost_and_authorizes(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    (tmp_path / "s.txt").write_bytes(b"statement for acme\n" * 100)
    (tmp_path / "portal_auth.py").write_text(AUTH)
    url = f"file://{tmp_path}/vault"
    put = run(tmp_path, "vault", "put", url, "C-1/s", "s.txt", "--context", "tenant=acme")
    assert put.returncode == 0, put.stderr
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    environ |= {"SEALDOC_KEYRING": str(tmp_path / "ring.json"), "SEALDOC_PASSPHRASE": PASS}
    cmd = [sys.executable, "-m", "sealdoc", "serve", url, "--authorizer", "portal_auth:authorize"]
    server = subprocess.Popen(
        [*cmd, "--port", "0"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.stderr is not None
        started = b""
        deadline = time.monotonic() + 30
        while b"Uvicorn running on" not in started and time.monotonic() < deadline:
            started += server.stderr.readline()
        found = re.search(rb"http://127\.0\.0\.1:(\d+)", started)
        assert found, started  # bound to 127.0.0.1, not 0.0.0.0
        base = f"http://127.0.0.1:{int(found.group(1))}"
        ok = httpx.get(f"{base}/C-1/s", headers={"x-tenant": "acme", "range": "bytes=0-8"})
        assert (ok.status_code, ok.content) == (206, b"statement")
        assert httpx.get(f"{base}/C-1/s", headers={"x-tenant": "globex"}).status_code == 404
        assert httpx.get(f"{base}/C-1/s").status_code == 404
    finally:
        server.terminate()
        server.wait(10)
        if server.stderr is not None:
            server.stderr.close()


def test_serve_needs_an_authorizer_it_can_load(tmp_path: Path) -> None:
    missing = run(tmp_path, "serve", f"file://{tmp_path}/vault")
    assert missing.returncode == 2
    assert b"--authorizer" in missing.stderr
    wrong = run(tmp_path, "serve", f"file://{tmp_path}/v", "--authorizer", "no_such_mod:f")
    assert wrong.returncode == 2
    assert b"cannot load 'no_such_mod:f'" in wrong.stderr
    shape = run(tmp_path, "serve", f"file://{tmp_path}/v", "--authorizer", "just_a_name")
    assert shape.returncode == 2
    assert b"is not MODULE:FUNCTION" in shape.stderr
