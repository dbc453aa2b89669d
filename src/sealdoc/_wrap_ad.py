"""The wrap associated data of format.md 8.1, shared by every sealdoc-made payload.

A keyring wrap (AES-256-GCM), a PKCS#11 wrap, an X25519 wrap (as HPKE
``info``) and a password wrap all authenticate the same bytes: a label, the
wrap's kind, key id and version, then the header digest. It is part of the
format, so it lives beside ``_format`` rather than in one provider; a
provider of another vendor's construction (a KMS encryption context) does
not use it.
"""

from __future__ import annotations

import functools
import struct

from ._format import check_key_id_text

_WRAP_LABEL = b"sealdoc-v1-wrap"


@functools.lru_cache(maxsize=256)
def _wrap_ad_prefix(kind: str, key_id: str, version: int) -> bytes:
    # Everything but the digest: one document's wraps under one key share it.
    kind_b = kind.encode("ascii")
    key_id_b = key_id.encode("utf-8")
    return b"".join(
        (
            _WRAP_LABEL,
            bytes([len(kind_b)]),
            kind_b,
            struct.pack(">H", len(key_id_b)),
            key_id_b,
            struct.pack(">I", version),
        )
    )


def wrap_ad(kind: str, key_id: str, version: int, digest: bytes) -> bytes:
    """format.md 8.1: a wrap is bound to its kind, key, version and header."""
    return _wrap_ad_prefix(kind, key_id, version) + digest


def check_key_id(key_id: object) -> str:
    """A key id a provider is given: a str within the format's limits (format.md 3.6)."""
    if not isinstance(key_id, str):
        raise TypeError(f"key_id must be str, not {type(key_id).__name__}")
    return check_key_id_text(key_id)  # length and forbidden characters
