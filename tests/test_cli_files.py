"""seal/open/inspect from the command line: key URIs, URLs, secrets from files, no clobbering."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import boto3
import pytest

import sealdoc
from sealdoc._cli.text import shown

from .stores import new_bucket
from .test_cli import PASS, run

CUSTOMER = "plum-orbit-kettle-91"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A keyring whose passphrase is only in a file (no SEALDOC_PASSPHRASE at all)."""
    secret = tmp_path / "pass.txt"
    secret.write_text(PASS + "\n")
    secret.chmod(0o600)
    result = run(tmp_path, "--passphrase-file", "pass.txt", "keys", "init", passphrase=None)
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_the_passphrase_from_a_file_flag_or_variable(home: Path) -> None:
    (home / "a.txt").write_bytes(b"abc")
    by_flag = run(
        home, "--passphrase-file", "pass.txt", "seal", "a.txt", "-o", "a.sdoc", passphrase=None
    )
    assert by_flag.returncode == 0, by_flag.stderr
    by_env = run(
        home,
        "open",
        "a.sdoc",
        "-o",
        "-",
        passphrase=None,
        SEALDOC_PASSPHRASE_FILE=str(home / "pass.txt"),
    )
    assert (by_env.returncode, by_env.stdout) == (0, b"abc")
    (home / "empty").write_text("")
    empty = run(home, "--passphrase-file", "empty", "keys", "list", passphrase=None)
    assert empty.returncode == 1
    assert b"--passphrase-file" in empty.stderr
    assert b"is empty" in empty.stderr


def test_output_is_never_replaced_without_force(home: Path) -> None:
    (home / "statement.pdf").write_bytes(b"the original")
    (home / "statement.pdf").chmod(0o640)
    env = {"SEALDOC_PASSPHRASE_FILE": str(home / "pass.txt")}
    assert (
        run(home, "seal", "statement.pdf", "-o", "s.sdoc", passphrase=None, env=env).returncode == 0
    )
    again = run(home, "seal", "statement.pdf", "-o", "s.sdoc", passphrase=None, env=env)
    assert again.returncode == 3
    assert b"--force" in again.stderr
    opened = run(home, "open", "s.sdoc", "-o", "statement.pdf", passphrase=None, env=env)
    assert opened.returncode == 3
    assert (home / "statement.pdf").read_bytes() == b"the original"
    forced = run(home, "open", "s.sdoc", "-o", "statement.pdf", "--force", passphrase=None, env=env)
    assert forced.returncode == 0, forced.stderr
    assert stat.S_IMODE((home / "statement.pdf").stat().st_mode) == 0o640  # mode kept
    fresh = run(home, "open", "s.sdoc", "-o", "new.pdf", passphrase=None, env=env)
    assert fresh.returncode == 0
    assert stat.S_IMODE((home / "new.pdf").stat().st_mode) == 0o600
    assert not [p for p in home.iterdir() if p.name.endswith(".partial")]


def test_key_uris_seal_and_open(home: Path) -> None:
    ring = f"local://{home / 'ring.json'}"
    (home / "a.txt").write_bytes(b"by uri")
    env = {"SEALDOC_PASSPHRASE_FILE": str(home / "pass.txt")}
    made = run(home, "identity", "new", "dev.key", passphrase=None)
    recipient = made.stdout.decode().strip()
    sealed = run(
        home,
        "seal",
        "a.txt",
        "-o",
        "a.sdoc",
        "--key",
        ring,
        "--key",
        recipient,
        env=env,
        passphrase=None,
    )
    assert sealed.returncode == 0, sealed.stderr
    kinds = [w.kind for w in sealdoc.inspect((home / "a.sdoc").read_bytes()).wrapped_keys]
    assert sorted(kinds) == ["local", "x25519"]
    by_ring = run(home, "open", "a.sdoc", "-o", "-", "--key", ring, passphrase=None, env=env)
    assert by_ring.stdout == b"by uri", by_ring.stderr
    by_device = run(home, "open", "a.sdoc", "-o", "-", "--identity", "dev.key", passphrase=None)
    assert by_device.stdout == b"by uri", by_device.stderr
    bad = run(home, "seal", "a.txt", "-o", "b.sdoc", "--key", "nosuch://x", passphrase=None)
    assert bad.returncode == 1
    assert b"nosuch" in bad.stderr
    assert not (home / "b.sdoc").exists()


def test_file_mode_rewrap_takes_a_binding(home: Path) -> None:
    env = {"SEALDOC_PASSPHRASE_FILE": str(home / "pass.txt")}
    ring = sealdoc.LocalKeyring.load(home / "ring.json", passphrase=PASS)
    vault = sealdoc.Vault(f"file://{home}/v", keys=ring)
    vault.put("doc-1", b"bound")
    unbound = run(home, "rewrap", "v/doc-1.sdoc", "-o", "r.sdoc", passphrase=None, env=env)
    assert unbound.returncode == 1
    assert b"--binding" in unbound.stderr
    assert b"binding=" not in unbound.stderr
    bound = run(
        home,
        "rewrap",
        "v/doc-1.sdoc",
        "-o",
        "r.sdoc",
        "--binding",
        "sealdoc:doc_id=doc-1",
        passphrase=None,
        env=env,
    )
    assert bound.returncode == 0, bound.stderr
    opened = run(
        home,
        "open",
        "r.sdoc",
        "-o",
        "-",
        "--binding",
        "sealdoc:doc_id=doc-1",
        passphrase=None,
        env=env,
    )
    assert opened.stdout == b"bound"


def test_stdout_gets_nothing_from_a_tampered_document(home: Path) -> None:
    env = {"SEALDOC_PASSPHRASE_FILE": str(home / "pass.txt")}
    body = os.urandom(3 * 1024 * 1024)  # more than the CLI's 1 MiB chunk
    (home / "big").write_bytes(body)
    assert (
        run(
            home,
            "seal",
            "big",
            "-o",
            "big.sdoc",
            "--segment-size",
            "65536",
            passphrase=None,
            env=env,
        ).returncode
        == 0
    )
    sealed = bytearray((home / "big.sdoc").read_bytes())
    sealed[-5] ^= 1  # the last segment: everything before it authenticates
    (home / "bad.sdoc").write_bytes(bytes(sealed))
    for source, stdin in (("bad.sdoc", None), ("-", bytes(sealed))):
        result = run(home, "open", source, "-o", "-", stdin=stdin, passphrase=None, env=env)
        assert result.returncode == 1
        assert result.stdout == b"", source  # not one byte of the good segments
        assert b"cannot open this document" in result.stderr
    streamed = run(home, "open", "bad.sdoc", "-o", "-", "--stream", passphrase=None, env=env)
    assert streamed.returncode == 1
    assert streamed.stdout  # what --stream warns about: the good segments came out
    assert body.startswith(streamed.stdout)
    good = run(home, "open", "-", "-o", "-", stdin=(home / "big.sdoc").read_bytes(), env=env)
    assert good.stdout == body


def test_inspect_takes_an_html_copy_and_names_its_kdf(tmp_path: Path) -> None:
    page = sealdoc.export_html(b"statement", password=CUSTOMER, filename="s.txt")
    (tmp_path / "s.html").write_bytes(page)
    shown = run(tmp_path, "inspect", "s.html", "--json", passphrase=None)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["html_page"] is True
    assert info["wrapped_keys"][0]["kdf"]["kdf"] == "pbkdf2-sha256"
    assert "\n" not in shown.stdout.decode().strip()  # one line of JSON
    wrong = run(
        tmp_path, "open", "s.html", "--password-env", "PW", "-o", "x", passphrase=None, PW="nope"
    )
    assert wrong.returncode == 1
    assert b"argon2id" not in wrong.stderr  # the page uses PBKDF2; no message says otherwise
    (tmp_path / "pw").write_text(CUSTOMER + "\n")
    right = run(tmp_path, "open", "s.html", "--password-file", "pw", "-o", "-", passphrase=None)
    assert right.stdout == b"statement", right.stderr


def test_what_a_document_says_is_escaped_before_it_is_printed() -> None:
    # the library refuses such text in new headers (issue 13.2); the CLI
    # escapes anyway, for documents made elsewhere
    assert shown("acme\x1b[2J\nforged: line") == "acme\\x1b[2J\\x0aforged: line"
    assert shown("abc\u202edcba") == "abc\\u202edcba"
    assert shown("back\\slash") == "back\\\\slash"
    assert shown("Zürich 東京") == "Zürich 東京"


@pytest.fixture
def s3(moto_endpoint: str) -> tuple[str, dict[str, str]]:
    """A bucket on moto's S3, and the environment a subprocess needs to reach it (and KMS)."""
    bucket = new_bucket(moto_endpoint)
    return bucket, {"AWS_ENDPOINT_URL": moto_endpoint}


def test_seal_to_s3_and_open_from_it_with_a_kms_key(
    home: Path, s3: tuple[str, dict[str, str]], moto_endpoint: str
) -> None:
    bucket, env = s3
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/cli-{bucket}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    uri = f"aws-kms://{alias}?region=us-east-1"
    (home / "claim.txt").write_bytes(b"claim 88412")
    url = f"s3://{bucket}/claims/claim.txt.sdoc"
    sealed = run(home, "seal", "claim.txt", "-o", url, "--key", uri, passphrase=None, env=env)
    assert sealed.returncode == 0, sealed.stderr
    shown = run(home, "inspect", url, "--json", passphrase=None, env=env)
    assert json.loads(shown.stdout)["wrapped_keys"][0]["kind"] == "aws-kms", shown.stderr
    opened = run(home, "open", url, "-o", "-", "--key", uri, passphrase=None, env=env)
    assert (opened.returncode, opened.stdout) == (0, b"claim 88412"), opened.stderr
    again = run(home, "seal", "claim.txt", "-o", url, "--key", uri, passphrase=None, env=env)
    assert again.returncode == 3  # an existing object is not replaced without --force
    # the endpoint as a storage option instead of the environment
    by_option = run(
        home,
        "inspect",
        url,
        "--storage-option",
        f"endpoint_url={env['AWS_ENDPOINT_URL']}",
        passphrase=None,
    )
    assert by_option.returncode == 0, by_option.stderr
