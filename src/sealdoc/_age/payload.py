"""age's payload: ChaCha20-Poly1305 STREAM in 64 KiB chunks (C2SP age, "Payload").

Both directions hold one chunk and one read-ahead chunk, whatever the size.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..exceptions import DecryptionError, FormatError

CHUNK = 64 * 1024
TAG = 16
NONCE_LEN = 16
_LAST = b"\x01"


def _aead(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    key = HKDF(hashes.SHA256(), 32, salt=nonce, info=b"payload").derive(file_key)
    return ChaCha20Poly1305(key)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (_LAST if last else b"\x00")


def _read(src: BinaryIO, n: int) -> bytes:
    """Exactly ``n`` bytes, or fewer at the end of ``src`` (pipes return short reads)."""
    parts = []
    while n:
        part = src.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def encrypt(src: BinaryIO, dst: BinaryIO, file_key: bytes) -> int:
    """Write the payload of ``src``'s plaintext; the bytes written."""
    nonce = os.urandom(NONCE_LEN)
    aead = _aead(file_key, nonce)
    dst.write(nonce)
    written = NONCE_LEN
    counter = 0
    chunk = _read(src, CHUNK)
    while True:
        ahead = _read(src, CHUNK) if len(chunk) == CHUNK else b""
        last = not ahead
        sealed = aead.encrypt(_nonce(counter, last), chunk, None)
        dst.write(sealed)
        written += len(sealed)
        if last:
            return written
        chunk, counter = ahead, counter + 1


def decrypt(src: BinaryIO, dst: BinaryIO, file_key: bytes) -> int:
    """Write the plaintext of the payload at ``src``; the bytes written.

    Each chunk is authenticated before it is written, as the reference
    implementation reads: a short chunk is the last; a full one is tried as
    a middle chunk, then as the last. A cut, extended or altered payload
    raises DecryptionError after the chunks before it were written.
    """
    nonce = _read(src, NONCE_LEN)
    if len(nonce) != NONCE_LEN:
        raise FormatError("age file: cut short before the payload's nonce")
    aead = _aead(file_key, nonce)
    written = counter = 0
    while True:
        chunk = _read(src, CHUNK + TAG)
        last = len(chunk) < CHUNK + TAG
        if len(chunk) < TAG or (last and len(chunk) == TAG and counter > 0):
            # no final chunk, or an empty final chunk after a full one
            raise DecryptionError("cannot open this age file: its payload is cut short")
        plain = _open_chunk(aead, counter, chunk, last)
        if plain is None and not last:
            last = True
            plain = _open_chunk(aead, counter, chunk, last)
        if plain is None:
            raise DecryptionError("cannot open this age file: its payload is altered")
        dst.write(plain)
        written += len(plain)
        if last:
            if src.read(1):
                raise DecryptionError("cannot open this age file: data after its last chunk")
            return written
        counter += 1


def _open_chunk(aead: ChaCha20Poly1305, counter: int, chunk: bytes, last: bool) -> bytes | None:
    try:
        return aead.decrypt(_nonce(counter, last), chunk, None)
    except InvalidTag:
        return None
