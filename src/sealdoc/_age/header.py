"""The age v1 header: strict parsing with limits, and writing (C2SP age, "Header").

Parsing refuses everything the ABNF does not allow (an empty argument, a
body line over 64 columns, non-canonical base64, a CR) with a FormatError
that says what, before any key is tried. The limits make a hostile header
cheap to refuse: at most :data:`MAX_STANZAS` stanzas, :data:`MAX_LINE`
bytes a line and :data:`MAX_HEADER` bytes in all.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from hashlib import sha256
from typing import BinaryIO

import attrs
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..exceptions import FormatError
from . import b64

VERSION_LINE = b"age-encryption.org/v1\n"
_VERSION_PREFIX = b"age-encryption.org/"
MAX_STANZAS = 32  # the sealdoc format's own limit on wrapped keys
MAX_ARGS = 8
MAX_LINE = 4096  # a hybrid stanza's argument line is 1,512 bytes
MAX_BODY = 4096
MAX_HEADER = 256 * 1024
_VCHAR = frozenset(range(0x21, 0x7F))
_B64_LINE = 64


@attrs.frozen
class Stanza:
    args: tuple[str, ...]
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes = attrs.field(repr=False)
    #: the header up to and including ``---``: what the MAC covers
    signed: bytes = attrs.field(repr=False)


def _line(src: BinaryIO, total: list[int]) -> bytes:
    line = src.readline(MAX_LINE + 1)
    total[0] += len(line)
    if total[0] > MAX_HEADER:
        raise FormatError(f"age header: longer than {MAX_HEADER} bytes")
    if not line.endswith(b"\n"):
        if len(line) > MAX_LINE:
            raise FormatError(f"age header: a line longer than {MAX_LINE} bytes")
        raise FormatError("age header: cut short (no MAC line)")
    return line[:-1]


def _body(src: BinaryIO, total: list[int], signed: list[bytes]) -> bytes:
    """A stanza's body: 64-column lines up to the first shorter one."""
    body = bytearray()
    while True:
        chunk = _line(src, total)
        signed.append(chunk + b"\n")
        if len(chunk) > _B64_LINE:
            raise FormatError("age header: a stanza body line over 64 columns")
        body += chunk
        if len(body) > MAX_BODY * 4 // 3 + 4:
            raise FormatError(f"age header: a stanza body over {MAX_BODY} bytes")
        if len(chunk) < _B64_LINE:
            break
    try:
        return b64.decode(bytes(body), "a stanza body")
    except ValueError as exc:
        raise FormatError(f"age header: {exc}") from None


def parse(src: BinaryIO) -> Header:
    """The header at ``src``'s position; ``src`` is left at the payload's first byte."""
    total = [0]
    signed: list[bytes] = []
    first = src.readline(len(VERSION_LINE) + 64)
    total[0] += len(first)
    if first != VERSION_LINE:
        if first.startswith(_VERSION_PREFIX):
            raise FormatError("age header: an unsupported version (only v1 is read)")
        raise FormatError("not an age file (no age-encryption.org/v1 line)")
    signed.append(first)
    stanzas: list[Stanza] = []
    while True:
        line = _line(src, total)
        if line.startswith(b"---"):
            if not stanzas:
                raise FormatError("age header: no recipient stanza")
            if line[3:4] != b" ":
                raise FormatError("age header: the MAC line is malformed")
            try:
                mac = b64.decode(line[4:], "the header MAC")
            except ValueError as exc:
                raise FormatError(f"age header: {exc}") from None
            if len(mac) != 32:
                raise FormatError("age header: the MAC is not 32 bytes")
            signed.append(b"---")
            return Header(tuple(stanzas), mac, b"".join(signed))
        if not line.startswith(b"-> "):
            raise FormatError("age header: a line that is neither a stanza nor the MAC")
        if len(stanzas) == MAX_STANZAS:
            raise FormatError(f"age header: more than {MAX_STANZAS} recipient stanzas")
        args = line[3:].split(b" ")
        if len(args) > MAX_ARGS:
            raise FormatError(f"age header: a stanza with more than {MAX_ARGS} arguments")
        if any(not arg or not _VCHAR.issuperset(arg) for arg in args):
            raise FormatError("age header: an empty or non-printable stanza argument")
        signed.append(line + b"\n")
        raw = _body(src, total, signed)
        stanzas.append(Stanza(tuple(a.decode("ascii") for a in args), raw))


def _mac_key(file_key: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"header").derive(file_key)


def mac_matches(header: Header, file_key: bytes) -> bool:
    expected = hmac.new(_mac_key(file_key), header.signed, sha256).digest()
    return hmac.compare_digest(expected, header.mac)


def encode(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    """The whole header, MAC line included."""
    parts = [VERSION_LINE]
    for stanza in stanzas:
        parts.append(b"-> " + " ".join(stanza.args).encode("ascii") + b"\n")
        body = b64.encode(stanza.body)
        lines = [body[i : i + _B64_LINE] for i in range(0, len(body), _B64_LINE)]
        if not lines or len(lines[-1]) == _B64_LINE:
            lines.append(b"")  # the body ends with a line shorter than 64
        parts.extend(line + b"\n" for line in lines)
    parts.append(b"---")
    signed = b"".join(parts)
    mac = hmac.new(_mac_key(file_key), signed, sha256).digest()
    return signed + b" " + b64.encode(mac) + b"\n"
