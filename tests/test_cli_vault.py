"""sealdoc vault put/get/ls/rm/inspect as subprocesses, on a local folder and moto's S3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sealdoc

from .azurite import azure_options, new_container
from .stores import new_bucket
from .test_cli import PASS, run

DOC = "C-1029/2026-11"


@pytest.fixture(params=["file", "s3", "azure"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A store URL and the environment a subprocess needs to reach it."""
    assert run(tmp_path, "keys", "init").returncode == 0
    if request.param == "file":
        return f"file://{tmp_path}/vault", {}
    if request.param == "azure":  # Azurite, reached as adlfs users reach Azure
        endpoint = request.getfixturevalue("azurite_endpoint")
        env = {"AZURE_STORAGE_CONNECTION_STRING": azure_options(endpoint)["connection_string"]}
        return f"az://{new_container(endpoint)}/vault", env
    endpoint = request.getfixturevalue("moto_endpoint")
    return f"s3://{new_bucket(endpoint)}/vault", {"AWS_ENDPOINT_URL": endpoint}


def test_put_get_ls_inspect_rm(tmp_path: Path, where: tuple[str, dict[str, str]]) -> None:
    url, env = where
    (tmp_path / "s.txt").write_bytes(b"statement 2026-11\n")
    put = run(tmp_path, "vault", "put", url, DOC, "s.txt", "--context", "tenant=acme", env=env)
    assert put.returncode == 0, put.stderr
    piped = run(tmp_path, "vault", "put", url, "C-1029/2026-12", stdin=b"from stdin", env=env)
    assert piped.returncode == 0, piped.stderr
    again = run(tmp_path, "vault", "put", url, DOC, "s.txt", env=env)
    assert again.returncode == 3  # not replaced without --force
    listed = run(tmp_path, "vault", "ls", url, "C-1029/", "--json", passphrase=None, env=env)
    assert json.loads(listed.stdout) == [DOC, "C-1029/2026-12"], listed.stderr
    shown = run(tmp_path, "vault", "inspect", url, DOC, "--json", passphrase=None, env=env)
    header = json.loads(shown.stdout)
    assert (header["context"], header["has_binding"]) == ({"tenant": "acme"}, True)
    got = run(tmp_path, "vault", "get", url, DOC, "-o", "-", "--context", "tenant=acme", env=env)
    assert (got.returncode, got.stdout) == (0, b"statement 2026-11\n"), got.stderr
    to_file = run(tmp_path, "vault", "get", url, "C-1029/2026-12", "-o", "out.txt", env=env)
    assert to_file.returncode == 0, to_file.stderr
    assert (tmp_path / "out.txt").read_bytes() == b"from stdin"
    wrong = run(
        tmp_path, "vault", "get", url, DOC, "-o", "-", "--context", "tenant=globex", env=env
    )
    assert (wrong.returncode, wrong.stdout) == (1, b"")
    assert run(tmp_path, "vault", "rm", url, DOC, passphrase=None, env=env).returncode == 0
    gone = run(tmp_path, "vault", "get", url, DOC, "-o", "-", env=env)
    assert gone.returncode == 1
    assert DOC.encode() in gone.stderr
    assert run(tmp_path, "vault", "rm", url, DOC, passphrase=None, env=env).returncode == 1
    left = run(tmp_path, "vault", "ls", url, passphrase=None, env=env)
    assert left.stdout == b"C-1029/2026-12\n"


def test_opaque_names_from_a_name_key_file(
    tmp_path: Path, where: tuple[str, dict[str, str]]
) -> None:
    url, env = where
    made = run(tmp_path, "vault", "new-name-key", "names.key", passphrase=None)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "names.key").stat().st_mode & 0o077 == 0
    assert run(tmp_path, "vault", "new-name-key", "names.key", passphrase=None).returncode == 3
    nk = ("--name-key-file", "names.key")
    put = run(tmp_path, "vault", "put", url, DOC, *nk, stdin=b"private", env=env)
    assert put.returncode == 0, put.stderr
    assert run(tmp_path, "vault", "ls", url, "--json", *nk, env=env).stdout.strip() == b'["%s"]' % (
        DOC.encode()
    )
    # without the name key the listing says nothing about whose document it is
    opaque = json.loads(run(tmp_path, "vault", "ls", url, "--json", env=env).stdout)
    assert len(opaque) == 1
    assert "C-1029" not in opaque[0]
    got = run(tmp_path, "vault", "get", url, DOC, "-o", "-", *nk, env=env)
    assert got.stdout == b"private", got.stderr
    inventory = run(tmp_path, "inventory", url, "--json", *nk, passphrase=None, env=env)
    ring_id = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS).ring_id
    assert json.loads(inventory.stdout)["counts"] == {f"local:default@{ring_id}#1": 1}
    run(tmp_path, "keys", "rotate")
    done = run(tmp_path, "rewrap", url, "--json", *nk, env=env)
    assert json.loads(done.stdout)["rewritten"] == 1, done.stderr
    (tmp_path / "bad.key").write_bytes(b"short")
    bad = run(tmp_path, "vault", "ls", url, "--name-key-file", "bad.key", env=env)
    assert bad.returncode == 1
    assert b"64-byte name key" in bad.stderr


def test_a_vault_section_of_the_config_file(tmp_path: Path, moto_endpoint: str) -> None:
    """Storage options and the name key from the config file, for every vault command."""
    assert run(tmp_path, "keys", "init").returncode == 0
    url = f"s3://{new_bucket(moto_endpoint)}/vault"
    run(tmp_path, "vault", "new-name-key", "names.key", passphrase=None)
    (tmp_path / "sealdoc.toml").write_text(
        f'[vault]\nname-key-file = "names.key"\n'
        f'storage-option = {{endpoint_url = "{moto_endpoint}"}}\n'
        f'[inventory]\nstorage-option = ["endpoint_url={moto_endpoint}"]\n'
        'name-key-file = "names.key"\n'
    )
    put = run(tmp_path, "vault", "put", url, DOC, "--config", "sealdoc.toml", stdin=b"x")
    assert put.returncode == 0, put.stderr
    listed = run(tmp_path, "--config", "sealdoc.toml", "vault", "ls", url)
    assert listed.stdout == DOC.encode() + b"\n", listed.stderr
    counted = run(tmp_path, "inventory", url, "--json", "--config", "sealdoc.toml")
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    assert json.loads(counted.stdout)["counts"] == {f"local:default@{ring.ring_id}#1": 1}


def test_a_name_key_on_a_full_disk_leaves_no_file_and_a_retry_works(tmp_path: Path) -> None:
    import resource
    import subprocess
    import sys

    def no_room() -> None:  # every write past byte 0 fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    full = subprocess.run(
        [sys.executable, "-m", "sealdoc", "vault", "new-name-key", "names.key"],
        capture_output=True,
        cwd=tmp_path,
        preexec_fn=no_room,
        check=False,
        timeout=60,
    )
    assert full.returncode == 1, full.stderr
    assert b"cannot create names.key" in full.stderr
    assert b"Traceback" not in full.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no empty key, no temp file
    again = run(tmp_path, "vault", "new-name-key", "names.key", passphrase=None)
    assert again.returncode == 0, again.stderr
    from sealdoc._names import NAME_KEY_LEN

    assert len(bytes.fromhex((tmp_path / "names.key").read_text().strip())) == NAME_KEY_LEN
