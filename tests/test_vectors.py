"""The vectors in tests/vectors/, against sealdoc and against the independent decoder."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sealdoc
from sealdoc.providers import KeyProvider, MemoryKeyring, Password, X25519Identity

from .independent_decoder import CannotOpenError, Kek, MalformedError, decode

ROOT = Path(__file__).resolve().parent.parent
VECTORS = sorted((ROOT / "tests" / "vectors").glob("*.json"))
EXPECTED_KINDS = {"success", "format", "decryption"}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_there_are_vectors_of_every_kind() -> None:
    kinds = {load(p)["expect"] for p in VECTORS}
    assert kinds == EXPECTED_KINDS
    assert len(VECTORS) >= 30


def test_vectors_match_the_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def provider(entry: dict[str, Any]) -> KeyProvider:
    """The sealdoc provider a vector's key entry describes."""
    if entry["kind"] == "password":
        return Password(entry["password"])
    if entry["kind"] == "x25519":
        return X25519Identity.from_private_bytes(bytes.fromhex(entry["private_key"]))
    return MemoryKeyring._from_secret(
        bytes.fromhex(entry["kek"]), key_id=entry["key_id"], version=entry["version"]
    )


def kek(entry: dict[str, Any]) -> Kek:
    """The independent decoder's view of the same entry."""
    if entry["kind"] == "password":
        secret = entry["password"].encode()
    elif entry["kind"] == "x25519":
        secret = bytes.fromhex(entry["private_key"])
    else:
        secret = bytes.fromhex(entry["kek"])
    return Kek(entry["kind"], entry["key_id"], entry["version"], secret)


def test_there_are_vectors_for_every_built_in_wrap() -> None:
    kinds = {k["kind"] for p in VECTORS for k in load(p)["keys"]}
    assert kinds == {"memory", "password", "x25519"}


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_sealdoc_agrees(path: Path) -> None:
    v = load(path)
    keys = [provider(k) for k in v["keys"]]
    sealed = base64.b64decode(v["sealed"])
    kwargs = {"keys": keys, "context": v["context"], "binding": v["binding"]}
    if v["expect"] == "success":
        assert sealdoc.open(sealed, **kwargs) == base64.b64decode(v["plaintext"])
    elif v["expect"] == "format":
        with pytest.raises(sealdoc.FormatError):
            sealdoc.open(sealed, **kwargs)
    else:
        with pytest.raises(sealdoc.DecryptionError):
            sealdoc.open(sealed, **kwargs)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_independent_decoder_agrees(path: Path) -> None:
    v = load(path)
    keks = [kek(k) for k in v["keys"]]
    sealed = base64.b64decode(v["sealed"])
    outcome: str
    try:
        plaintext = decode(sealed, keks, v["context"], v["binding"])
        outcome = "success"
    except MalformedError:
        outcome = "format"
    except CannotOpenError:
        outcome = "decryption"
    assert outcome == v["expect"]
    if outcome == "success":
        assert plaintext == base64.b64decode(v["plaintext"])


def test_independent_decoder_imports_nothing_from_sealdoc() -> None:
    source = (ROOT / "tests" / "independent_decoder.py").read_text()
    assert "sealdoc" not in source.replace("sealdoc-v1", "").split('"""', 2)[2]
