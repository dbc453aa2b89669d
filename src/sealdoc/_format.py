"""Header parsing and serialisation for format v1 (docs/format.md, section 3).

Bytes in, bytes out: no I/O, no keys. Every length field is checked against
its limit before anything is sliced or allocated from it.
"""

from __future__ import annotations

import enum
import re
import struct
from collections.abc import Mapping, Sequence

import attrs

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
MAX_MAP_PAIRS = 64
MAX_MAP_KEY_LEN = 255
MAX_MAP_VALUE_LEN = 4096
MAX_MAP_LEN = 16 * 1024
MAX_SEGMENTS = 2**32

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


@attrs.frozen
class Core:
    """The header fields a rewrap leaves untouched (format.md 3.1)."""

    suite: Suite
    flags: int
    segment_size: int
    salt: bytes = attrs.field(repr=False)
    nonce_prefix: bytes = attrs.field(repr=False)
    commitment: bytes = attrs.field(repr=False)
    context: Mapping[str, str]

    def encode(self) -> bytes:
        return b"".join(
            (
                _FIXED_CORE.pack(self.suite, self.flags, self.segment_size),
                self.salt,
                self.nonce_prefix,
                self.commitment,
                encode_map(self.context, what="context"),
            )
        )


@attrs.frozen
class ParsedHeader:
    """A parsed header and the exact bytes it came from."""

    core: Core
    wrapped_keys: tuple[WrappedKey, ...]
    raw: bytes = attrs.field(repr=_short)
    core_bytes: bytes = attrs.field(repr=_short)

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


# -- string maps -------------------------------------------------------------


def check_map(value: object, *, what: str) -> dict[str, str]:
    """Validate a caller's context or binding; TypeError/ValueError for misuse."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping of str to str, not {type(value).__name__}")
    result: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"{what} keys and values must be str, got {type(k).__name__}: {type(v).__name__}"
            )
        result[k] = v
    encode_map(result, what=what)  # enforces the limits
    return result


def encode_map(value: Mapping[str, str], *, what: str) -> bytes:
    """Encode a string map canonically (format.md 3.3)."""
    if len(value) > MAX_MAP_PAIRS:
        raise ValueError(f"{what} has {len(value)} pairs; the limit is {MAX_MAP_PAIRS}")
    pairs = []
    for k, v in value.items():
        kb = k.encode("utf-8")
        vb = v.encode("utf-8")
        if not 1 <= len(kb) <= MAX_MAP_KEY_LEN:
            raise ValueError(f"{what} keys must be 1 to {MAX_MAP_KEY_LEN} UTF-8 bytes")
        if len(vb) > MAX_MAP_VALUE_LEN:
            raise ValueError(f"{what} values must be at most {MAX_MAP_VALUE_LEN} UTF-8 bytes")
        pairs.append((kb, vb))
    pairs.sort()
    out = [struct.pack(">H", len(pairs))]
    for kb, vb in pairs:
        out += [struct.pack(">H", len(kb)), kb, struct.pack(">H", len(vb)), vb]
    encoded = b"".join(out)
    if len(encoded) > MAX_MAP_LEN:
        raise ValueError(f"{what} encodes to {len(encoded)} bytes; the limit is {MAX_MAP_LEN}")
    return encoded


class _Cursor:
    """Bounds-checked reads from a header buffer; overruns are FormatError."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.pos = offset

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise FormatError(f"header ends inside {what}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "big")

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "big")

    def text(self, n: int, what: str) -> str:
        try:
            return self.take(n, what).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"{what} is not valid UTF-8") from None


def decode_map(cur: _Cursor, what: str) -> dict[str, str]:
    start = cur.pos
    count = cur.u16(f"{what} count")
    if count > MAX_MAP_PAIRS:
        raise FormatError(f"{what} has {count} pairs; the limit is {MAX_MAP_PAIRS}")
    result: dict[str, str] = {}
    previous: bytes | None = None
    for _ in range(count):
        klen = cur.u16(f"{what} key length")
        if not 1 <= klen <= MAX_MAP_KEY_LEN:
            raise FormatError(f"{what} key length {klen} is out of bounds")
        kraw = cur.take(klen, f"{what} key")
        if previous is not None and kraw <= previous:
            raise FormatError(f"{what} keys are not unique and sorted")
        previous = kraw
        vlen = cur.u16(f"{what} value length")
        if vlen > MAX_MAP_VALUE_LEN:
            raise FormatError(f"{what} value length {vlen} is over the limit")
        try:
            key = kraw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"{what} key is not valid UTF-8") from None
        result[key] = cur.text(vlen, f"{what} value")
    if cur.pos - start > MAX_MAP_LEN:
        raise FormatError(f"{what} is longer than {MAX_MAP_LEN} bytes")
    return result


# -- header ------------------------------------------------------------------


def parse_prelude(prelude: bytes) -> int:
    """Check magic and version; return ``header_len`` (format.md 3.1, step 1)."""
    if len(prelude) < PRELUDE_LEN:
        if MAGIC.startswith(prelude[: len(MAGIC)]) and prelude:
            raise FormatError("truncated header: the document ends inside its prelude")
        raise FormatError("not a sealed document (too short)")
    if prelude[:4] != MAGIC:
        raise FormatError("not a sealed document (no SDOC magic)")
    if prelude[4] != VERSION:
        raise FormatError(f"unsupported format version {prelude[4]}; this sealdoc reads {VERSION}")
    header_len = int.from_bytes(prelude[5:9], "big")
    if not MIN_HEADER_LEN <= header_len <= MAX_HEADER_LEN:
        raise FormatError(
            f"header length {header_len} is outside {MIN_HEADER_LEN}..{MAX_HEADER_LEN}"
        )
    return header_len


def parse_header(raw: bytes) -> ParsedHeader:
    """Parse exactly one header (``raw`` is ``header_len`` bytes long)."""
    header_len = parse_prelude(raw[:PRELUDE_LEN])
    if len(raw) < header_len:
        raise FormatError(f"truncated header: {len(raw)} of {header_len} bytes")
    raw = raw[:header_len]
    cur = _Cursor(raw, PRELUDE_LEN)
    suite_id, flags, segment_size = _FIXED_CORE.unpack(cur.take(_FIXED_CORE.size, "core"))
    try:
        suite = Suite(suite_id)
    except ValueError:
        raise FormatError(f"unknown suite 0x{suite_id:04x}") from None
    if flags & ~_KNOWN_FLAGS:
        raise FormatError(f"unknown header flags 0x{flags:02x}")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise FormatError(
            f"segment size {segment_size} is outside {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE}"
        )
    salt = cur.take(SALT_LEN, "salt")
    nonce_prefix = cur.take(NONCE_PREFIX_LEN, "nonce prefix")
    commitment = cur.take(COMMITMENT_LEN, "commitment")
    context = decode_map(cur, "context")
    core_bytes = raw[PRELUDE_LEN : cur.pos]

    count = cur.u8("key count")
    if not MIN_KEYS <= count <= MAX_KEYS:
        raise FormatError(f"wrapped key count {count} is outside {MIN_KEYS}..{MAX_KEYS}")
    keys = []
    for _ in range(count):
        kind_len = cur.u8("kind length")
        if not 1 <= kind_len <= MAX_KIND_LEN:
            raise FormatError(f"provider kind length {kind_len} is out of bounds")
        kind = cur.text(kind_len, "provider kind")
        if not _KIND_RE.match(kind):
            raise FormatError("provider kind has characters outside [a-z0-9.+-]")
        key_id_len = cur.u16("key id length")
        if not 1 <= key_id_len <= MAX_KEY_ID_LEN:
            raise FormatError(f"key id length {key_id_len} is out of bounds")
        key_id = cur.text(key_id_len, "key id")
        version = cur.u32("key version")
        payload_len = cur.u16("payload length")
        if not 1 <= payload_len <= MAX_PAYLOAD_LEN:
            raise FormatError(f"wrapped key payload length {payload_len} is out of bounds")
        payload = cur.take(payload_len, "wrapped key payload")
        keys.append(WrappedKey(kind=kind, key_id=key_id, version=version, payload=payload))
    if cur.pos + MAC_LEN != header_len:
        raise FormatError("header fields do not add up to the header length")
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
    if not (1 <= len(wk.kind) <= MAX_KIND_LEN and _KIND_RE.match(wk.kind)):
        raise ValueError(f"provider kind {wk.kind!r} must match [a-z0-9][a-z0-9.+-]{{0,31}}")
    if not 1 <= len(wk.key_id.encode("utf-8")) <= MAX_KEY_ID_LEN:
        raise ValueError(f"key id must be 1 to {MAX_KEY_ID_LEN} UTF-8 bytes")
    if not 0 <= wk.version <= MAX_VERSION:
        raise ValueError("key version must fit in 32 bits")
    if not 1 <= len(wk.payload) <= MAX_PAYLOAD_LEN:
        raise ValueError(f"wrapped key payload must be 1 to {MAX_PAYLOAD_LEN} bytes")


def encode_key_section(wrapped: Sequence[WrappedKey]) -> bytes:
    if not MIN_KEYS <= len(wrapped) <= MAX_KEYS:
        raise ValueError(f"a document holds {MIN_KEYS} to {MAX_KEYS} wrapped keys")
    out = [bytes([len(wrapped)])]
    for wk in wrapped:
        check_wrapped_key(wk)
        kind = wk.kind.encode("ascii")
        key_id = wk.key_id.encode("utf-8")
        out += [
            bytes([len(kind)]),
            kind,
            struct.pack(">H", len(key_id)),
            key_id,
            struct.pack(">IH", wk.version, len(wk.payload)),
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
