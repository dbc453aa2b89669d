"""Azure Blob for the tests: Azurite (Microsoft's emulator), installed with npm and started here.

``npm install azurite@3.37.0`` into a cache folder once (node and npm come
from Debian: scripts/system-packages.sh), then one in-memory blob server per
test session on a free 127.0.0.1 port, with the emulator's well-known
``devstoreaccount1`` account.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

AZURITE = "azurite@3.37.0"
ACCOUNT = "devstoreaccount1"
# The emulator's published, fixed key (not a secret: every Azurite has it).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
CACHE = Path(os.environ.get("SEALDOC_TEST_CACHE", Path.home() / ".cache" / "sealdoc-tests"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _installed() -> Path:
    prefix = CACHE / "azurite"
    binary = prefix / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, "npm is missing: run scripts/system-packages.sh (Debian's nodejs and npm)"
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), AZURITE],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return binary


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[str]:
    """An in-memory Azurite blob server on a free 127.0.0.1 port; yields its account endpoint.

    Also used by benchmarks/obj_bulk.py, which measures the client's CPU
    beside it (Azurite's own CPU is node's, in its own process).
    """
    binary = _installed()
    port = _free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
        ],
        cwd=workdir,  # where Azurite writes its debug and lock files
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "Azurite exited at start"
                assert time.monotonic() < deadline, "Azurite did not start in 60 s"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/{ACCOUNT}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:  # it waits for clients' idle keep-alive connections
            process.kill()  # in-memory: nothing to lose
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def azurite_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running(tmp_path_factory.mktemp("azurite")) as endpoint:
        yield endpoint


def azure_options(endpoint: str) -> dict[str, str]:
    """The storage_options an adlfs user gives for Azurite."""
    return {
        "connection_string": (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};"
            f"AccountKey={ACCOUNT_KEY};BlobEndpoint={endpoint};"
        )
    }


def new_container(endpoint: str) -> str:
    from azure.storage.blob import BlobServiceClient

    name = f"sealdoc-{uuid.uuid4().hex[:12]}"
    client = BlobServiceClient.from_connection_string(azure_options(endpoint)["connection_string"])
    client.create_container(name)
    return name
