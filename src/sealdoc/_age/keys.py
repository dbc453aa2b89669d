"""age's key strings (C2SP age, "Native recipient types"), and the hybrid keys behind them.

``age1...`` is an X25519 recipient (32 bytes), ``age1pq1...`` a hybrid
MLKEM768-X25519 recipient (the ML-KEM-768 encapsulation key, 1,184 bytes,
then the X25519 public key, 32 bytes); ``AGE-SECRET-KEY-1...`` and
``AGE-SECRET-KEY-PQ-1...`` are their identities, each a 32-byte seed.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.hpke import MLKEM768X25519PrivateKey, MLKEM768X25519PublicKey

from . import bech32

X25519 = "x25519"
HYBRID = "mlkem768x25519"
_RECIPIENT_HRP = {"age": X25519, "age1pq": HYBRID}
_IDENTITY_HRP = {"age-secret-key-": X25519, "age-secret-key-pq-": HYBRID}
_HRP_OF_RECIPIENT = {kind: hrp for hrp, kind in _RECIPIENT_HRP.items()}
_HRP_OF_IDENTITY = {kind: hrp for hrp, kind in _IDENTITY_HRP.items()}
MLKEM_PUBLIC_LEN = 1184
PUBLIC_LEN = {X25519: 32, HYBRID: MLKEM_PUBLIC_LEN + 32}
SEED_LEN = 32
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw


def parse_recipient(text: str) -> tuple[str, bytes]:
    """(kind, public key bytes) of an ``age1...`` or ``age1pq1...`` string."""
    try:
        hrp, data = bech32.decode(text.strip())
    except ValueError as exc:
        raise ValueError(f"not an age recipient: {exc}") from None
    kind = _RECIPIENT_HRP.get(hrp)
    if kind is None or text.strip() != text.strip().lower():
        raise ValueError(f"not an age recipient (prefix {hrp!r}; expected age1 or age1pq1)")
    if len(data) != PUBLIC_LEN[kind]:
        raise ValueError(
            f"an age {kind} recipient holds {PUBLIC_LEN[kind]} bytes, this one {len(data)}"
        )
    return kind, data


def parse_identity(text: str) -> tuple[str, bytes]:
    """(kind, 32-byte seed) of an ``AGE-SECRET-KEY-1...`` or ``AGE-SECRET-KEY-PQ-1...`` string.

    Error text never repeats the string: it is a private key.
    """
    stripped = text.strip()
    try:
        hrp, data = bech32.decode(stripped)
    except ValueError as exc:
        raise ValueError(f"not an age identity: {exc}") from None
    kind = _IDENTITY_HRP.get(hrp)
    if kind is None or stripped != stripped.upper():
        raise ValueError("not an age identity (expected AGE-SECRET-KEY-1 or AGE-SECRET-KEY-PQ-1)")
    if len(data) != SEED_LEN:
        raise ValueError(f"an age identity holds {SEED_LEN} bytes, this one {len(data)}")
    return kind, data


def format_recipient(kind: str, public: bytes) -> str:
    return bech32.encode(_HRP_OF_RECIPIENT[kind], public)


def format_identity(kind: str, seed: bytes) -> str:
    return bech32.encode(_HRP_OF_IDENTITY[kind], seed).upper()


def hybrid_private(seed: bytes) -> tuple[MLKEM768X25519PrivateKey, bytes]:
    """The HPKE private key and the recipient bytes of a hybrid identity's seed.

    MLKEM768-X25519's key derivation (draft-ietf-hpke-pq, filippo.io/hpke-pq):
    SHAKE256(seed, 96) gives the ML-KEM-768 seed (d || z, 64 bytes) and
    the X25519 private key (32 bytes).
    """
    if len(seed) != SEED_LEN:
        raise ValueError(f"a hybrid identity seed is {SEED_LEN} bytes")
    expanded = hashlib.shake_256(seed).digest(96)
    pq = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    classic = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    public = pq.public_key().public_bytes_raw() + classic.public_key().public_bytes(
        _RAW, _RAW_PUBLIC
    )
    return MLKEM768X25519PrivateKey(pq, classic), public


def hybrid_public(public: bytes) -> MLKEM768X25519PublicKey:
    """The HPKE public key of a recipient's 1,216 bytes; ValueError if they are not one."""
    if len(public) != PUBLIC_LEN[HYBRID]:
        raise ValueError(f"a hybrid recipient is {PUBLIC_LEN[HYBRID]} bytes")
    try:
        pq = mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM_PUBLIC_LEN])
    except ValueError:
        # FIPS 203's input check (every coefficient below q) failed; the
        # library's text would speak of the length, which is right
        raise ValueError("its ML-KEM-768 key is not a valid encapsulation key") from None
    classic = x25519.X25519PublicKey.from_public_bytes(public[MLKEM_PUBLIC_LEN:])
    return MLKEM768X25519PublicKey(pq, classic)


def x25519_public(seed: bytes) -> bytes:
    return (
        x25519.X25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(_RAW, _RAW_PUBLIC)
    )
