"""Harness: ``LocalKeyring.load``, on a keyring file's bytes.

Two kinds of input, chosen by the first byte:

* raw: the bytes are the whole file (its JSON envelope is untrusted);
* inner (first byte 0): the bytes are the plaintext inside the envelope,
  which the harness encrypts properly, so the fuzzer reaches the parser of
  the key entries behind the AEAD.

Argon2id is replaced by a hash here, and only here: at its floor (8 MiB)
it would make every execution slow, and it is not a parser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile

from _common import atheris, main

with atheris.instrument_imports(include=["sealdoc"]):
    from sealdoc.providers import LocalKeyring, _local, _local_format

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _fast_kdf(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return hashlib.sha256(passphrase + salt + f"{opslimit}:{memlimit}".encode()).digest()


_local._kdf = _fast_kdf
PASSPHRASE = "fuzzing passphrase"
FOLDER = tempfile.mkdtemp(prefix="sealdoc-fuzz-keyring-")
PATH = os.path.join(FOLDER, "keyring.json")


def envelope(inner: bytes) -> bytes:
    """A well-formed keyring file around ``inner`` (as LocalKeyring writes it)."""
    salt, nonce = bytes(16), bytes(12)
    kdf = {
        "name": "argon2id",
        "salt": base64.b64encode(salt).decode(),
        "opslimit": 2,
        "memlimit": 8 * 1024 * 1024,
    }
    key = _fast_kdf(PASSPHRASE.encode(), salt, 2, 8 * 1024 * 1024)
    sealed = AESGCM(key).encrypt(nonce, inner, _local_format.kdf_aad(kdf))
    outer = {
        "format": _local_format.FORMAT_NAME,
        "version": _local_format.FORMAT_VERSION,
        "kdf": kdf,
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(outer).encode()


def test(data: bytes) -> None:
    raw = envelope(data[1:]) if data[:1] == b"\x00" else data
    with open(PATH, "wb") as fh:
        fh.write(raw)
    ring = LocalKeyring.load(PATH, passphrase=PASSPHRASE)
    repr(ring)


if __name__ == "__main__":
    main(test)
