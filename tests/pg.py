"""A throwaway PostgreSQL cluster for the test session (docs/customer-keys.md).

Debian's ``postgresql`` package (scripts/system-packages.sh installs it) gives
initdb and pg_ctl; initdb refuses to run as root, so as root the cluster is
made and run by the ``postgres`` user. It listens on 127.0.0.1 on a free port
and is stopped when the session ends. Each test gets a database of its own.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import psycopg
import pytest

_next = itertools.count()


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/system-packages.sh")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else argv


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """A fresh cluster on 127.0.0.1 (user postgres, trust); its URL, without a database."""
    root = tempfile.mkdtemp(prefix="sealdoc-pg-")
    data = os.path.join(root, "data")
    if os.getuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(
        _as_owner([_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner([_bin("pg_ctl"), "-D", data, "-o", options, "-w", "-l", f"{root}/log", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_owner([_bin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def new_database(server: str) -> str:
    """A new, empty database in the cluster at ``server``; its URL."""
    name = f"keystore_{os.getpid()}_{next(_next)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    return f"{server}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of the session's cluster (tests add a database each: ``postgres_url``)."""
    with cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database in the session's cluster."""
    return new_database(postgres_server)
