"""Doc ids and the object names they are stored under (plain, or opaque AES-SIV).

See docs/storage.md, "Opaque names", for the padding scheme.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from .exceptions import InvalidDocumentIdError

DOC_ID_BINDING = "sealdoc:doc_id"
SUFFIX = ".sdoc"
MAX_DOC_ID_BYTES = 512
_NAME_AD = b"sealdoc-vault-name-v1"
_NAME_CHUNK = 200  # below the 255-byte file-name limit of local file systems
NAME_KEY_LEN = 64  # AES-256-SIV


def check_doc_id(doc_id: object) -> str:
    """A doc id is 1-512 UTF-8 bytes of ``/``-separated, non-empty, safe segments."""
    if not isinstance(doc_id, str):
        raise TypeError(f"a doc id is a str, not {type(doc_id).__name__}")
    size = len(doc_id.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= MAX_DOC_ID_BYTES:
        raise InvalidDocumentIdError(f"a doc id is 1 to {MAX_DOC_ID_BYTES} UTF-8 bytes")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in doc_id):
        raise InvalidDocumentIdError("a doc id cannot hold NUL, control or surrogate characters")
    if "\\" in doc_id:
        raise InvalidDocumentIdError("a doc id cannot hold a backslash")
    if doc_id.startswith("/"):
        raise InvalidDocumentIdError("a doc id cannot be an absolute path")
    for segment in doc_id.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidDocumentIdError("a doc id cannot have empty, '.' or '..' segments")
        if len(segment.encode("utf-8")) > 255 - len(SUFFIX):
            raise InvalidDocumentIdError("each '/' segment of a doc id is at most 250 bytes")
    return doc_id


_PAD_VERSION = b"\x01"  # never a doc id's first byte: control characters are refused
_PAD_BUCKET = 32


def _pad(raw: bytes) -> bytes:
    """``0x01 || len(id) as 2 bytes || id || zeros`` to a multiple of 32 bytes.

    An AES-SIV name is as long as its plaintext: padded, it shows which
    32-byte bucket the doc id falls in, not its exact length.
    """
    body = _PAD_VERSION + len(raw).to_bytes(2, "big") + raw
    return body + bytes(-len(body) % _PAD_BUCKET)


def _unpad(data: bytes) -> bytes | None:
    """The doc id inside a padded name; a name of the older unpadded form as it is."""
    if not data.startswith(_PAD_VERSION):
        return data  # written before padding (format of sealdoc <= this change)
    size = int.from_bytes(data[1:3], "big")
    if len(data) % _PAD_BUCKET or 3 + size > len(data) or any(data[3 + size :]):
        return None
    return data[3 : 3 + size]


class _OpaqueNames:
    """Object names that say nothing about the doc id: AES-SIV of it (RFC 5297).

    Deterministic, so the same id always finds the same object; decryptable
    by the holder of the name key, so ``list()`` still returns doc ids. The
    id is padded to a 32-byte bucket first (:func:`_pad`); names written
    unpadded by earlier versions still decode (:meth:`legacy` finds them).
    """

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != NAME_KEY_LEN:
            raise ValueError(f"name_key must be {NAME_KEY_LEN} bytes (Vault.generate_name_key())")
        self._siv = AESSIV(key)

    def __repr__(self) -> str:
        return "_OpaqueNames(<secret>)"

    def encode(self, doc_id: str) -> str:
        return self._name(_pad(doc_id.encode("utf-8")))

    def legacy(self, doc_id: str) -> str:
        """The unpadded name earlier versions gave ``doc_id``."""
        return self._name(doc_id.encode("utf-8"))

    def _name(self, plaintext: bytes) -> str:
        raw = self._siv.encrypt(plaintext, [_NAME_AD])
        name = base64.b32encode(raw).decode("ascii").rstrip("=").lower()
        chunks = [name[i : i + _NAME_CHUNK] for i in range(2, len(name), _NAME_CHUNK)]
        return "/".join([name[:2], *chunks]) + SUFFIX

    def decode(self, relative: str) -> str | None:
        if not relative.endswith(SUFFIX):
            return None
        name = relative[: -len(SUFFIX)].replace("/", "").upper()
        try:
            raw = base64.b32decode(name + "=" * (-len(name) % 8))
            plain = _unpad(self._siv.decrypt(raw, [_NAME_AD]))
            return plain.decode("utf-8") if plain is not None else None
        except (ValueError, InvalidTag, UnicodeDecodeError, binascii.Error):
            return None  # not one of ours
