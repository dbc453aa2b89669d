"""String maps, the context and the binding of a header (docs/format.md, 3.3 and 3.6).

Split from ``_format`` (which re-exports every name here) so that each
module holds one part of the format: this one the canonical encoding of a
``str -> str`` map, its limits, and the two primitives every header field
is read with (``need``: the bytes are there; ``decode_text``: strict UTF-8
without a forbidden character).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from ._text import check_text, codepoint, forbidden_char
from .exceptions import FormatError

MAX_MAP_PAIRS = 64
MAX_MAP_KEY_LEN = 255
MAX_MAP_VALUE_LEN = 4096
MAX_MAP_LEN = 16 * 1024

RESERVED_PREFIX = "sealdoc:"

_U16 = struct.Struct(">H")
_EMPTY_MAP = _U16.pack(0)  # the encoding of {}: a pair count of zero


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
    """Validate a caller's context or binding (format.md 3.3, 3.6); see check_and_encode_map."""
    return check_and_encode_map(value, what=what, sealing=sealing)[0]


def check_and_encode_map(
    value: object, *, what: str, sealing: bool = False
) -> tuple[dict[str, str], bytes]:
    """Validate a caller's context or binding, and return it with its canonical encoding.

    The limits are checked by encoding (format.md 3.3), so the encoding is
    returned too: a sealer writes it into the header instead of encoding
    the same map again.

    TypeError for a wrong type, ValueError for a map over a limit, with a
    forbidden character, or (when ``sealing`` a context) with a ``sealdoc:``
    key that sealdoc did not put there itself. Binding keys are not checked
    for the prefix: a caller gives a vault's ``sealdoc:doc_id`` binding
    to open, rotate or deliver a vault document by hand.
    """
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping of str to str, not {type(value).__name__}")
    if not value:
        return {}, _EMPTY_MAP
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
    return result, encode_map(result, what=what)  # the limits, on sealing and opening alike


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
    out = [_U16.pack(len(pairs))]
    for kb, vb in pairs:
        out += [_U16.pack(len(kb)), kb, _U16.pack(len(vb)), vb]
    encoded = b"".join(out)
    if len(encoded) > MAX_MAP_LEN:
        raise ValueError(f"{what} encodes to {len(encoded)} bytes; the limit is {MAX_MAP_LEN}")
    return encoded


def decode_text(raw: bytes, what: str) -> str:
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


def need(buf: bytes, end: int, what: str) -> None:
    if end > len(buf):
        raise FormatError(f"header ends inside {what}")


def decode_map(buf: bytes, pos: int, what: str) -> tuple[dict[str, str], int]:
    """Decode a string map at ``pos``; return it and the offset after it.

    The checks come in the order of format.md 3.1, each as its field is met.
    """
    start = pos
    need(buf, pos + 2, f"{what} count")
    (count,) = _U16.unpack_from(buf, pos)
    pos += 2
    if count > MAX_MAP_PAIRS:
        raise FormatError(f"{what} has {count} pairs; the limit is {MAX_MAP_PAIRS}")
    result: dict[str, str] = InternalMap()
    previous = b""
    for _ in range(count):
        need(buf, pos + 2, f"{what} key length")
        (klen,) = _U16.unpack_from(buf, pos)
        if not 1 <= klen <= MAX_MAP_KEY_LEN:
            raise FormatError(f"{what} key length {klen} is out of bounds")
        pos += 2
        need(buf, pos + klen, f"{what} key")
        kraw = buf[pos : pos + klen]
        key = decode_text(kraw, f"{what} key")
        if kraw <= previous:
            raise FormatError(f"{what} keys are not unique and sorted")
        previous = kraw
        pos += klen
        need(buf, pos + 2, f"{what} value length")
        (vlen,) = _U16.unpack_from(buf, pos)
        if vlen > MAX_MAP_VALUE_LEN:
            raise FormatError(f"{what} value length {vlen} is over the limit")
        pos += 2
        need(buf, pos + vlen, f"{what} value")
        result[key] = decode_text(buf[pos : pos + vlen], f"{what} value")
        pos += vlen
        if pos - start > MAX_MAP_LEN:
            raise FormatError(f"{what} is longer than {MAX_MAP_LEN} bytes")
    return result, pos
