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

from ._text import check_text, codepoint, forbidden_char
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

    def encode(self) -> bytes:
        """The core's bytes; ValueError for a context over a limit."""
        return b"".join(
            (
                _FIXED_CORE.pack(self.suite, self.flags, self.segment_size),
                self.salt,
                self.nonce_prefix,
                self.commitment,
                encode_map(self.context, what="context"),
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


# -- string maps -------------------------------------------------------------

RESERVED_PREFIX = "sealdoc:"


class InternalMap(dict[str, str]):
    """A context or binding that sealdoc made itself, so it may hold ``sealdoc:`` keys.

    Maps parsed from a header are InternalMaps too: a rotate keeps a
    document's context as it is. Callers' maps are plain dicts, and
    sealing refuses their reserved keys (format.md 3.3).
    """

    __slots__ = ()


def with_reserved(
    caller: Mapping[str, str] | None, reserved: Mapping[str, str], *, what: str
) -> InternalMap:
    """A caller's map, checked (no ``sealdoc:`` key), plus sealdoc's own reserved pairs."""
    merged = InternalMap(check_map({} if caller is None else caller, what=what, sealing=True))
    merged.update(reserved)
    return merged


def check_map(value: object, *, what: str, sealing: bool = False) -> dict[str, str]:
    """Validate a caller's context or binding (format.md 3.3, 3.6).

    TypeError for a wrong type, ValueError for a map over a limit, with a
    forbidden character, or (when ``sealing`` a context) with a ``sealdoc:``
    key that sealdoc did not put there itself. Binding keys are not checked
    for the prefix: a caller gives a vault's ``sealdoc:doc_id`` binding
    to open, rotate or deliver a vault document by hand.
    """
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping of str to str, not {type(value).__name__}")
    if not value:
        return {}
    internal = isinstance(value, InternalMap)
    result: dict[str, str] = InternalMap() if internal else {}
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"{what} keys and values must be str, got {type(k).__name__}: {type(v).__name__}"
            )
        check_text(k, f"a {what} key")
        check_text(v, f"a {what} value")
        if sealing and not internal and k.startswith(RESERVED_PREFIX):
            raise ValueError(
                f"{what} keys starting with {RESERVED_PREFIX!r} are reserved for sealdoc itself"
            )
        result[k] = v
    encode_map(result, what=what)  # the limits, on sealing and on opening alike
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


_U16 = struct.Struct(">H")
_U32_U16 = struct.Struct(">IH")


def _text(raw: bytes, what: str) -> str:
    """A header string: strict UTF-8, then the forbidden characters (format.md 3.6)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} is not valid UTF-8") from None
    bad = forbidden_char(text)
    if bad is not None:
        # the code point, never the text: it is what the rule keeps out of messages
        raise FormatError(f"{what} holds {codepoint(bad)}, a forbidden character")
    return text


def _need(buf: bytes, end: int, what: str) -> None:
    if end > len(buf):
        raise FormatError(f"header ends inside {what}")


def decode_map(buf: bytes, pos: int, what: str) -> tuple[dict[str, str], int]:
    """Decode a string map at ``pos``; return it and the offset after it.

    The checks come in the order of format.md 3.1, each as its field is met.
    """
    start = pos
    _need(buf, pos + 2, f"{what} count")
    (count,) = _U16.unpack_from(buf, pos)
    pos += 2
    if count > MAX_MAP_PAIRS:
        raise FormatError(f"{what} has {count} pairs; the limit is {MAX_MAP_PAIRS}")
    result: dict[str, str] = InternalMap()
    previous = b""
    for _ in range(count):
        _need(buf, pos + 2, f"{what} key length")
        (klen,) = _U16.unpack_from(buf, pos)
        if not 1 <= klen <= MAX_MAP_KEY_LEN:
            raise FormatError(f"{what} key length {klen} is out of bounds")
        pos += 2
        _need(buf, pos + klen, f"{what} key")
        kraw = buf[pos : pos + klen]
        key = _text(kraw, f"{what} key")
        if kraw <= previous:
            raise FormatError(f"{what} keys are not unique and sorted")
        previous = kraw
        pos += klen
        _need(buf, pos + 2, f"{what} value length")
        (vlen,) = _U16.unpack_from(buf, pos)
        if vlen > MAX_MAP_VALUE_LEN:
            raise FormatError(f"{what} value length {vlen} is over the limit")
        pos += 2
        _need(buf, pos + vlen, f"{what} value")
        result[key] = _text(buf[pos : pos + vlen], f"{what} value")
        pos += vlen
        if pos - start > MAX_MAP_LEN:
            raise FormatError(f"{what} is longer than {MAX_MAP_LEN} bytes")
    return result, pos


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
    _need(raw, pos + 1, "kind length")
    kind_len = raw[pos]
    if not 1 <= kind_len <= MAX_KIND_LEN:
        raise FormatError(f"provider kind length {kind_len} is out of bounds")
    pos += 1
    _need(raw, pos + kind_len, "provider kind")
    kind_raw = raw[pos : pos + kind_len]
    if _KIND_BYTES_RE.match(kind_raw) is None:
        raise FormatError("provider kind has characters outside [a-z0-9.+-]")
    kind = kind_raw.decode("ascii")
    pos += kind_len
    _need(raw, pos + 2, "key id length")
    (key_id_len,) = _U16.unpack_from(raw, pos)
    if not 1 <= key_id_len <= MAX_KEY_ID_LEN:
        raise FormatError(f"key id length {key_id_len} is out of bounds")
    pos += 2
    _need(raw, pos + key_id_len, "key id")
    key_id = _text(raw[pos : pos + key_id_len], "key id")
    pos += key_id_len
    _need(raw, pos + 6, "key version and payload length")
    version, payload_len = _U32_U16.unpack_from(raw, pos)
    if not 1 <= payload_len <= MAX_PAYLOAD_LEN:
        raise FormatError(f"wrapped key payload length {payload_len} is out of bounds")
    pos += 6
    _need(raw, pos + payload_len, "wrapped key payload")
    payload = raw[pos : pos + payload_len]
    wrapped = WrappedKey(kind=kind, key_id=key_id, version=version, payload=payload)
    return wrapped, pos + payload_len


def parse_header(raw: bytes) -> ParsedHeader:
    """Parse exactly one header (``raw`` holds at least ``header_len`` bytes).

    The fields are read from the bytes before the MAC, so a field that would
    run into the MAC or past ``header_len`` is "header ends inside ...", and
    bytes left between the last field and the MAC are refused too.
    """
    header_len = parse_prelude(raw[:PRELUDE_LEN])
    if len(raw) < header_len:
        raise FormatError(f"truncated header: {len(raw)} of {header_len} bytes")
    raw = raw[:header_len]
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

    _need(fields, pos + 1, "key count")
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
