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


def _fill(src: BinaryIO, buf: bytearray) -> int:
    """Read into ``buf`` until it is full or ``src`` ends; the bytes read."""
    view = memoryview(buf)
    got = 0
    readinto = getattr(src, "readinto", None)
    while got < len(buf):
        if readinto is not None:
            n = readinto(view[got:])
        else:
            part = src.read(len(buf) - got)
            n = len(part) if part else 0
            view[got : got + n] = part or b""
        if not n:
            break
        got += n
    return got


def encrypt(src: BinaryIO, dst: BinaryIO, file_key: bytes) -> int:
    """Write the payload of ``src``'s plaintext; the bytes written.

    Two plaintext buffers (the chunk and the one read ahead, to know which
    chunk is the last) and one ciphertext buffer, reused for every chunk.
    """
    nonce = os.urandom(NONCE_LEN)
    aead = _aead(file_key, nonce)
    dst.write(nonce)
    written = NONCE_LEN
    counter = 0
    chunk, ahead = bytearray(CHUNK), bytearray(CHUNK)
    sealed = bytearray(CHUNK + TAG)
    size = _fill(src, chunk)
    while True:
        next_size = _fill(src, ahead) if size == CHUNK else 0
        last = next_size == 0
        out = memoryview(sealed)[: size + TAG]
        aead.encrypt_into(_nonce(counter, last), memoryview(chunk)[:size], None, out)
        dst.write(out)
        written += size + TAG
        if last:
            return written
        chunk, ahead, size, counter = ahead, chunk, next_size, counter + 1


def decrypt(src: BinaryIO, dst: BinaryIO, file_key: bytes) -> int:
    """Write the plaintext of the payload at ``src``; the bytes written.

    Each chunk is authenticated before it is written, as the reference
    implementation reads: a short chunk is the last; a full one is tried as
    a middle chunk, then as the last. A cut, extended or altered payload
    raises DecryptionError after the chunks before it were written. One
    ciphertext and one plaintext buffer are reused for every chunk.
    """
    nonce = _read(src, NONCE_LEN)
    if len(nonce) != NONCE_LEN:
        raise FormatError("age file: cut short before the payload's nonce")
    aead = _aead(file_key, nonce)
    written = counter = 0
    sealed, plain = bytearray(CHUNK + TAG), bytearray(CHUNK)
    while True:
        size = _fill(src, sealed)
        last = size < CHUNK + TAG
        if size < TAG or (last and size == TAG and counter > 0):
            # no final chunk, or an empty final chunk after a full one
            raise DecryptionError("cannot open this age file: its payload is cut short")
        chunk, out = memoryview(sealed)[:size], memoryview(plain)[: size - TAG]
        opened = _open_chunk(aead, counter, chunk, last, out)
        if not opened and not last:
            last = True
            opened = _open_chunk(aead, counter, chunk, last, out)
        if not opened:
            raise DecryptionError("cannot open this age file: its payload is altered")
        dst.write(out)
        written += size - TAG
        if last:
            if src.read(1):
                raise DecryptionError("cannot open this age file: data after its last chunk")
            return written
        counter += 1


def _open_chunk(
    aead: ChaCha20Poly1305, counter: int, chunk: memoryview, last: bool, out: memoryview
) -> bool:
    try:
        aead.decrypt_into(_nonce(counter, last), chunk, None, out)
    except InvalidTag:
        return False
    return True
