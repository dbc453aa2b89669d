"""age files against independent implementations: Debian's age 1.1.1 and npm age-encryption 0.3.1.

Both directions, identities generated on each side: sealdoc's output opens
in the other tool, and sealdoc opens the other tool's output. The tools are
real (tests/age_tools.py installs the TypeScript age; the age binary comes
from scripts/system-packages.sh).
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

import sealdoc
from sealdoc._age.armor import ArmorReader
from sealdoc.providers import HybridIdentity, X25519Identity

from .age_tools import age_binary, age_with_tty, node_age, node_age_dir, node_keygen

PASSPHRASE = "quartz-lantern-mosaic-ridge-81"
DATA = os.urandom(3 * 64 * 1024 + 123)  # several chunks, the last partial


@pytest.fixture(scope="module")
def node_dir() -> Path:
    return node_age_dir()


def _age(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([age_binary(), *args], capture_output=True, timeout=60, check=False)


# -- Debian's age 1.1.1: X25519 and scrypt ------------------------------------------------


def test_the_age_binary_is_the_independent_one() -> None:
    assert _age("--version").stdout.startswith(b"1.1")


@pytest.mark.parametrize("armor", [False, True])
def test_age_binary_opens_sealdoc_x25519(tmp_path: Path, armor: bool) -> None:
    made = _age_keygen(tmp_path)
    identity, recipient = made
    (tmp_path / "f.age").write_bytes(sealdoc.export_age(DATA, to=[recipient], armor=armor))
    done = _age("-d", "-i", str(identity), "-o", str(tmp_path / "out"), str(tmp_path / "f.age"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == DATA


@pytest.mark.parametrize("armor", [False, True])
def test_sealdoc_opens_age_binary_x25519(tmp_path: Path, armor: bool) -> None:
    identity, recipient = _age_keygen(tmp_path)
    (tmp_path / "in").write_bytes(DATA)
    flags = ["-a"] if armor else []
    done = _age("-e", "-r", recipient, *flags, "-o", str(tmp_path / "f.age"), str(tmp_path / "in"))
    assert done.returncode == 0, done.stderr
    keys = [X25519Identity.load(identity)]  # age-keygen's file as it is
    assert sealdoc.open_age((tmp_path / "f.age").read_bytes(), keys=keys) == DATA
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open_age((tmp_path / "f.age").read_bytes(), keys=[X25519Identity.generate()])


def test_age_binary_opens_a_sealdoc_identity(tmp_path: Path) -> None:
    """An identity sealdoc made, written as age's key string, works in age -d."""
    mine = X25519Identity.generate()
    (tmp_path / "id").write_text(mine.to_age_string() + "\n")
    (tmp_path / "f.age").write_bytes(sealdoc.export_age(DATA, to=[mine.to_recipient()]))
    done = _age("-d", "-i", str(tmp_path / "id"), str(tmp_path / "f.age"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == DATA


def test_age_binary_and_sealdoc_scrypt_both_ways(tmp_path: Path) -> None:
    (tmp_path / "a.age").write_bytes(
        sealdoc.export_age(DATA, passphrase=PASSPHRASE, work_factor=16)
    )
    status, _ = age_with_tty(
        ["-d", "-o", str(tmp_path / "a.out"), str(tmp_path / "a.age")], PASSPHRASE
    )
    assert status == 0
    assert (tmp_path / "a.out").read_bytes() == DATA
    (tmp_path / "in").write_bytes(DATA)
    status, _ = age_with_tty(
        ["-p", "-o", str(tmp_path / "b.age"), str(tmp_path / "in")], PASSPHRASE
    )
    assert status == 0
    made = (tmp_path / "b.age").read_bytes()
    assert b"-> scrypt " in made
    assert sealdoc.open_age(made, passphrase=PASSPHRASE) == DATA
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open_age(made, passphrase=PASSPHRASE + "!")


def _age_keygen(tmp_path: Path) -> tuple[Path, str]:
    identity = tmp_path / "age.key"
    done = subprocess.run(
        ["age-keygen", "-o", str(identity)], capture_output=True, timeout=30, check=True
    )
    recipient = done.stderr.decode().split("Public key: ")[1].strip()
    return identity, recipient


# -- npm age-encryption 0.3.1: hybrid post-quantum, X25519 and scrypt --------------------------


@pytest.mark.parametrize("kind", ["pq", "x25519"])
@pytest.mark.parametrize("armor", [False, True])
def test_typescript_age_opens_sealdoc_output(
    tmp_path: Path, node_dir: Path, kind: str, armor: bool
) -> None:
    identity, recipient = node_keygen(node_dir, kind)
    assert recipient.startswith("age1pq1" if kind == "pq" else "age1")
    (tmp_path / "f.age").write_bytes(sealdoc.export_age(DATA, to=[recipient], armor=armor))
    done = node_age(
        node_dir,
        "decrypt",
        str(tmp_path / "f.age"),
        str(tmp_path / "out"),
        "--identity",
        AGE_TOOL_IDENTITY=identity,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == DATA


@pytest.mark.parametrize("kind", ["pq", "x25519"])
@pytest.mark.parametrize("armor", [False, True])
def test_sealdoc_opens_typescript_age_output(
    tmp_path: Path, node_dir: Path, kind: str, armor: bool
) -> None:
    mine = HybridIdentity.generate() if kind == "pq" else X25519Identity.generate()
    recipient = mine.recipient if kind == "pq" else mine.age_recipient  # type: ignore[union-attr]
    (tmp_path / "in").write_bytes(DATA)
    flags = ["--armor"] if armor else []
    done = node_age(
        node_dir,
        "encrypt",
        str(tmp_path / "in"),
        str(tmp_path / "f.age"),
        "--recipient",
        recipient,
        *flags,
    )
    assert done.returncode == 0, done.stderr
    made = (tmp_path / "f.age").read_bytes()
    stanza = b"-> mlkem768x25519 " if kind == "pq" else b"-> X25519 "
    binary = ArmorReader(io.BytesIO(made)).read() if armor else made
    assert stanza in binary
    assert sealdoc.open_age(made, keys=[mine]) == DATA


def test_typescript_age_identity_file_opens_sealdoc_copies(tmp_path: Path, node_dir: Path) -> None:
    """A TypeScript-age hybrid identity opens a sealdoc copy and an age file from sealdoc."""
    identity, recipient = node_keygen(node_dir, "pq")
    (tmp_path / "id").write_text(f"# from age-encryption\n{identity}\n")
    loaded = HybridIdentity.load(tmp_path / "id")
    assert loaded.recipient == recipient  # the same key derivation on both sides
    sealed = sealdoc.seal(DATA, keys=[recipient])
    assert sealdoc.open(sealed, keys=[loaded]) == DATA


def test_typescript_age_and_sealdoc_scrypt_both_ways(tmp_path: Path, node_dir: Path) -> None:
    (tmp_path / "a.age").write_bytes(
        sealdoc.export_age(DATA, passphrase=PASSPHRASE, work_factor=16)
    )
    done = node_age(
        node_dir,
        "decrypt",
        str(tmp_path / "a.age"),
        str(tmp_path / "a.out"),
        "--passphrase",
        AGE_TOOL_PASSPHRASE=PASSPHRASE,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.out").read_bytes() == DATA
    (tmp_path / "in").write_bytes(DATA)
    done = node_age(
        node_dir,
        "encrypt",
        str(tmp_path / "in"),
        str(tmp_path / "b.age"),
        "--passphrase",
        "--work-factor",
        "16",
        AGE_TOOL_PASSPHRASE=PASSPHRASE,
    )
    assert done.returncode == 0, done.stderr
    assert sealdoc.open_age((tmp_path / "b.age").read_bytes(), passphrase=PASSPHRASE) == DATA


def test_typescript_age_reads_a_sealdoc_hybrid_identity(tmp_path: Path, node_dir: Path) -> None:
    """`sealdoc identity new --pq`'s key string is an age identity to the TypeScript age."""
    mine = HybridIdentity.generate()
    mine.save(tmp_path / "id")
    key_line = (tmp_path / "id").read_text().splitlines()[-1]
    (tmp_path / "f.age").write_bytes(sealdoc.export_age(DATA, to=[mine.recipient]))
    done = node_age(
        node_dir,
        "decrypt",
        str(tmp_path / "f.age"),
        str(tmp_path / "out"),
        "--identity",
        AGE_TOOL_IDENTITY=key_line,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == DATA
