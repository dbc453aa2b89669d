"""age's base64: standard alphabet, no padding, canonical only (C2SP age, conventions)."""

from __future__ import annotations

import base64
import binascii
import re

_CANONICAL = re.compile(rb"[A-Za-z0-9+/]*\Z")


def encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def decode(text: bytes, what: str) -> bytes:
    """The bytes of unpadded, canonical base64; ValueError naming ``what`` otherwise."""
    if not _CANONICAL.match(text) or len(text) % 4 == 1:
        raise ValueError(f"{what} is not unpadded base64")
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise ValueError(f"{what} is not unpadded base64") from None
    if encode(raw) != text:  # the unused low bits must be zero
        raise ValueError(f"{what} is not canonical base64")
    return raw
