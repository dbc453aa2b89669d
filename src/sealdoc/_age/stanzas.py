"""age's native recipient stanzas: X25519, MLKEM768-X25519 (hybrid) and scrypt.

Wrapping makes a :class:`~.header.Stanza` for a 16-byte file key. Unwrapping
returns the file key, ``None`` for a stanza that is not this identity's
("no match"), or raises FormatError for a stanza of its type that the spec
says to reject (argument count, canonical base64, lengths), which is a
header failure whoever holds the key.
"""

from __future__ import annotations

import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..exceptions import FormatError
from . import b64
from .header import Stanza

FILE_KEY_LEN = 16
_BODY_LEN = FILE_KEY_LEN + 16
_ZERO_NONCE = bytes(12)
_X25519_INFO = b"age-encryption.org/v1/X25519"
HYBRID_INFO = b"age-encryption.org/mlkem768x25519"
HYBRID_ENC_LEN = 1120
_HYBRID_SUITE = Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
_SCRYPT_SALT = b"age-encryption.org/v1/scrypt"
_WORK_FACTOR = re.compile(r"[1-9][0-9]{0,2}\Z")
#: scrypt work factors (log2 N) written and read: 2^20 at r=8 takes
#: 1 GiB of memory and seconds of CPU (37 s on a loaded 2-core VM); the TypeScript age refuses more.
MAX_WORK_FACTOR = 20
DEFAULT_WORK_FACTOR = 18  # age's own default
_RAW = serialization.Encoding.Raw
_PROBE = x25519.X25519PrivateKey.generate()
_RAW_PUBLIC = serialization.PublicFormat.Raw


def _arg(stanza: Stanza, index: int, length: int, what: str) -> bytes:
    try:
        raw = b64.decode(stanza.args[index].encode("ascii"), what)
    except ValueError as exc:
        raise FormatError(f"age {stanza.args[0]} stanza: {exc}") from None
    if len(raw) != length:
        raise FormatError(f"age {stanza.args[0]} stanza: {what} is not {length} bytes")
    return raw


def _shape(stanza: Stanza, args: int) -> None:
    if len(stanza.args) != args:
        raise FormatError(f"age {stanza.args[0]} stanza: {args - 1} argument(s) expected")
    if len(stanza.body) != _BODY_LEN:
        raise FormatError(f"age {stanza.args[0]} stanza: the body is not {_BODY_LEN} bytes")


def _seal(key: bytes, file_key: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)


def _open(key: bytes, body: bytes) -> bytes | None:
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None


# -- X25519 -------------------------------------------------------------------------


def _x25519_key(shared: bytes, share: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=share + recipient, info=_X25519_INFO).derive(shared)


def wrap_x25519(recipient: bytes, file_key: bytes) -> Stanza:
    ephemeral = x25519.X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes(_RAW, _RAW_PUBLIC)
    shared = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(recipient))
    body = _seal(_x25519_key(shared, share, recipient), file_key)
    return Stanza(("X25519", b64.encode(share).decode("ascii")), body)


def unwrap_x25519(identity: x25519.X25519PrivateKey, stanza: Stanza) -> bytes | None:
    if stanza.args[0] != "X25519":
        return None
    _shape(stanza, 2)
    share = _arg(stanza, 1, 32, "the ephemeral share")
    try:
        shared = identity.exchange(x25519.X25519PublicKey.from_public_bytes(share))
    except ValueError:  # cryptography refuses an all-zero (low-order) result
        raise FormatError("age X25519 stanza: a low-order ephemeral share") from None
    if shared == bytes(32):
        raise FormatError("age X25519 stanza: a low-order ephemeral share")
    recipient = identity.public_key().public_bytes(_RAW, _RAW_PUBLIC)
    return _open(_x25519_key(shared, share, recipient), stanza.body)


# -- MLKEM768-X25519 ----------------------------------------------------------------


def wrap_hybrid(public_key: MLKEM768X25519PublicKey, file_key: bytes) -> Stanza:
    sealed = _HYBRID_SUITE.encrypt(file_key, public_key, info=HYBRID_INFO)
    enc, body = sealed[:HYBRID_ENC_LEN], sealed[HYBRID_ENC_LEN:]
    return Stanza(("mlkem768x25519", b64.encode(enc).decode("ascii")), body)


def unwrap_hybrid(private_key: MLKEM768X25519PrivateKey, stanza: Stanza) -> bytes | None:
    if stanza.args[0] != "mlkem768x25519":
        return None
    _shape(stanza, 2)
    enc = _arg(stanza, 1, HYBRID_ENC_LEN, "the encapsulated key")
    try:
        # every clamped scalar sends a low-order point to zero, so any key
        # tells whether the X25519 share is one: a header failure, not a miss
        _PROBE.exchange(x25519.X25519PublicKey.from_public_bytes(enc[-32:]))
    except ValueError:
        raise FormatError("age mlkem768x25519 stanza: a low-order X25519 share") from None
    try:
        return _HYBRID_SUITE.decrypt(enc + stanza.body, private_key, info=HYBRID_INFO)
    except (InvalidTag, ValueError):
        return None


# -- scrypt ---------------------------------------------------------------------------


def _scrypt_key(passphrase: str, salt: bytes, work_factor: int) -> bytes:
    kdf = Scrypt(salt=_SCRYPT_SALT + salt, length=32, n=1 << work_factor, r=8, p=1)
    return kdf.derive(passphrase.encode("utf-8"))


def check_work_factor(work_factor: int) -> int:
    if not isinstance(work_factor, int) or not 1 <= work_factor <= MAX_WORK_FACTOR:
        raise ValueError(f"an scrypt work factor is 1 to {MAX_WORK_FACTOR} (log2 N)")
    return work_factor


def wrap_scrypt(passphrase: str, file_key: bytes, work_factor: int) -> Stanza:
    salt = os.urandom(16)
    key = _scrypt_key(passphrase, salt, check_work_factor(work_factor))
    return Stanza(
        ("scrypt", b64.encode(salt).decode("ascii"), str(work_factor)), _seal(key, file_key)
    )


def scrypt_work_factor(stanza: Stanza, limit: int) -> int:
    """The stanza's work factor, checked before any scrypt runs; FormatError over ``limit``."""
    _shape(stanza, 3)
    if not _WORK_FACTOR.match(stanza.args[2]):
        raise FormatError("age scrypt stanza: the work factor is not a plain decimal number")
    work_factor = int(stanza.args[2])
    if work_factor > limit:
        raise FormatError(
            f"age scrypt stanza: work factor {work_factor} is over the limit of {limit} "
            f"(2^{work_factor} would take too long and too much memory)"
        )
    return work_factor


def unwrap_scrypt(passphrase: str, stanza: Stanza, limit: int) -> bytes | None:
    if stanza.args[0] != "scrypt":
        return None
    work_factor = scrypt_work_factor(stanza, limit)
    salt = _arg(stanza, 1, 16, "the salt")
    return _open(_scrypt_key(passphrase, salt, work_factor), stanza.body)
