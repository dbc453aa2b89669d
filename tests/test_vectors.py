"""The vectors in tests/vectors/, against sealdoc and against the independent decoder."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sealdoc
from sealdoc.providers import (
    HybridIdentity,
    KdfBudget,
    KeyProvider,
    MemoryKeyring,
    Password,
    X25519Identity,
)
from sealdoc.providers._keyring import KeyringBase
from sealdoc.providers._keyring_model import KeyVersion, NamedKey

from . import decoder_mutants, independent_decoder

ROOT = Path(__file__).resolve().parent.parent
VECTORS = sorted((ROOT / "tests" / "vectors").glob("*.json"))
STAGES = {
    "header failure": sealdoc.FormatError,
    "open failure": sealdoc.DecryptionError,
    "payload failure": sealdoc.DecryptionError,
    "argument failure": ValueError,
}

# How sealdoc says each check of docs/vectors.md failed: FormatError's text,
# DecryptionError's ``reason``, the ValueError's text.
SEALDOC_SAYS = {
    "magic": r"^not a sealed document",
    "version": r"^unsupported format version",
    "truncated header": r"^truncated header",
    "header_len bounds": r"^header length \d+ is outside",
    "suite": r"^unknown suite",
    "flags": r"^unknown header flags",
    "segment size bounds": r"^segment size \d+ is outside",
    "map count bounds": r"^context has \d+ pairs",
    "map key length bounds": r"^context key length",
    "map value length bounds": r"^context value length",
    "map key order": r"^context keys are not unique and sorted",
    "map length": r"^context is longer than",
    "UTF-8": r"is not valid UTF-8$",
    "forbidden character": r" holds U\+[0-9A-F]{4,}, a forbidden character$",
    "key count bounds": r"^wrapped key count",
    "kind length bounds": r"^provider kind length",
    "kind pattern": r"^provider kind has characters",
    "key id length bounds": r"^key id length",
    "payload length bounds": r"^wrapped key payload length",
    "field overruns header": r"^header ends inside",
    "trailing header bytes": r"^trailing header bytes",
    "context mismatch": r"^context mismatch",
    "binding missing": r"^the document was sealed with a binding",
    "binding not required": r"^a binding was given",
    "no key unwraps": r"^no key provider could unwrap",
    "header MAC": r"^the header was altered",
    "body length": r"^the body (is missing|ends inside a segment)",
    "segment authentication": r"^segment \d+ failed authentication",
    "caller map": r"^(a )?(context|binding)",
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def stage_and_check(expect: str) -> tuple[str, str]:
    if expect == "success":
        return "success", ""
    stage, _, check = expect.partition(": ")
    assert stage in STAGES, expect
    assert check in SEALDOC_SAYS, expect
    return stage, check


def test_there_are_vectors_of_every_stage_and_check() -> None:
    seen = {stage_and_check(load(p)["expect"]) for p in VECTORS}
    assert {stage for stage, _ in seen} == {"success", *STAGES}
    assert {check for _, check in seen} - {""} == set(SEALDOC_SAYS)
    assert len(VECTORS) >= 100


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
        # the format's bounds, not a service's policy (docs/vectors.md)
        return Password(entry["password"], budget=KdfBudget.device())
    if entry["kind"] == "x25519":
        return X25519Identity.from_private_bytes(bytes.fromhex(entry["private_key"]))
    if entry["kind"] == "mlkem768x25519":
        return HybridIdentity(bytes.fromhex(entry["seed"]))
    if entry["kind"] == "local":
        return _Local(bytes.fromhex(entry["kek"]), entry["key_id"], entry["version"])
    return MemoryKeyring._from_secret(
        bytes.fromhex(entry["kek"]), key_id=entry["key_id"], version=entry["version"]
    )


class _Local(KeyringBase):
    """LocalKeyring's wrap and unwrap (KeyringBase, kind ``local``) without its file."""

    kind = "local"

    def __init__(self, secret: bytes, key_id: str, version: int) -> None:
        super().__init__({key_id: NamedKey(version, {version: KeyVersion(secret)})}, key_id=key_id)


def test_there_are_vectors_for_every_built_in_wrap() -> None:
    kinds = {k["kind"] for p in VECTORS for k in load(p)["keys"]}
    assert kinds == {"memory", "local", "password", "x25519", "mlkem768x25519"}


def _sealdoc_says(error: BaseException) -> str:
    if isinstance(error, sealdoc.DecryptionError):
        assert str(error) == "cannot open this document"  # format.md 9: nothing more
        return error.reason
    return str(error)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_sealdoc_agrees(path: Path) -> None:
    v = load(path)
    keys = [provider(k) for k in v["keys"]]
    sealed = base64.b64decode(v["sealed"])
    kwargs = {"keys": keys, "context": v["context"], "binding": v["binding"]}
    stage, check = stage_and_check(v["expect"])
    if stage == "success":
        assert sealdoc.open(sealed, **kwargs) == base64.b64decode(v["plaintext"])
        assert sealdoc.open_stream(io.BytesIO(sealed), **kwargs).read() == base64.b64decode(
            v["plaintext"]
        )
        return
    attempts: tuple[Callable[[], bytes], ...] = (
        lambda: sealdoc.open(sealed, **kwargs),
        lambda: sealdoc.open_stream(io.BytesIO(sealed), **kwargs).read(),
    )
    for attempt in attempts:
        with pytest.raises(STAGES[stage]) as info:
            attempt()
        assert not isinstance(info.value, sealdoc.KeyProviderError)
        said = _sealdoc_says(info.value)
        assert re.search(SEALDOC_SAYS[check], said), (check, said)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_independent_decoder_agrees(path: Path) -> None:
    v = load(path)
    said, plaintext = decoder_mutants.outcome(independent_decoder, v)
    assert said == v["expect"]
    if said == "success":
        assert plaintext == base64.b64decode(v["plaintext"])


def test_every_decoder_mutant_fails_a_vector() -> None:
    """Breaking any rule of the decoder fails a vector, but for rules no document shows."""
    alive = decoder_mutants.survivors()
    allowed = decoder_mutants.shown_by_no_document()
    unpinned = sorted(set(alive) - set(allowed))
    assert not unpinned, "rules no vector pins:\n" + "\n".join(unpinned)
    # and the list of what no document shows holds nothing a vector now pins
    assert set(alive) == set(allowed)


def test_a_mutant_that_skips_a_check_is_caught() -> None:
    """The mutation machinery itself: the mutant dropping the suite check fails a vector."""
    index = next(
        i
        for i in range(decoder_mutants.mutant_count())
        if decoder_mutants.mutant(i).id.startswith("_decode: drop `if suite not in (1, 2)")
    )
    broken = decoder_mutants.mutant(index).module()
    failing = [
        v["name"] for v in decoder_mutants.load_vectors() if not decoder_mutants.agrees(broken, v)
    ]
    assert "unknown_suite" in failing


def test_independent_decoder_imports_nothing_from_sealdoc() -> None:
    source = (ROOT / "tests" / "independent_decoder.py").read_text()
    assert "sealdoc" not in source.replace("sealdoc-v1", "").split('"""', 2)[2]
