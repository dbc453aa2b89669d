"""The CLI's post-quantum recipients and age files (subprocesses, as issue 23's checks run them)."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

import sealdoc
from sealdoc import LocalKeyring, Vault

from .test_cli import PASS, run

DOC = "C-1029/2026-11"
TEXT = b"statement 2026-11: balance 1,204.17\n"
PW = "plum-orbit-kettle-91"


@pytest.fixture
def store(tmp_path: Path) -> str:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    url = f"file://{tmp_path}/vault"
    Vault(url, keys=ring).put(DOC, TEXT, context={"tenant": "acme"})
    return url


def _new_pq(tmp_path: Path, name: str) -> str:
    made = run(tmp_path, "identity", "new", "--pq", name, passphrase=None)
    assert made.returncode == 0, made.stderr
    return made.stdout.decode().strip()


def test_identity_new_pq_deliver_and_open(tmp_path: Path, store: str) -> None:
    recipient = _new_pq(tmp_path, "phone.key")
    assert recipient.startswith("age1pq1")
    assert len(recipient) > 1900
    key_file = tmp_path / "phone.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"# public key: {recipient}" in key_file.read_text()
    assert "\nAGE-SECRET-KEY-PQ-1" in key_file.read_text()
    shown = run(tmp_path, "identity", "recipient", "phone.key", passphrase=None)
    assert shown.stdout.decode().strip() == recipient
    done = run(tmp_path, "deliver", store, DOC, "--recipient", recipient, "-o", "copy.sdoc")
    assert done.returncode == 0, done.stderr
    header = sealdoc.inspect((tmp_path / "copy.sdoc").read_bytes())
    assert [w.kind for w in header.wrapped_keys] == ["mlkem768x25519"]
    opened = run(
        tmp_path, "open", "copy.sdoc", "--identity", "phone.key", "-o", "out", passphrase=None
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out").read_bytes() == TEXT
    _new_pq(tmp_path, "other.key")
    wrong = run(
        tmp_path, "open", "copy.sdoc", "--identity", "other.key", "-o", "no", passphrase=None
    )
    assert wrong.returncode == 1
    assert b"cannot open this document" in wrong.stderr
    assert not (tmp_path / "no").exists()


def test_a_pq_copy_gets_no_x25519_wrap_unless_asked(tmp_path: Path, store: str) -> None:
    pq = _new_pq(tmp_path, "pq.key")
    classic = run(tmp_path, "identity", "new", "old.key", passphrase=None).stdout.decode().strip()
    both = ["--recipient", pq, "--recipient", classic]
    refused = run(tmp_path, "deliver", store, DOC, *both, "-o", "mixed.sdoc")
    assert refused.returncode != 0
    assert b"only as strong as X25519" in refused.stderr
    assert b"Traceback" not in refused.stderr
    assert not (tmp_path / "mixed.sdoc").exists()
    allowed = run(tmp_path, "deliver", store, DOC, *both, "--allow-classical", "-o", "mixed.sdoc")
    assert allowed.returncode == 0, allowed.stderr
    kinds = sorted(
        w.kind for w in sealdoc.inspect((tmp_path / "mixed.sdoc").read_bytes()).wrapped_keys
    )
    assert kinds == ["mlkem768x25519", "x25519"]


def test_migrating_a_device_wrap_with_rewrap_add(tmp_path: Path, store: str) -> None:
    """A document under the keyring and an X25519 device: --add age1pq1 --drop x25519:device."""
    old = sealdoc.providers.X25519Identity.generate()
    ring = LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    both = sealdoc.seal(TEXT, keys=[ring, old.to_recipient()])
    (tmp_path / "c.sdoc").write_bytes(both)
    pq = _new_pq(tmp_path, "pq.key")
    mixed = run(tmp_path, "rewrap", "c.sdoc", "-o", "c2.sdoc", "--add", pq)
    assert mixed.returncode != 0  # refused before anything is written
    assert b"only as strong as X25519" in mixed.stderr
    assert b"Traceback" not in mixed.stderr
    assert not (tmp_path / "c2.sdoc").exists()
    moved = run(
        tmp_path, "rewrap", "c.sdoc", "-o", "c2.sdoc", "--add", pq, "--drop", "x25519:device"
    )
    assert moved.returncode == 0, moved.stderr
    kinds = [w.kind for w in sealdoc.inspect((tmp_path / "c2.sdoc").read_bytes()).wrapped_keys]
    assert sorted(kinds) == ["local", "mlkem768x25519"]
    opened = run(tmp_path, "open", "c2.sdoc", "--identity", "pq.key", "-o", "out", passphrase=None)
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out").read_bytes() == TEXT
    window = run(tmp_path, "rewrap", "c.sdoc", "-o", "c3.sdoc", "--add", pq, "--allow-classical")
    assert window.returncode == 0, window.stderr
    # store-wide too (tests/test_bulk_add.py has the rest): added once, then skipped
    store_wide = run(tmp_path, "rewrap", store, "--add", pq)
    assert store_wide.returncode == 0, store_wide.stderr
    assert b"1 rewritten" in store_wide.stdout
    assert b"0 rewritten, 1 skipped" in run(tmp_path, "rewrap", store, "--add", pq).stdout
    assert Vault(store, keys=ring).inventory().counts["mlkem768x25519:device#1"] == 1


def test_age_output_for_an_age_binary_key(tmp_path: Path, store: str) -> None:
    keygen = subprocess.run(
        ["age-keygen", "-o", str(tmp_path / "partner.key")], capture_output=True, check=True
    )
    recipient = keygen.stderr.decode().split("Public key: ")[1].strip()
    done = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--recipient",
        recipient,
        "--format",
        "age",
        "-o",
        "copy.age",
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "copy.age").read_bytes().startswith(b"age-encryption.org/v1\n-> X25519 ")
    age = subprocess.run(
        ["age", "-d", "-i", str(tmp_path / "partner.key"), str(tmp_path / "copy.age")],
        capture_output=True,
        check=False,
    )
    assert age.returncode == 0, age.stderr
    assert age.stdout == TEXT
    opened = run(
        tmp_path, "open", "copy.age", "--identity", "partner.key", "-o", "out", passphrase=None
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out").read_bytes() == TEXT
    misused = run(
        tmp_path,
        "open",
        "copy.age",
        "--identity",
        "partner.key",
        "--context",
        "tenant=acme",
        "-o",
        "out2",
        passphrase=None,
    )
    assert misused.returncode == 2
    assert b"an age file has no context" in misused.stderr
    bare = run(tmp_path, "open", "copy.age", "-o", "out3", passphrase=None)
    assert bare.returncode == 2
    assert b"opens with --identity FILE" in bare.stderr
    assert not (tmp_path / "out2").exists()
    shown = run(tmp_path, "inspect", "copy.age", "--json", passphrase=None)
    assert json.loads(shown.stdout) == {
        "format": "age-encryption.org/v1",
        "armored": False,
        "recipients": ["X25519"],
    }


def test_age_output_armored_for_pq_and_to_stdout(tmp_path: Path, store: str) -> None:
    recipient = _new_pq(tmp_path, "pq.key")
    done = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--recipient",
        recipient,
        "--format",
        "age",
        "--armor",
        "-o",
        "copy.age",
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "copy.age").read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    out = run(tmp_path, "open", "copy.age", "--identity", "pq.key", "-o", "-", passphrase=None)
    assert out.returncode == 0, out.stderr
    assert out.stdout == TEXT


def test_age_output_with_a_password(tmp_path: Path, store: str) -> None:
    weak = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--format",
        "age",
        "--password-env",
        "PW",
        "-o",
        "w.age",
        PW="password1",
    )
    assert weak.returncode != 0
    assert not (tmp_path / "w.age").exists()
    done = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--format",
        "age",
        "--password-env",
        "PW",
        "-o",
        "p.age",
        PW=PW,
    )
    assert done.returncode == 0, done.stderr
    assert b"\n-> scrypt " in (tmp_path / "p.age").read_bytes()
    opened = run(
        tmp_path, "open", "p.age", "--password-env", "PW", "-o", "out", passphrase=None, PW=PW
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out").read_bytes() == TEXT
    wrong = run(
        tmp_path,
        "open",
        "p.age",
        "--password-env",
        "PW",
        "-o",
        "no",
        passphrase=None,
        PW=PW + "x",
    )
    assert wrong.returncode == 1
    assert b"cannot open this document" in wrong.stderr
    both = run(
        tmp_path,
        "deliver",
        store,
        DOC,
        "--format",
        "age",
        "--password-env",
        "PW",
        "--recipient",
        _new_pq(tmp_path, "k"),
        "-o",
        "b.age",
        PW=PW,
    )
    assert both.returncode == 2
    assert b"not both" in both.stderr


@pytest.mark.parametrize(
    ("recipient", "problem"),
    [
        ("age1pq1qqqq", "too short"),
        ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwx", "checksum"),
        ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73eqqnuj", "checksum"),
        ("age1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnryu6xr", "holds 32 bytes, this one 20"),
        (
            "age1pq1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqfqj7ru",
            "holds 1216 bytes, this one 32",
        ),
        (
            "AGE1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
            "starts with 'x25519:' or age1",
        ),
        ("age1Zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "mixes upper"),
    ],
)
def test_bad_recipient_strings_name_the_problem(
    tmp_path: Path, store: str, recipient: str, problem: str
) -> None:
    done = run(tmp_path, "deliver", store, DOC, "--recipient", recipient, "-o", "x.sdoc")
    assert done.returncode != 0
    assert problem.encode() in done.stderr, done.stderr
    assert b"Traceback" not in done.stderr
