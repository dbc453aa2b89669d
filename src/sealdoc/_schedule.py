"""Key schedule, key commitment, header digest and header MAC (format.md 3.5-5)."""

from __future__ import annotations

import struct
from typing import NamedTuple

from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._format import MAGIC, VERSION, Suite

_KEYS_INFO = b"sealdoc-v1-keys"
_SHA256 = hashes.SHA256()  # a stateless algorithm descriptor, safe to share
_CORE_LABEL = b"sealdoc-v1-core"


class DocumentKeys(NamedTuple):
    """The three keys derived from one DEK. Never printed."""

    payload_key: bytes
    commitment: bytes
    mac_key: bytes

    def __repr__(self) -> str:
        return "DocumentKeys(<secret>)"


# derived once, not per document: the HKDF info of each suite, the digest's fixed prefix
_INFO = {suite: _KEYS_INFO + struct.pack(">H", suite) for suite in Suite}
_DIGEST_PREFIX = _CORE_LABEL + MAGIC + bytes([VERSION])


def derive(dek: bytes, salt: bytes, suite: Suite) -> DocumentKeys:
    okm = HKDF(algorithm=_SHA256, length=96, salt=salt, info=_INFO[suite]).derive(dek)
    return DocumentKeys(payload_key=okm[:32], commitment=okm[32:64], mac_key=okm[64:])


def header_digest(core_bytes: bytes, binding_block: bytes) -> bytes:
    h = hashes.Hash(_SHA256)
    h.update(_DIGEST_PREFIX)
    h.update(core_bytes)
    h.update(binding_block)
    return h.finalize()


def header_mac(mac_key: bytes, digest: bytes, unsigned_header: bytes) -> bytes:
    h = hmac.HMAC(mac_key, _SHA256)
    h.update(digest)
    h.update(unsigned_header)
    return h.finalize()


def same(a: bytes, b: bytes) -> bool:
    """Constant-time comparison for commitments and MACs."""
    return constant_time.bytes_eq(a, b)
