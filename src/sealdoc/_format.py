"""Header parsing and serialisation for format v1 (docs/format.md, section 3).

Bytes in, bytes out: no I/O, no keys. Every length field is checked against
its limit before anything is sliced or allocated from it.
"""

from __future__ import annotations

import enum
import re
import struct
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import attrs

from . import _maps
from ._maps import decode_text, need
from ._text import check_text
from .exceptions import FormatError

MAGIC = b"SDOC"
VERSION = 1
PRELUDE_LEN = 9  # magic, version, header_len
MAC_LEN = 32
SALT_LEN = 32
NONCE_PREFIX_LEN = 7
COMMITMENT_LEN = 32
TAG_LEN = 16
DEK_LEN = 32

MIN_SEGMENT_SIZE = 64
MAX_SEGMENT_SIZE = 16 * 1024 * 1024
DEFAULT_SEGMENT_SIZE = 256 * 1024

MAX_HEADER_LEN = 256 * 1024
MIN_KEYS, MAX_KEYS = 1, 32
MAX_KIND_LEN = 32
MAX_KEY_ID_LEN = 1024
MAX_PAYLOAD_LEN = 4096
MAX_VERSION = 2**32 - 1
MAX_SEGMENTS = 2**32

# The string maps (format.md 3.3) live in _maps; their names stay importable from here.
MAX_MAP_PAIRS = _maps.MAX_MAP_PAIRS
MAX_MAP_KEY_LEN = _maps.MAX_MAP_KEY_LEN
MAX_MAP_VALUE_LEN = _maps.MAX_MAP_VALUE_LEN
MAX_MAP_LEN = _maps.MAX_MAP_LEN
RESERVED_PREFIX = _maps.RESERVED_PREFIX
InternalMap = _maps.InternalMap
check_map = _maps.check_map
check_and_encode_map = _maps.check_and_encode_map
encode_map = _maps.encode_map
decode_map = _maps.decode_map
with_reserved = _maps.with_reserved

FLAG_BINDING = 0x01
_KNOWN_FLAGS = FLAG_BINDING

_FIXED_CORE = struct.Struct(">HBI")  # suite, flags, segment_size
_KIND_RE = re.compile(r"[a-z0-9][a-z0-9.+-]*\Z")

# prelude, fixed core, empty context, key_count, smallest wrapped key, MAC
MIN_HEADER_LEN = (
    PRELUDE_LEN
    + _FIXED_CORE.size
    + SALT_LEN
    + NONCE_PREFIX_LEN
    + COMMITMENT_LEN
    + 2
    + 1
    + (1 + 1 + 2 + 1 + 4 + 2 + 1)
    + MAC_LEN
)


class Suite(enum.IntEnum):
    """Algorithm suites (docs/format.md, section 6)."""

    AES_256_GCM_HKDF_SHA256_COMMIT = 0x0001
    CHACHA20_POLY1305_HKDF_SHA256_COMMIT = 0x0002


_SUITES = {int(s): s for s in Suite}
_GOOD_KINDS: set[str] = set()  # kinds already seen to match _KIND_RE


def _good_kind(kind: str) -> bool:
    if _KIND_RE.match(kind) is None:
        return False
    if len(_GOOD_KINDS) < 1024:  # bounded: kinds come from untrusted headers too
        _GOOD_KINDS.add(kind)
    return True


def _short(data: bytes) -> str:
    return f"<{len(data)} bytes>"


@attrs.frozen
class WrappedKey:
    """A document key wrapped by one key provider.

    ``kind``, ``key_id`` and ``version`` are public (``inspect`` shows them);
    ``payload`` is the provider's ciphertext of the document key.
    """

    kind: str
    key_id: str
    version: int
    payload: bytes = attrs.field(repr=_short)

    @property
    def label(self) -> str:
        """``kind:key_id#version``, for messages and reports."""
        return f"{self.kind}:{self.key_id}#{self.version}"

    @property
    def ref(self) -> KeyRef:
        """Which key version this was wrapped under."""
        return KeyRef(self.kind, self.key_id, self.version)


@attrs.frozen
class KeyRef:
    """One version of one key of one provider kind: public, never secret."""

    kind: str
    key_id: str
    version: int

    @property
    def label(self) -> str:
        """``kind:key_id#version``."""
        return f"{self.kind}:{self.key_id}#{self.version}"


def _context_converter(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen
class Header:
    """What :func:`sealdoc.inspect` reads from a sealed document, without keys.

    Nothing in it is secret; it is also what anyone holding the file can see.
    """

    version: int
    suite: Suite
    segment_size: int
    context: dict[str, str] = attrs.field(converter=_context_converter, hash=False)
    wrapped_keys: tuple[WrappedKey, ...]
    has_binding: bool
    header_length: int
    plaintext_length: int | None = None
    """Known when the whole document (or a seekable stream) was given."""


class Core(NamedTuple):
    """The header fields a rewrap leaves untouched (format.md 3.1).

    Internal, and a NamedTuple rather than an attrs class: one is built for
    every document sealed or opened, and construction cost shows at 1 KiB.
    """

    suite: Suite
    flags: int
    segment_size: int
    salt: bytes
    nonce_prefix: bytes
    commitment: bytes
    context: Mapping[str, str]

    def __repr__(self) -> str:
        return f"Core(suite={self.suite!r}, segment_size={self.segment_size})"

    def encode(self, encoded_context: bytes | None = None) -> bytes:
        """The core's bytes; ValueError for a context over a limit.

        ``encoded_context`` is the context's encoding when the caller has it
        already (check_and_encode_map made it): it is not encoded twice.
        """
        if encoded_context is None:
            encoded_context = encode_map(self.context, what="context")
        return b"".join(
            (
                _FIXED_CORE.pack(self.suite, self.flags, self.segment_size),
                self.salt,
                self.nonce_prefix,
                self.commitment,
                encoded_context,
            )
        )


class ParsedHeader(NamedTuple):
    """A parsed header and the exact bytes it came from (internal)."""

    core: Core
    wrapped_keys: tuple[WrappedKey, ...]
    raw: bytes
    core_bytes: bytes

    def __repr__(self) -> str:
        return f"ParsedHeader({self.core!r}, keys={len(self.wrapped_keys)})"

    @property
    def mac(self) -> bytes:
        return self.raw[-MAC_LEN:]

    @property
    def signed_part(self) -> bytes:
        """Every header byte the MAC covers."""
        return self.raw[:-MAC_LEN]

    def public(self, plaintext_length: int | None = None) -> Header:
        return Header(
            version=VERSION,
            suite=self.core.suite,
            segment_size=self.core.segment_size,
            context=self.core.context,
            wrapped_keys=self.wrapped_keys,
            has_binding=bool(self.core.flags & FLAG_BINDING),
            header_length=len(self.raw),
            plaintext_length=plaintext_length,
        )


_U16 = struct.Struct(">H")
_U32_U16 = struct.Struct(">IH")


# -- header ------------------------------------------------------------------


def parse_prelude(prelude: bytes) -> int:
    """Check magic and version; return ``header_len`` (format.md 3.1, step 1).

    Each check runs on as many bytes as there are, so that a short input
    fails the first check it can: ``SDOC\\x02`` is an unsupported version,
    ``SDO`` a truncated header, ``%PDF`` or nothing at all no sealed document.
    """
    if not prelude or prelude[:4] != MAGIC[: len(prelude)]:
        raise FormatError("not a sealed document (no SDOC magic)")
    if len(prelude) > 4 and prelude[4] != VERSION:
        raise FormatError(f"unsupported format version {prelude[4]}; this sealdoc reads {VERSION}")
    if len(prelude) < PRELUDE_LEN:
        raise FormatError("truncated header: the document ends inside its prelude")
    header_len = int.from_bytes(prelude[5:9], "big")
    if not MIN_HEADER_LEN <= header_len <= MAX_HEADER_LEN:
        raise FormatError(
            f"header length {header_len} is outside {MIN_HEADER_LEN}..{MAX_HEADER_LEN}"
        )
    return header_len


_KIND_BYTES_RE = re.compile(rb"[a-z0-9][a-z0-9.+-]*\Z")


def _parse_wrapped_key(raw: bytes, pos: int) -> tuple[WrappedKey, int]:
    """One wrapped key at ``pos`` (format.md 3.2); return it and the offset after it."""
    need(raw, pos + 1, "kind length")
    kind_len = raw[pos]
    if not 1 <= kind_len <= MAX_KIND_LEN:
        raise FormatError(f"provider kind length {kind_len} is out of bounds")
    pos += 1
    need(raw, pos + kind_len, "provider kind")
    kind_raw = raw[pos : pos + kind_len]
    if _KIND_BYTES_RE.match(kind_raw) is None:
        raise FormatError("provider kind has characters outside [a-z0-9.+-]")
    kind = kind_raw.decode("ascii")
    pos += kind_len
    need(raw, pos + 2, "key id length")
    (key_id_len,) = _U16.unpack_from(raw, pos)
    if not 1 <= key_id_len <= MAX_KEY_ID_LEN:
        raise FormatError(f"key id length {key_id_len} is out of bounds")
    pos += 2
    need(raw, pos + key_id_len, "key id")
    key_id = decode_text(raw[pos : pos + key_id_len], "key id")
    pos += key_id_len
    need(raw, pos + 6, "key version and payload length")
    version, payload_len = _U32_U16.unpack_from(raw, pos)
    if not 1 <= payload_len <= MAX_PAYLOAD_LEN:
        raise FormatError(f"wrapped key payload length {payload_len} is out of bounds")
    pos += 6
    need(raw, pos + payload_len, "wrapped key payload")
    payload = raw[pos : pos + payload_len]
    wrapped = WrappedKey(kind=kind, key_id=key_id, version=version, payload=payload)
    return wrapped, pos + payload_len


def parse_header(data: bytes | memoryview) -> ParsedHeader:
    """Parse exactly one header (``data`` holds at least ``header_len`` bytes).

    ``data`` may be a whole document (a view of it is not copied): only the
    header's bytes are. The fields are read from the bytes before the MAC,
    so a field that would run into the MAC or past ``header_len`` is
    "header ends inside ...", and bytes left between the last field and the
    MAC are refused too.
    """
    header_len = parse_prelude(bytes(data[:PRELUDE_LEN]))
    if len(data) < header_len:
        raise FormatError(f"truncated header: {len(data)} of {header_len} bytes")
    raw = bytes(data[:header_len])
    fields = raw[:-MAC_LEN]
    suite_id, flags, segment_size = _FIXED_CORE.unpack_from(raw, PRELUDE_LEN)
    suite = _SUITES.get(suite_id)
    if suite is None:
        raise FormatError(f"unknown suite 0x{suite_id:04x}")
    if flags & ~_KNOWN_FLAGS:
        raise FormatError(f"unknown header flags 0x{flags:02x}")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise FormatError(
            f"segment size {segment_size} is outside {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE}"
        )
    pos = PRELUDE_LEN + _FIXED_CORE.size
    salt = raw[pos : pos + SALT_LEN]
    pos += SALT_LEN
    nonce_prefix = raw[pos : pos + NONCE_PREFIX_LEN]
    pos += NONCE_PREFIX_LEN
    commitment = raw[pos : pos + COMMITMENT_LEN]
    pos += COMMITMENT_LEN  # all within MIN_HEADER_LEN, checked by parse_prelude
    context, pos = decode_map(fields, pos, "context")
    core_bytes = raw[PRELUDE_LEN:pos]

    need(fields, pos + 1, "key count")
    count = raw[pos]
    pos += 1
    if not MIN_KEYS <= count <= MAX_KEYS:
        raise FormatError(f"wrapped key count {count} is outside {MIN_KEYS}..{MAX_KEYS}")
    keys = []
    for _ in range(count):
        wrapped, pos = _parse_wrapped_key(fields, pos)
        keys.append(wrapped)
    if pos != len(fields):
        raise FormatError(
            f"trailing header bytes: {len(fields) - pos} bytes between the last field and the MAC"
        )
    core = Core(
        suite=suite,
        flags=flags,
        segment_size=segment_size,
        salt=salt,
        nonce_prefix=nonce_prefix,
        commitment=commitment,
        context=context,
    )
    return ParsedHeader(core=core, wrapped_keys=tuple(keys), raw=raw, core_bytes=core_bytes)


def check_wrapped_key(wk: WrappedKey) -> None:
    """Reject a provider's output that the format cannot hold."""
    if not isinstance(wk, WrappedKey):
        raise TypeError(f"a provider's wrap() must return WrappedKey, not {type(wk).__name__}")
    if wk.kind not in _GOOD_KINDS and not (
        1 <= len(wk.kind) <= MAX_KIND_LEN and _good_kind(wk.kind)
    ):
        raise ValueError(f"provider kind {wk.kind!r} must match [a-z0-9][a-z0-9.+-]{{0,31}}")
    check_key_id_text(wk.key_id)
    if not 0 <= wk.version <= MAX_VERSION:
        raise ValueError("key version must fit in 32 bits")
    if not 1 <= len(wk.payload) <= MAX_PAYLOAD_LEN:
        raise ValueError(f"wrapped key payload must be 1 to {MAX_PAYLOAD_LEN} bytes")


def check_key_id_text(key_id: str) -> str:
    """A key id the format can hold (format.md 3.2, 3.6); ValueError otherwise."""
    check_text(key_id, "a key id")
    if not 1 <= len(key_id.encode("utf-8")) <= MAX_KEY_ID_LEN:
        raise ValueError(f"key id must be 1 to {MAX_KEY_ID_LEN} UTF-8 bytes")
    return key_id


def encode_key_section(wrapped: Sequence[WrappedKey]) -> bytes:
    """The key section of ``wrapped`` (format.md 3.2).

    Each wrapped key was checked once where it entered: ``check_wrapped_key``
    on a provider's output (sealing's ``wrap_with``, the only caller of
    ``wrap``) or ``parse_header`` on a document's. It is not checked again.
    """
    if not MIN_KEYS <= len(wrapped) <= MAX_KEYS:
        raise ValueError(f"a document holds {MIN_KEYS} to {MAX_KEYS} wrapped keys")
    out = [bytes([len(wrapped)])]
    for wk in wrapped:
        kind = wk.kind.encode("ascii")
        key_id = wk.key_id.encode("utf-8")
        out += [
            bytes([len(kind)]),
            kind,
            _U16.pack(len(key_id)),
            key_id,
            _U32_U16.pack(wk.version, len(wk.payload)),
            wk.payload,
        ]
    return b"".join(out)


def build_unsigned_header(core_bytes: bytes, wrapped: Sequence[WrappedKey]) -> bytes:
    """Prelude, core and key section: everything but the trailing MAC."""
    keys = encode_key_section(wrapped)
    header_len = PRELUDE_LEN + len(core_bytes) + len(keys) + MAC_LEN
    if header_len > MAX_HEADER_LEN:
        raise ValueError(f"the header would be {header_len} bytes; the limit is {MAX_HEADER_LEN}")
    return MAGIC + bytes([VERSION]) + header_len.to_bytes(4, "big") + core_bytes + keys
