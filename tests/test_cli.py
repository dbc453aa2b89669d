"""The sealdoc command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PASS = "correct horse battery staple"


def run(
    tmp_path: Path, *args: str, stdin: bytes | None = None, passphrase: str | None = PASS
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    env["SEALDOC_KEYRING"] = str(tmp_path / "ring.json")
    if passphrase is not None:
        env["SEALDOC_PASSPHRASE"] = passphrase
    return subprocess.run(
        [sys.executable, "-m", "sealdoc", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=60,
    )


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    result = run(tmp_path, "keys", "init")
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_seal_inspect_open(initialised: Path) -> None:
    d = initialised
    (d / "claim.txt").write_bytes(b"claim 42: water damage\n" * 1000)
    assert (
        run(d, "seal", "claim.txt", "-o", "claim.sdoc", "--context", "tenant=acme").returncode == 0
    )
    assert b"water damage" not in (d / "claim.sdoc").read_bytes()
    info = run(d, "inspect", "claim.sdoc", "--json", passphrase=None)
    assert info.returncode == 0
    header = json.loads(info.stdout)
    assert header["context"] == {"tenant": "acme"}
    assert header["wrapped_keys"] == [{"kind": "local", "key_id": "default", "version": 1}]
    assert header["plaintext_length"] == 23000
    result = run(d, "open", "claim.sdoc", "-o", "back.txt", "--context", "tenant=acme")
    assert result.returncode == 0, result.stderr
    assert (d / "back.txt").read_bytes() == (d / "claim.txt").read_bytes()


def test_pipes(initialised: Path) -> None:
    sealed = run(initialised, "seal", "-", "-o", "-", stdin=b"from stdin")
    assert sealed.returncode == 0
    opened = run(initialised, "open", "-", "-o", "-", stdin=sealed.stdout)
    assert opened.stdout == b"from stdin"


def test_failures_exit_1_and_leave_no_output(initialised: Path) -> None:
    d = initialised
    (d / "a.txt").write_bytes(b"abc")
    assert run(d, "seal", "a.txt", "-o", "a.sdoc", "--context", "tenant=acme").returncode == 0
    wrong_ctx = run(d, "open", "a.sdoc", "-o", "out.txt", "--context", "tenant=globex")
    assert wrong_ctx.returncode == 1
    assert b"cannot open this document" in wrong_ctx.stderr
    assert not (d / "out.txt").exists()
    wrong_pass = run(d, "open", "a.sdoc", "-o", "out.txt", passphrase="another passphrase")
    assert wrong_pass.returncode == 1
    assert b"wrong passphrase" in wrong_pass.stderr
    assert b"another passphrase" not in wrong_pass.stderr
    not_sealed = run(d, "open", "a.txt", "-o", "out.txt")
    assert not_sealed.returncode == 1
    assert b"not a sealed document" in not_sealed.stderr
    assert b"Traceback" not in not_sealed.stderr
    assert sorted(p.name for p in d.iterdir()) == ["a.sdoc", "a.txt", "ring.json"]


def test_usage_errors_exit_2(initialised: Path) -> None:
    assert run(initialised, "seal", "x").returncode == 2
    bad_ctx = run(initialised, "seal", "x", "-o", "y", "--context", "novalue")
    assert bad_ctx.returncode == 2
    assert b"KEY=VALUE" in bad_ctx.stderr


def test_no_passphrase_without_a_terminal(tmp_path: Path) -> None:
    result = run(tmp_path, "keys", "init", passphrase=None)
    assert result.returncode == 2
    assert b"SEALDOC_PASSPHRASE" in result.stderr


def test_keys_list_shows_versions_not_keys(initialised: Path) -> None:
    result = run(initialised, "keys", "list")
    assert result.stdout == b"default\t1\tenabled (primary)\n"


def test_every_command_has_help_with_an_example(tmp_path: Path) -> None:
    for command in (["seal"], ["open"], ["inspect"], ["keys", "init"], []):
        result = run(tmp_path, *command, "--help")
        assert result.returncode == 0
        assert b"Example" in result.stdout, command
