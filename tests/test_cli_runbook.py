"""docs/runbook.md followed literally, with its config file, on a local folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sealdoc

PASS = "a long passphrase, read from a file"


def _config(d: Path) -> Path:
    ring = d / "keyring.json"
    (d / "pass.txt").write_text(PASS + "\n")
    (d / "pass.txt").chmod(0o600)
    config = d / "sealdoc.toml"
    config.write_text(
        f'keyring = "{ring}"\n'
        f'passphrase-file = "{d / "pass.txt"}"\n\n'
        f'[rewrap]\nkey = ["local://{ring}"]\nworkers = 4\n\n'
        "[rotate]\nworkers = 2\n"
    )
    return config


def run(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``sealdoc ARGS`` with only the runbook's config file (SEALDOC_CONFIG) set."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    environ["SEALDOC_CONFIG"] = str(d / "sealdoc.toml")
    return subprocess.run(
        [sys.executable, "-m", "sealdoc", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=d,
        check=False,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _counts(d: Path, url: str) -> dict[str, int]:
    result = run(d, "inventory", url, "--json")
    assert result.returncode == 0, result.stderr
    counts: dict[str, int] = json.loads(result.stdout)["only_on"]
    return counts


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str]:
    _config(tmp_path)
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(str(tmp_path / "keyring.json"), passphrase=PASS)
    url = f"file://{tmp_path / 'vault'}"
    vault = sealdoc.Vault(url, keys=ring, durable=False)
    for i in range(20):
        vault.put(f"C-{i:04d}/2026-11", b"statement %d" % i)
    return tmp_path, url


def test_monthly_rotation_twice_with_the_config_file(store: tuple[Path, str]) -> None:
    d, url = store
    (label_v1,) = _counts(d, url)
    assert label_v1.endswith("#1")
    for month, version in (("2026-11", 2), ("2026-12", 3)):
        assert run(d, "keys", "rotate").returncode == 0
        checkpoint = f"rewrap-{month}.checkpoint"
        done = run(d, "rewrap", url, "--resume", checkpoint)
        assert done.returncode == 0, done.stderr
        assert "20 rewritten" in done.stdout
        assert _counts(d, url) == {label_v1[:-1] + str(version): 20}
    # last month's file is refused (exit 3), never a silent "20 resumed"
    stale = run(d, "rewrap", url, "--resume", "rewrap-2026-11.checkpoint")
    assert stale.returncode == 3, stale.stderr
    assert "another job" in stale.stderr


def test_retire_and_destroy_with_check_store(store: tuple[Path, str]) -> None:
    d, url = store
    assert run(d, "keys", "rotate").returncode == 0
    for args in (("disable", "1"), ("destroy", "1", "--after", "7d")):
        refused = run(d, "keys", *args, "--check-store", url)
        assert refused.returncode == 3, refused.stderr
        assert "depend only on key 'default' version 1" in refused.stderr
    assert run(d, "rewrap", url, "--resume", "rewrap.checkpoint").returncode == 0
    disabled = run(d, "keys", "disable", "1", "--check-store", url)
    assert disabled.returncode == 0, disabled.stderr
    scheduled = run(d, "keys", "destroy", "1", "--after", "7d", "--check-store", url)
    assert scheduled.returncode == 0, scheduled.stderr
    # the hint is a command the operator can paste as it is
    assert "cancel with: sealdoc keys enable 1)" in scheduled.stdout
    assert "pending-destroy" in run(d, "keys", "list").stdout
    # a second disable or schedule names the CLI command, not the Python method
    for args in (("disable", "1"), ("destroy", "1", "--after", "7d")):
        again = run(d, "keys", *args)
        assert again.returncode == 1, again.stderr
        assert "enable()" not in again.stderr
        assert "sealdoc keys enable 1" in again.stderr
    assert run(d, "keys", "enable", "1").returncode == 0
    assert "1\tenabled" in run(d, "keys", "list").stdout
    purge = run(d, "keys", "purge")
    assert purge.returncode == 0, purge.stderr


def test_move_to_another_keyring_and_back(store: tuple[Path, str]) -> None:
    d, url = store
    other = d / "b.json"
    made = run(d, "--keyring", str(other), "keys", "init")
    assert made.returncode == 0, made.stderr
    moved = run(d, "rewrap", url, "--to", f"local://{other}", "--resume", "to-b.checkpoint")
    assert moved.returncode == 0, moved.stderr
    (label,) = _counts(d, url)
    other_id = sealdoc.LocalKeyring.load(str(other), passphrase=PASS).ring_id
    assert other_id is not None
    assert other_id in label
    # the config's --key is the old keyring: moving back needs the one that opens them
    back = run(
        d,
        "rewrap",
        url,
        "--key",
        f"local://{other}",
        "--to",
        f"local://{d / 'keyring.json'}",
        "--resume",
        "to-a.checkpoint",
    )
    assert back.returncode == 0, back.stderr
    ring = sealdoc.LocalKeyring.load(str(d / "keyring.json"), passphrase=PASS)
    assert ring.ring_id is not None
    assert all(ring.ring_id in label for label in _counts(d, url))


@pytest.mark.parametrize("command", ["inventory", "rewrap"])
def test_a_typo_in_the_bucket_is_refused_like_an_empty_store(
    tmp_path: Path, moto_endpoint: str, command: str
) -> None:
    """Runbook step 1: a URL that does not exist is exit 3, never a store failure."""
    _config(tmp_path)
    assert run(tmp_path, "keys", "init").returncode == 0
    url = "s3://sealdoc-no-such-bucket/statements"
    options = ("--storage-option", f"endpoint_url={moto_endpoint}")
    refused = run(tmp_path, command, url, *options)
    assert refused.returncode == 3, refused.stderr
    assert "check the URL" in refused.stderr
    accepted = run(tmp_path, command, url, *options, "--allow-empty")
    assert accepted.returncode == 0, accepted.stderr
