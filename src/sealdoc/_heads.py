"""A document's public header from the first bytes of its stored object (no I/O).

Both vault faces read a head through their store (one ranged read, a second
only for a header longer than the first), then hand it here.
"""

from __future__ import annotations

from . import _format as fmt
from ._format import Header
from ._store.base import Head
from ._stream import plaintext_length
from .exceptions import DecryptionError

HEAD_READ = 8 * 1024  # headers with a few wraps fit: one request per inspect


def header_wanted(head: Head) -> int:
    """The length to read again when ``head`` stops inside the header; else 0."""
    header_len = fmt.parse_prelude(head.data[: fmt.PRELUDE_LEN])
    return header_len if len(head.data) < header_len <= head.size else 0


def public_header(head: Head) -> Header:
    """The public header, with the plaintext length the object's size implies (or None)."""
    parsed = fmt.parse_header(head.data)
    try:
        length: int | None = plaintext_length(head.size - len(parsed.raw), parsed.core.segment_size)
    except DecryptionError:
        length = None
    return parsed.public(length)
