"""sealdoc deliver; open with a password or an identity; sealdoc identity (subprocesses)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import sealdoc
from sealdoc import LocalKeyring, Vault

from .test_cli import PASS, run
from .test_pdf_export import statement_pdf

CUSTOMER = "plum-orbit-kettle-91"
DOC = "C-1029/2026-11"


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A vault on a local folder holding a text and a PDF statement, under the CLI's keyring."""
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    url = f"file://{tmp_path}/vault"
    vault = Vault(url, keys=ring)
    vault.put(DOC, b"statement 2026-11: balance 1,204.17\n", context={"tenant": "acme"})
    vault.put(DOC + ".pdf", statement_pdf())
    return url


def test_deliver_sealed_for_a_password_and_open_it(tmp_path: Path, store: str) -> None:
    result = run(
        tmp_path, "deliver", store, DOC, "--password-env", "PW", "-o", "s.sdoc", PW=CUSTOMER
    )
    assert result.returncode == 0, result.stderr
    header = sealdoc.inspect((tmp_path / "s.sdoc").read_bytes())
    assert [w.kind for w in header.wrapped_keys] == ["password"]
    shown = run(tmp_path, "inspect", "s.sdoc", "--json", passphrase=None)
    assert json.loads(shown.stdout)["wrapped_keys"] == [
        {
            "kind": "password",
            "key_id": "password",
            "version": 1,
            "kdf": {"kdf": "argon2id", "memory_kib": 65536, "iterations": 3},
        }
    ]
    text = run(tmp_path, "inspect", "s.sdoc", passphrase=None).stdout.decode()
    assert "password:password#1  (kdf=argon2id, memory_kib=65536, iterations=3)" in text
    opened = run(
        tmp_path,
        "open",
        "s.sdoc",
        "--password-env",
        "PW",
        "-o",
        "out.txt",
        passphrase=None,  # the customer has no keyring
        PW=CUSTOMER,
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out.txt").read_bytes() == b"statement 2026-11: balance 1,204.17\n"
    wrong = run(
        tmp_path,
        "open",
        "s.sdoc",
        "--password-env",
        "PW",
        "-o",
        "bad.txt",
        passphrase=None,
        PW="plum-orbit-kettle-19",
    )
    assert wrong.returncode == 1
    assert b"cannot open this document" in wrong.stderr
    assert not (tmp_path / "bad.txt").exists()


def test_deliver_to_a_device(tmp_path: Path, store: str) -> None:
    made = run(tmp_path, "identity", "new", "phone.key", passphrase=None)
    assert made.returncode == 0, made.stderr
    recipient = made.stdout.decode().strip()
    assert recipient.startswith("x25519:")
    assert stat.S_IMODE((tmp_path / "phone.key").stat().st_mode) == 0o600
    shown = run(tmp_path, "identity", "recipient", "phone.key", passphrase=None)
    assert shown.stdout.decode().strip() == recipient
    again = run(tmp_path, "identity", "new", "phone.key", passphrase=None)
    assert again.returncode == 3  # refused: never overwritten
    result = run(tmp_path, "deliver", store, DOC, "--recipient", recipient, "-o", "d.sdoc")
    assert result.returncode == 0, result.stderr
    opened = run(
        tmp_path, "open", "d.sdoc", "--identity", "phone.key", "-o", "out.txt", passphrase=None
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out.txt").read_bytes().startswith(b"statement 2026-11")
    run(tmp_path, "identity", "new", "laptop.key", passphrase=None)
    other = run(
        tmp_path, "open", "d.sdoc", "--identity", "laptop.key", "-o", "no.txt", passphrase=None
    )
    assert other.returncode == 1
    assert b"another device" in other.stderr


def test_a_protected_identity(tmp_path: Path, store: str) -> None:
    made = run(
        tmp_path,
        "identity",
        "new",
        "p.key",
        "--passphrase-env",
        "IDP",
        passphrase=None,
        IDP="laptop passphrase 2026",
    )
    assert made.returncode == 0, made.stderr
    recipient = made.stdout.decode().strip()
    assert (
        run(tmp_path, "deliver", store, DOC, "--recipient", recipient, "-o", "d.sdoc").returncode
        == 0
    )
    opened = run(
        tmp_path,
        "open",
        "d.sdoc",
        "--identity",
        "p.key",
        "--identity-passphrase-env",
        "IDP",
        "-o",
        "out.txt",
        passphrase=None,
        IDP="laptop passphrase 2026",
    )
    assert opened.returncode == 0, opened.stderr
    missing = run(tmp_path, "open", "d.sdoc", "--identity", "p.key", "-o", "o2", passphrase=None)
    assert missing.returncode == 1
    assert b"passphrase" in missing.stderr


def test_deliver_html_and_open_it_from_python_and_the_cli(tmp_path: Path, store: str) -> None:
    result = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--password-env",
        "PW",
        "--format",
        "html",
        "-o",
        "statement.html",
        PW=CUSTOMER,
    )
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "statement.html").read_bytes()
    assert page.startswith(b"<!DOCTYPE html>")
    assert b"1,204.17" not in page
    sealed = sealdoc.sealed_from_html(page)
    assert sealdoc.inspect(sealed).context["sealdoc:filename"] == "2026-11"
    opened = run(
        tmp_path,
        "open",
        "statement.html",
        "--password-env",
        "PW",
        "-o",
        "out.txt",
        passphrase=None,
        PW=CUSTOMER,
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out.txt").read_bytes().startswith(b"statement 2026-11")


def test_deliver_pdf(tmp_path: Path, store: str) -> None:
    result = run(
        tmp_path,
        "deliver",
        store,
        DOC + ".pdf",
        "--password-env",
        "PW",
        "--format",
        "pdf",
        "-o",
        "statement.pdf",
        PW=CUSTOMER,
    )
    assert result.returncode == 0, result.stderr
    qpdf = shutil.which("qpdf")
    assert qpdf is not None
    path = str(tmp_path / "statement.pdf")
    assert (
        subprocess.run([qpdf, "--check", f"--password={CUSTOMER}", path], check=False).returncode
        == 0
    )
    assert subprocess.run([qpdf, "--check", path], capture_output=True, check=False).returncode == 2
    not_pdf = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--password-env",
        "PW",
        "--format",
        "pdf",
        "-o",
        "text.pdf",
        PW=CUSTOMER,
    )
    assert not_pdf.returncode == 1
    assert b"not a PDF" in not_pdf.stderr
    assert not (tmp_path / "text.pdf").exists()


@pytest.mark.parametrize(
    ("password", "reason"),
    [("8503141234", b"only digits"), ("1985-03-14", b"date"), ("short", b"at least 12")],
)
def test_a_weak_password_is_refused_and_nothing_is_written(
    tmp_path: Path, store: str, password: str, reason: bytes
) -> None:
    result = run(
        tmp_path, "deliver", store, DOC, "--password-env", "PW", "-o", "s.sdoc", PW=password
    )
    assert result.returncode == 1
    assert reason in result.stderr
    assert password.encode() not in result.stderr
    assert not (tmp_path / "s.sdoc").exists()
    forced = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--password-env",
        "PW",
        "--weak-password-ok",
        "-o",
        "s.sdoc",
        PW=password,
    )
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "html", "--recipient", "x25519:AAAA"),
        ("--format", "pdf", "--share-key", "--password-env", "PW"),
        (),
        ("--format", "html"),
    ],
)
def test_usage_errors(tmp_path: Path, store: str, args: tuple[str, ...]) -> None:
    result = run(tmp_path, "deliver", store, DOC, *args, "-o", "x", PW=CUSTOMER)
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "x").exists()


def test_a_missing_password_is_no_usage_error(tmp_path: Path, store: str) -> None:
    result = run(tmp_path, "deliver", store, DOC, "--password-env", "UNSET_VARIABLE", "-o", "x")
    assert result.returncode == 1, result.stderr  # the secret is missing, the usage is right
    assert b"UNSET_VARIABLE" in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_missing_document(tmp_path: Path, store: str) -> None:
    result = run(
        tmp_path, "deliver", store, "C-9999/2026-11", "--password-env", "PW", "-o", "x", PW=CUSTOMER
    )
    assert result.returncode == 1
    assert b"C-9999/2026-11" in result.stderr


def test_a_password_made_of_the_customers_own_data_is_refused(tmp_path: Path, store: str) -> None:
    phone = "0798315526"
    password = f"plum-orbit-{phone}"
    args = ("deliver", store, DOC, "--password-env", "PW", "-o", "s.sdoc")
    plain = run(tmp_path, *args, PW=password)
    assert plain.returncode == 0, plain.stderr  # strong enough for a stranger...
    (tmp_path / "s.sdoc").unlink()
    refused = run(tmp_path, *args, "--personal", phone, "--personal", "Jane", PW=password)
    assert refused.returncode == 1  # ...not for someone who knows the customer
    assert b"known about the customer" in refused.stderr
    assert b"--personal" in refused.stderr
    assert b"personal=" not in refused.stderr
    assert phone.encode() not in refused.stderr
    assert not (tmp_path / "s.sdoc").exists()
