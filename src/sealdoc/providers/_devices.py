"""Device identity files of every kind, read by one function (the CLI's --identity)."""

from __future__ import annotations

import os
from pathlib import Path

from .._format import MAGIC
from ..exceptions import DecryptionError, FormatError
from ._hybrid import HybridIdentity, load_identity_text
from ._x25519 import X25519Identity

DeviceIdentity = X25519Identity | HybridIdentity


def load_identities(
    path: str | os.PathLike[str], *, passphrase: str | None = None
) -> list[DeviceIdentity]:
    """Every identity in ``path``: a sealdoc X25519 file, or an age identity file.

    An age file may hold several keys, X25519 (``AGE-SECRET-KEY-1``) and
    hybrid (``AGE-SECRET-KEY-PQ-1``); comments and blank lines are skipped.
    """
    data = Path(path).read_bytes()
    if data.startswith(MAGIC):
        try:
            text = load_identity_text(path, passphrase=passphrase)
        except DecryptionError:
            # not a hybrid file (its context differs, refused before any KDF),
            # or the wrong passphrase, which the X25519 reader says again
            return [X25519Identity.load(path, passphrase=passphrase)]
    else:
        text = data.decode("ascii", "replace")
    found: list[DeviceIdentity] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            found.append(_identity(line, path))
        except ValueError as exc:
            # the line is a private key: only its number is named
            raise FormatError(f"{os.fspath(path)}, line {number}: {exc}") from None
    if not found:
        raise FormatError(f"{os.fspath(path)} holds no identity")
    return found


def _identity(line: str, path: str | os.PathLike[str]) -> DeviceIdentity:
    if line.startswith("AGE-SECRET-KEY-PQ-1"):
        return HybridIdentity.from_string(line)
    if line.startswith("AGE-SECRET-KEY-1"):
        return X25519Identity.from_age_string(line)
    if line.startswith("SEALDOC-X25519-IDENTITY:"):
        return X25519Identity.load(path)
    raise ValueError("not an identity line")
