"""Key schedule, key commitment, header digest and header MAC (format.md 3.5-5)."""

from __future__ import annotations

import hashlib
import hmac
import struct

import attrs
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._format import MAGIC, VERSION, Suite

_KEYS_INFO = b"sealdoc-v1-keys"
_CORE_LABEL = b"sealdoc-v1-core"


@attrs.frozen(repr=False)
class DocumentKeys:
    """The three keys derived from one DEK. Never printed."""

    payload_key: bytes
    commitment: bytes
    mac_key: bytes

    def __repr__(self) -> str:
        return "DocumentKeys(<secret>)"


def derive(dek: bytes, salt: bytes, suite: Suite) -> DocumentKeys:
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=96,
        salt=salt,
        info=_KEYS_INFO + struct.pack(">H", suite),
    ).derive(dek)
    return DocumentKeys(payload_key=okm[:32], commitment=okm[32:64], mac_key=okm[64:])


def header_digest(core_bytes: bytes, binding_block: bytes) -> bytes:
    return hashlib.sha256(
        _CORE_LABEL + MAGIC + bytes([VERSION]) + core_bytes + binding_block
    ).digest()


def header_mac(mac_key: bytes, digest: bytes, unsigned_header: bytes) -> bytes:
    return hmac.new(mac_key, digest + unsigned_header, hashlib.sha256).digest()


def same(a: bytes, b: bytes) -> bool:
    """Constant-time comparison for commitments and MACs."""
    return hmac.compare_digest(a, b)
