"""The sealdoc command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

import sealdoc

PASS = "correct horse battery staple"


def run(
    tmp_path: Path,
    *args: str,
    stdin: bytes | None = None,
    passphrase: str | None = PASS,
    env: Mapping[str, str] | None = None,
    **env_vars: str,
) -> subprocess.CompletedProcess[bytes]:
    """``sealdoc ARGS`` in ``tmp_path`` with its keyring there, plus ``env`` and ``env_vars``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    environ["SEALDOC_KEYRING"] = str(tmp_path / "ring.json")
    if passphrase is not None:
        environ["SEALDOC_PASSPHRASE"] = passphrase
    environ.update(env or {})
    environ.update(env_vars)
    return subprocess.run(
        [sys.executable, "-m", "sealdoc", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=environ,
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
    ring_id = sealdoc.LocalKeyring.load(d / "ring.json", passphrase=PASS).ring_id
    key_id = f"default@{ring_id}"
    assert header["wrapped_keys"] == [{"kind": "local", "key_id": key_id, "version": 1}]
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
    names = sorted(p.name for p in d.iterdir())
    assert names == [".ring.json.generation", ".ring.json.lock", "a.sdoc", "a.txt", "ring.json"]


def test_usage_errors_exit_2(initialised: Path) -> None:
    assert run(initialised, "seal", "x").returncode == 2
    bad_ctx = run(initialised, "seal", "x", "-o", "y", "--context", "novalue")
    assert bad_ctx.returncode == 2
    assert b"KEY=VALUE" in bad_ctx.stderr


def test_no_passphrase_without_a_terminal(tmp_path: Path) -> None:
    result = run(tmp_path, "keys", "init", passphrase=None)
    assert result.returncode == 1  # a missing secret, not a usage error (docs/cli.md)
    assert b"SEALDOC_PASSPHRASE" in result.stderr


def test_keys_list_shows_versions_not_keys(initialised: Path) -> None:
    result = run(initialised, "keys", "list")
    assert result.stdout == b"default\t1\tenabled (primary)\n"


def test_every_command_has_help_with_an_example(tmp_path: Path) -> None:
    commands = [["seal"], ["open"], ["inspect"], ["rewrap"], ["rotate"], ["inventory"], []]
    commands += [["vault", c] for c in ("put", "get", "ls", "rm", "inspect", "new-name-key")]
    commands += [["deliver"], ["identity", "new"], ["identity", "recipient"], ["serve"]]
    commands += [
        ["keys", c]
        for c in (
            "init",
            "list",
            "rotate",
            "add",
            "disable",
            "enable",
            "destroy",
            "purge",
            "change-passphrase",
            "assign-id",
        )
    ]
    for command in commands:
        result = run(tmp_path, *command, "--help")
        assert result.returncode == 0
        assert b"Example" in result.stdout, command


def test_key_lifecycle_and_rewrap_from_the_command_line(initialised: Path) -> None:
    d = initialised
    (d / "a.txt").write_bytes(b"policy" * 1000)
    assert run(d, "seal", "a.txt", "-o", "a.sdoc").returncode == 0
    rotated = run(d, "keys", "rotate")
    assert rotated.stdout == b"key 'default': version 2 is now primary\n"
    assert run(d, "rewrap", "a.sdoc", "-o", "b.sdoc").returncode == 0
    header = json.loads(run(d, "inspect", "b.sdoc", "--json").stdout)
    assert header["wrapped_keys"][0]["version"] == 2
    a_len = json.loads(run(d, "inspect", "a.sdoc", "--json").stdout)["header_length"]
    b_len = header["header_length"]
    assert (d / "a.sdoc").read_bytes()[a_len:] == (d / "b.sdoc").read_bytes()[b_len:]
    assert run(d, "keys", "disable", "1").returncode == 0
    refused = run(d, "open", "a.sdoc", "-o", "out.txt")
    assert refused.returncode == 1
    assert b"key 'default' version 1 is disabled" in refused.stderr
    assert run(d, "keys", "enable", "1").returncode == 0
    assert run(d, "open", "a.sdoc", "-o", "out.txt").returncode == 0
    unconfirmed = run(d, "keys", "destroy", "1")  # neither a grace period nor "now"
    assert unconfirmed.returncode == 2
    assert b"--after" in unconfirmed.stderr
    assert b"--yes-destroy-last" in unconfirmed.stderr
    assert run(d, "keys", "destroy", "1", "--yes-destroy-last").returncode == 0
    last = run(d, "keys", "destroy", "2", "--after", "7d")  # the primary cannot wait
    assert last.returncode == 1
    assert b"rotate" in last.stderr
    assert (
        run(d, "keys", "list").stdout == b"default\t1\tdestroyed\ndefault\t2\tenabled (primary)\n"
    )
    assert run(d, "rotate", "b.sdoc", "-o", "c.sdoc").returncode == 0
    assert run(d, "open", "c.sdoc", "-o", "c.txt").returncode == 0
    assert (d / "c.txt").read_bytes() == b"policy" * 1000
    assert run(d, "keys", "add", "customer-7").returncode == 0
    assert b"customer-7\t1\tenabled (primary)" in run(d, "keys", "list").stdout


def test_store_wide_rewrap_inventory_and_exit_codes(initialised: Path) -> None:
    d = initialised
    ring = sealdoc.LocalKeyring.load(d / "ring.json", passphrase=PASS)
    url = f"file://{d}/store"
    vault = sealdoc.Vault(url, keys=ring)
    for i in range(12):
        vault.put(f"acme/{i:02}", b"statement %d" % i)
    inventory = run(d, "inventory", url, "--json", passphrase=None)
    assert json.loads(inventory.stdout)["counts"] == {f"local:default@{ring.ring_id}#1": 12}
    assert run(d, "keys", "rotate").returncode == 0
    dry = run(d, "rewrap", url, "--dry-run", "--json")
    assert (json.loads(dry.stdout)["would_rewrite"], json.loads(dry.stdout)["rewritten"]) == (12, 0)
    assert b"12 would rewrite" in run(d, "rewrap", url, "--dry-run").stdout
    assert json.loads(run(d, "inventory", url, "--json").stdout)["counts"] == {
        f"local:default@{ring.ring_id}#1": 12
    }
    done = run(d, "rewrap", url, "--workers", "3", "--resume", str(d / "ck"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rewritten"], report["failed"]) == (12, [])
    assert json.loads(run(d, "inventory", url, "--json").stdout)["counts"] == {
        f"local:default@{ring.ring_id}#2": 12
    }
    # the inventory proves version 1 unused: destroying it loses nothing
    destroyed = run(d, "keys", "destroy", "1", "--yes-destroy-last", "--check-store", url)
    assert destroyed.returncode == 0, destroyed.stderr
    assert run(d, "open", "store/acme/03.sdoc", "-o", "-").returncode == 1  # bound to its doc id
    assert (
        sealdoc.Vault(url, keys=sealdoc.LocalKeyring.load(d / "ring.json", passphrase=PASS)).get(
            "acme/03"
        )
        == b"statement 3"
    )
    again = run(d, "rewrap", url)
    assert b"0 rewritten, 12 skipped" in again.stdout
    (d / "store" / "acme" / "junk.sdoc").write_bytes(b"not a sealed document")
    failing = run(d, "rotate", url)
    assert failing.returncode == 1
    assert b"failed: acme/junk: FormatError" in failing.stderr
    assert b"12 rewritten" in failing.stdout
    usage = run(d, "rewrap", "no-such-file.sdoc")
    assert usage.returncode == 2
    assert b"not a store URL" in usage.stderr


def test_defaults_from_a_toml_config_file(initialised: Path) -> None:
    d = initialised
    ring = sealdoc.LocalKeyring.load(d / "ring.json", passphrase=PASS)
    url = f"file://{d}/store"
    vault = sealdoc.Vault(url, keys=ring)
    for i in range(4):
        vault.put(f"x/{i}", b"doc")
    run(d, "keys", "rotate")
    keyring = d / "ring.json"
    (d / "sealdoc.toml").write_text(
        f'keyring = "{keyring}"\n\n[rewrap]\nworkers = 2\ndry-run = true\njson = true\n'
    )

    dry = run(d, "--config", "sealdoc.toml", "rewrap", url)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True
    assert json.loads(run(d, "inventory", url, "--json").stdout)["counts"] == {
        f"local:default@{ring.ring_id}#1": 4
    }
    bad = run(d, "--config", "missing.toml", "rewrap", url)
    assert bad.returncode == 2


def test_a_store_with_no_documents_is_said_so(initialised: Path) -> None:
    url = f"file://{initialised}/no-such-store"
    result = run(initialised, "rewrap", url)
    assert result.returncode == 3  # refused: most likely a typo in the URL
    assert b"no documents under" in result.stderr
    assert b"--allow-empty" in result.stderr
    assert run(initialised, "rewrap", url, "--allow-empty").returncode == 0
    assert run(initialised, "inventory", url).returncode == 3
    allowed = run(initialised, "inventory", url, "--allow-empty", "--json")
    assert (allowed.returncode, json.loads(allowed.stdout)["counts"]) == (0, {})
