"""Base64 in the two alphabets sealdoc's files use, named for their alphabet.

* standard (``+/``, padded): the local keyring file (``providers/_local_format``);
* URL-safe without padding (``-_``): X25519 recipients and identities
  (``x25519:...``, ``providers/_x25519``), which travel in URLs and shells.

The decoders raise ValueError (``binascii.Error`` is one); a caller turns
it into its own error naming the field, never quoting the text.
"""

from __future__ import annotations

import base64


def std_b64encode(data: bytes) -> str:
    """Standard alphabet, padded."""
    return base64.b64encode(data).decode("ascii")


def std_b64decode(text: str | bytes) -> bytes:
    """Standard alphabet, padded; any other character is refused (ValueError)."""
    return base64.b64decode(text, validate=True)


def url_b64encode(data: bytes) -> str:
    """URL-safe alphabet, no padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def url_b64decode(text: str) -> bytes:
    """URL-safe alphabet, padding optional (ValueError if it is not base64url)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


__all__ = ["std_b64decode", "std_b64encode", "url_b64decode", "url_b64encode"]
