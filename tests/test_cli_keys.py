"""sealdoc keys: destroy with a grace period or --check-store, purge, change-passphrase."""

from __future__ import annotations

from pathlib import Path

import pytest

import sealdoc

from .stores import new_bucket
from .test_cli import PASS, run


@pytest.fixture(params=["file", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A keyring, and a store URL (with the environment to reach it) holding 3 documents."""
    assert run(tmp_path, "keys", "init").returncode == 0
    env: dict[str, str] = {}
    if request.param == "file":
        url = f"file://{tmp_path}/vault"
        options: dict[str, str] = {}
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        url = f"s3://{new_bucket(endpoint)}/vault"
        env = {"AWS_ENDPOINT_URL": endpoint}
        options = {"endpoint_url": endpoint}
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    vault = sealdoc.Vault(url, keys=ring, storage_options=options)
    for i in range(3):
        vault.put(f"acme/{i}", b"statement %d" % i)
    return url, env


def test_check_store_refuses_while_documents_depend_on_the_version(
    tmp_path: Path, where: tuple[str, dict[str, str]]
) -> None:
    url, env = where
    assert run(tmp_path, "keys", "rotate").returncode == 0
    for command in (["disable", "1"], ["destroy", "1", "--after", "7d"]):
        refused = run(tmp_path, "keys", *command, "--check-store", url, env=env)
        assert refused.returncode == 3, refused.stderr
        assert b"3 documents" in refused.stderr
        assert b"depend only on key 'default' version 1" in refused.stderr
    assert b"default\t1\tenabled\n" in run(tmp_path, "keys", "list").stdout  # untouched
    typo = run(tmp_path, "keys", "disable", "1", "--check-store", url + "-typo", env=env)
    assert typo.returncode == 3  # an empty URL proves nothing
    assert run(tmp_path, "rewrap", url, env=env).returncode == 0
    allowed = run(tmp_path, "keys", "destroy", "1", "--after", "7d", "--check-store", url, env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert b"cancel with: sealdoc keys enable" in allowed.stdout
    listed = run(tmp_path, "keys", "list").stdout
    assert b"default\t1\tpending-destroy (destroyed from " in listed
    assert run(tmp_path, "keys", "purge").returncode == 0  # nothing due for 7 days
    assert b"default\t1\tpending-destroy" in run(tmp_path, "keys", "list").stdout
    assert run(tmp_path, "keys", "enable", "1").returncode == 0  # cancels it
    assert b"default\t1\tenabled\n" in run(tmp_path, "keys", "list").stdout


def test_durations_are_checked(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    run(tmp_path, "keys", "rotate")
    for bad in ("7", "0d", "7 days", "-1h"):
        result = run(tmp_path, "keys", "destroy", "1", "--after", bad)
        assert result.returncode == 2, bad
        assert b"7d, 12h or 30m" in result.stderr


def test_change_the_passphrase_and_destroy_with_a_new_one(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    (tmp_path / "new").write_text("a new and longer passphrase\n")
    changed = run(tmp_path, "keys", "change-passphrase", "--new-passphrase-file", "new")
    assert changed.returncode == 0, changed.stderr
    assert run(tmp_path, "keys", "list").returncode == 1  # the old one no longer opens it
    listed = run(tmp_path, "--passphrase-file", "new", "keys", "list", passphrase=None)
    assert listed.returncode == 0, listed.stderr
    with_new = ("--passphrase-file", "new")
    assert run(tmp_path, *with_new, "keys", "rotate", passphrase=None).returncode == 0
    (tmp_path / "third").write_text("the third passphrase of this ring\n")
    destroyed = run(
        tmp_path,
        *with_new,
        "keys",
        "destroy",
        "1",
        "--yes-destroy-last",
        "--new-passphrase-file",
        "third",
        passphrase=None,
    )
    assert destroyed.returncode == 0, destroyed.stderr
    after = run(tmp_path, "--passphrase-file", "third", "keys", "list", passphrase=None)
    assert after.stdout.startswith(b"default\t1\tdestroyed\n"), after.stderr
    again = run(tmp_path, "--passphrase-file", "third", "keys", "assign-id", passphrase=None)
    assert again.returncode == 1  # a keyring made today has its id already
    assert b"already has the id" in again.stderr
