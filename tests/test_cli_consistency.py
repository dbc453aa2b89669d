"""One behaviour across commands: folder paths, typos, existing keyrings, credentials, secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sealdoc

from .stores import new_bucket
from .test_cli import PASS, run


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A keyring (fast KDF) and a folder vault ./vault holding one document."""
    ring = sealdoc.LocalKeyring.create(
        tmp_path / "ring.json", passphrase=PASS, opslimit=1, memlimit=8 * 1024 * 1024
    )
    sealdoc.Vault(f"file://{tmp_path}/vault", keys=ring).put("a/1", b"one")
    return tmp_path


@pytest.mark.parametrize("command", ["rewrap", "rotate", "inventory"])
@pytest.mark.parametrize("path", ["./vault", "vault", "{tmp}/vault"])
def test_store_jobs_take_a_plain_folder_path_as_vault_put_does(
    folder: Path, command: str, path: str
) -> None:
    result = run(folder, command, path.format(tmp=folder))
    assert result.returncode == 0, result.stderr
    assert b"1/1 documents" in result.stderr


def test_a_store_job_on_one_file_without_o_is_a_usage_error(folder: Path) -> None:
    (folder / "doc.sdoc").write_bytes(b"x")
    result = run(folder, "rewrap", "doc.sdoc")
    assert result.returncode == 2
    assert b"give -o OUT" in result.stderr


@pytest.mark.parametrize("url", ["./vualt", "file:///nonexistent/vault", "{tmp}/vault/nope/"])
def test_vault_ls_of_a_mistyped_url_is_refused(folder: Path, url: str) -> None:
    result = run(folder, "vault", "ls", url.format(tmp=folder))
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(b"sealdoc: no documents under ")
    assert b"--allow-empty" in result.stderr
    allowed = run(folder, "vault", "ls", url.format(tmp=folder), "--allow-empty")
    assert (allowed.returncode, allowed.stdout) == (0, b"")
    assert run(folder, "vault", "ls", "./vault").stdout == b"a/1\n"


def test_keys_init_on_an_existing_keyring_is_refused(folder: Path) -> None:
    before = (folder / "ring.json").read_bytes()
    result = run(folder, "keys", "init")
    assert result.returncode == 3
    assert b"already exists" in result.stderr
    assert (folder / "ring.json").read_bytes() == before


def test_a_store_without_credentials_is_refused(
    folder: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = new_bucket(moto_endpoint)
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)  # run() passes this process's environment on
    env = {
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    option = ("--storage-option", f"endpoint_url={moto_endpoint}")
    for command in (["inventory"], ["rewrap"], ["vault", "ls"]):
        result = run(folder, *command, f"s3://{bucket}/statements", *option, env=env)
        assert result.returncode == 3, result.stderr
        assert b"NoCredentialsError" in result.stderr
        assert b"give the store's credentials" in result.stderr


def test_another_jobs_checkpoint_is_refused_in_a_few_lines(folder: Path) -> None:
    ring = sealdoc.LocalKeyring.load(folder / "ring.json", passphrase=PASS)
    names = [f"customer-{i:04d}" for i in range(12)]
    for name in names:
        ring.add_key(name)
    keys = [f"--key=local://{folder}/ring.json#{name}" for name in ["default", *names]]
    first = run(folder, "rewrap", "./vault", "--resume", "job.checkpoint", *keys)
    assert first.returncode == 0, first.stderr
    ring.rotate("customer-0003")
    result = run(folder, "rewrap", "./vault", "--resume", "job.checkpoint", *keys)
    assert result.returncode == 3
    lines = result.stderr.decode().splitlines()
    assert len(lines) <= 3, lines
    assert len(result.stderr) < 500, result.stderr
    assert "customer-0003@" in lines[1]
    assert lines[1].endswith("#1")
    assert lines[2].endswith("#2")


@pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o400, False), (0o644, True)])
def test_a_passphrase_file_others_can_read_is_warned_about(
    folder: Path, mode: int, warned: bool
) -> None:
    secret = folder / "passphrase"
    secret.write_text(PASS + "\n")
    secret.chmod(mode)
    result = run(folder, "--passphrase-file", str(secret), "keys", "list", passphrase=None)
    assert result.returncode == 0, result.stderr
    warning = f"can be read or written by other users (mode {mode:04o}); chmod 600 it"
    assert (warning.encode() in result.stderr) is warned
