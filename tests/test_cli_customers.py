"""``sealdoc customers``: a KeyStore from the command line (docs/customer-keys.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_cli import run


@pytest.fixture
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    assert run(tmp_path, "keys", "init").returncode == 0
    url = f"sqlite:///{tmp_path}/keys.db"
    if request.param == "postgresql":
        url = str(request.getfixturevalue("postgres_url"))
    return {"SEALDOC_KEYSTORE": url, "SEALDOC_KEYSTORE_MASTER": f"local://{tmp_path}/ring.json"}


def ok(tmp_path: Path, env: dict[str, str], *args: str) -> str:
    result = run(tmp_path, "customers", *args, env=env)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    return result.stdout.decode()


@pytest.mark.parametrize("env", ["sqlite", "postgresql"], indirect=True)
def test_customer_lifecycle(tmp_path: Path, env: dict[str, str]) -> None:
    assert "added 2 of 2" in ok(tmp_path, env, "add", "C-1", "C-2")
    assert "added 0 of 1" in ok(tmp_path, env, "add", "C-1")
    assert ok(tmp_path, env, "ls") == "C-1\nC-2\n"
    assert "version 2 is now primary" in ok(tmp_path, env, "rotate", "C-1")
    ok(tmp_path, env, "hold", "C-1", "--reason", "case 2026-114")
    held = run(tmp_path, "customers", "destroy", "C-1", "--yes-destroy-last", env=env)
    assert held.returncode == 3
    assert b"legal hold (case 2026-114)" in held.stderr
    unconfirmed = run(tmp_path, "customers", "destroy", "C-2", env=env)
    assert unconfirmed.returncode == 1
    assert b"--yes-destroy-last" in unconfirmed.stderr
    ok(tmp_path, env, "release", "C-1")
    ok(tmp_path, env, "destroy", "C-1", "--yes-destroy-last")
    shown = ok(tmp_path, env, "show", "C-1")
    assert "1\tdestroyed" in shown
    assert "2\tdestroyed" in shown
    ok(tmp_path, env, "retain", "C-2", "--until", "2020-01-01T00:00:00+00:00")
    assert ok(tmp_path, env, "erase-due") == "erased\tC-2\n"
    ok(tmp_path, env, "add", "C-3")
    assert run(tmp_path, "keys", "rotate").returncode == 0  # the master's version 2
    assert "re-wrapped 1 customer keys" in ok(tmp_path, env, "rewrap-master")
    assert "re-wrapped 0 customer keys" in ok(tmp_path, env, "rewrap-master")


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_bad_input_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    for args in (
        ["show", "nobody"],
        ["show", "bad\tname"],
        ["disable", "nobody", "1"],
        ["retain", "C-1", "--until", "tomorrow"],
        ["retain", "C-1", "--until", "2030-01-01"],
    ):
        result = run(tmp_path, "customers", *args, env=env)
        assert result.returncode in (1, 2), (args, result.stderr)
        assert b"Traceback" not in result.stderr
    missing = run(tmp_path, "customers", "ls", env={**env, "SEALDOC_KEYSTORE": ""})
    assert missing.returncode == 2
    assert b"--keystore" in missing.stderr


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_vault_put_key_id(tmp_path: Path, env: dict[str, str]) -> None:
    assert run(tmp_path, "keys", "add", "C-1007").returncode == 0
    (tmp_path / "doc").write_bytes(b"statement")
    vault = f"file://{tmp_path}/docs"
    put = run(tmp_path, "vault", "put", vault, "d1", "doc", "--key-id", "C-1007")
    assert put.returncode == 0, put.stderr
    inspected = run(tmp_path, "vault", "inspect", vault, "d1")
    assert b"C-1007@kr-" in inspected.stdout


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_import_moves_customers_and_their_documents(tmp_path: Path, env: dict[str, str]) -> None:
    vault = f"file://{tmp_path}/docs"
    for name in ("C-1", "C-2"):
        assert run(tmp_path, "keys", "add", name).returncode == 0
        (tmp_path / name).write_bytes(name.encode())
        put = run(tmp_path, "vault", "put", vault, f"{name}/a", name, "--key-id", name)
        assert put.returncode == 0, put.stderr
    out = ok(tmp_path, env, "import", "--documents", vault)
    assert "2 customers in the store: C-1, C-2" in out
    assert "C-1\t1 documents moved\t0 failed" in out
    inspected = run(tmp_path, "vault", "inspect", vault, "C-2/a").stdout
    assert b"keystore" in inspected
    assert b"C-2@ks-" in inspected
    again = ok(tmp_path, env, "import", "--documents", vault)  # resumable: nothing left
    assert "C-1\t0 documents moved\t0 failed" in again
    ok(tmp_path, env, "destroy", "C-2", "--yes-destroy-last")
    listed = ok(tmp_path, env, "inventory", vault).splitlines()
    assert listed[1:] == ["C-1\t1\t0\t1:enabled\t-\t-", "C-2\t1\t1\t1:destroyed\t-\t-"]
