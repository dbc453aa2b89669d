"""Vectors that pin each rule at its edge (docs/vectors.md, "What the vectors pin").

Part of scripts/vector_gaps.py's set. A bound is pinned by a document at the
limit (it must open) and one just past it (it must fail); a rule's place in
the order of checks by a document that breaks it and a later rule at once;
a rule that only declines a wrap by a document whose declined wrap would
open if the rule were skipped. ``tests/decoder_mutants.py`` finds what is
still unpinned.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from vector_kit import (
    PASSWORD,
    Drbg,
    argon2_params,
    forge,
    header_len,
    kek,
    key_entry,
    memory_wrap,
    password_entry,
    password_wrap,
    pbkdf2_params,
    raw_wrap,
    raw_wrap_ad,
    vector,
)
from vector_open import ARGUMENT, DATA, HEADER, OPEN, A, raw_context

from sealdoc import _format as fmt
from sealdoc._text import FORBIDDEN_RANGES

Add = Callable[..., None]
Wraps = Callable[[bytes, bytes], list[bytes]]


def pin_vectors(add: Add, out: list[dict[str, Any]]) -> None:
    _prelude_pins(out)
    _limit_pins(add)
    _order_pins(add)
    _forbidden_pins(add)
    _caller_pins(add)
    _keyring_pins(add)
    _password_pins(add)


def _prelude_pins(out: list[dict[str, Any]]) -> None:
    doc = forge("prelude pins", DATA)
    cases = [
        ("input_magic_only", "the 4 bytes 'SDOC'", b"SDOC", "truncated header"),
        ("input_prelude_8_bytes", "one byte short of a prelude", doc[:8], "truncated header"),
        (
            "input_prelude_only_bad_length",
            "exactly the 9 prelude bytes, header_len 0: the bound fails before the length",
            doc[:5] + bytes(4),
            "header_len bounds",
        ),
        (
            "input_prelude_only",
            "exactly the 9 prelude bytes of a good document",
            doc[:9],
            "truncated header",
        ),
    ]
    for name, description, sealed, check in cases:
        out.append(vector(name, description, HEADER + check, sealed, keys=A))


def _decoys(count: int) -> Wraps:
    """``count`` wraps no opener serves, then the opener's own."""

    def wraps(dek: bytes, d: bytes) -> list[bytes]:
        return [
            *(raw_wrap(b"decoy", f"d{i}".encode(), 1, b"\x00") for i in range(count)),
            memory_wrap("a", dek, d),
        ]

    return wraps


def _limit_pins(add: Add) -> None:
    """Every bound of section 3 reached exactly: the document opens."""
    add(
        "limit_map_key_255_bytes",
        "a context key of 255 bytes, the longest",
        "success",
        context_raw=raw_context(("k" * 255, "v")),
    )
    add(
        "limit_map_64_pairs",
        "64 context pairs, the most",
        "success",
        context_raw=raw_context(*[(f"k{i:02d}", "v") for i in range(64)]),
    )
    add(
        "limit_map_value_4096_bytes",
        "a context value of 4,096 bytes, the longest",
        "success",
        context_raw=raw_context(("k", "v" * 4096)),
    )
    add(
        "limit_segment_size_16_mib",
        "segment_size 16,777,216, the largest, with 100 bytes of plaintext",
        "success",
        segment_size=fmt.MAX_SEGMENT_SIZE,
    )
    add(
        "segment_size_63",
        "segment_size 63, one below the smallest",
        HEADER + "segment size bounds",
        segment_size=63,
    )
    add(
        "limit_32_wraps",
        "32 wrapped keys, the most: 31 nobody serves, then the opener's",
        "success",
        wraps=_decoys(31),
    )
    add(
        "key_count_33",
        "33 wrapped keys, one over",
        HEADER + "key count bounds",
        wraps=_decoys(32),
    )

    def edges(dek: bytes, d: bytes) -> list[bytes]:
        return [
            raw_wrap(b"k" * 32, b"kind of 32 bytes", 1, b"\x00"),
            raw_wrap(b"k", b"kind of 1 byte", 1, b"\x00"),
            raw_wrap(b"decoy", b"k", 1, b"\x00"),
            raw_wrap(b"decoy", b"payload of 4096 bytes", 1, bytes(4096)),
            memory_wrap("a", dek, d),
        ]

    add(
        "limit_wrap_fields",
        "wraps with a 32-byte kind, a 1-byte kind, a 1-byte key id, 1- and 4,096-byte payloads",
        "success",
        wraps=edges,
    )
    name = "limit_header_len_262144"
    short = header_len(forge(name, DATA))
    add(
        name,
        "header_len 262,144, the largest (no well-formed header is that long): only the"
        " trailing bytes fail",
        HEADER + "trailing header bytes",
        trailing=bytes(fmt.MAX_HEADER_LEN - short),
    )
    for bit in range(1, 8):
        add(
            f"flag_bit_{bit}",
            f"flag bit {bit} set",
            HEADER + "flags",
            flags=1 << bit,
        )
    for suite in (0, 3, 0x0101, 0xFFFF):
        add(f"suite_{suite:04x}", f"suite id {suite:#06x}", HEADER + "suite", suite=suite)


def _order_pins(add: Add) -> None:
    """Two rules broken at once: the one format.md 3.1 checks first names the failure."""
    key = HEADER
    pairs: list[tuple[str, str, bytes, str]] = [
        (
            "order_key_utf8_before_key_order",
            "keys 'b' then bytes 61 ff: not UTF-8, and out of order",
            raw_context(("b", "1"), (b"a\xff", "2")),
            "UTF-8",
        ),
        (
            "order_key_character_before_key_order",
            "keys 'b' then 'a\\n': a forbidden character, and out of order",
            raw_context(("b", "1"), ("a\n", "2")),
            "forbidden character",
        ),
        (
            "order_key_order_before_value_length",
            "keys 'b' then 'a' with a 4,097-byte value",
            raw_context(("b", "1"), ("a", "v" * 4097)),
            "map key order",
        ),
        (
            "order_value_length_before_map_length",
            "three values of 4,096 bytes, then one of 4,097: over the value and the map limits",
            raw_context(*[(c, "v" * 4096) for c in "abc"], ("d", "v" * 4097)),
            "map value length bounds",
        ),
        (
            "order_value_utf8_before_map_length",
            "a map over 16,384 bytes whose last value is not UTF-8",
            raw_context(*[(c, "v" * 4096) for c in "abc"], ("d", b"\xff" * 4096)),
            "UTF-8",
        ),
        (
            "order_value_character_before_map_length",
            "a map over 16,384 bytes whose last value holds a newline",
            raw_context(*[(c, "v" * 4096) for c in "abc"], ("d", "\n" * 4096)),
            "forbidden character",
        ),
        (
            "order_map_count_before_pairs",
            "count 65 and no pairs at all: the count fails before any pair is looked for",
            struct.pack(">H", 65),
            "map count bounds",
        ),
        (
            "order_key_length_before_key_bytes",
            "a key length of 256 and the header ends first",
            struct.pack(">HH", 1, 256),
            "map key length bounds",
        ),
        (
            "order_value_length_before_value_bytes",
            "a value length of 4,097 and the header ends first",
            struct.pack(">HH", 1, 1) + b"k" + struct.pack(">H", 4097),
            "map value length bounds",
        ),
    ]
    for name, description, raw, check in pairs:
        # A short map leaves the key section to be read as map bytes: one tiny wrap
        # keeps the header shorter than any length the map announces.
        add(name, description, key + check, context_raw=raw, wraps=_tiny)

    add(
        "order_kind_length_before_kind_bytes",
        "kind_len 33 and the header ends first",
        HEADER + "kind length bounds",
        context_raw=_PAD,
        wraps=lambda dek, d: [bytes([33])],
    )
    add(
        "order_key_id_length_before_key_id_bytes",
        "key_id_len 1,025 and the header ends first",
        HEADER + "key id length bounds",
        context_raw=_PAD,
        wraps=lambda dek, d: [b"\x06memory" + struct.pack(">H", 1025)],
    )
    add(
        "order_payload_length_before_payload_bytes",
        "payload_len 4,097 and the header ends first",
        HEADER + "payload length bounds",
        wraps=lambda dek, d: [raw_wrap(b"memory", b"default", 1, b"", payload_len=4097)],
    )
    add(
        "order_kind_pattern_before_key_id_length",
        "kind 'Memory' and the header ends right after it",
        HEADER + "kind pattern",
        context_raw=_PAD,
        wraps=lambda dek, d: [b"\x06Memory"],
    )
    add(
        "order_kind_pattern_before_key_id",
        "kind 'Memory' and a key id length of 0",
        HEADER + "kind pattern",
        wraps=lambda dek, d: [raw_wrap(b"Memory", b"", 1, b"\x00")],
    )


# a context that lifts a header cut short by a length field over 134 bytes
_PAD = raw_context(("pad", "p" * 40))


def _tiny(dek: bytes, d: bytes) -> list[bytes]:
    return [raw_wrap(b"m", b"k", 1, b"\x00")]


def _forbidden_pins(add: Add) -> None:
    """Both ends of every range of 3.6 (the surrogates cannot be written as UTF-8)."""
    allowed = []
    for lo, hi in FORBIDDEN_RANGES:
        allowed += [lo - 1, hi + 1]
        if 0xD800 <= lo <= 0xDFFF:
            continue
        for cp in sorted({lo, hi}):
            add(
                f"forbidden_u{cp:04x}",
                f"U+{cp:04X} in a context value ({'first' if cp == lo else 'last'} of its range)",
                HEADER + "forbidden character",
                context_raw=raw_context(("k", f"a{chr(cp)}b")),
            )
    neighbours = sorted(
        cp
        for cp in set(allowed)
        if cp >= 0x20
        and not 0xD800 <= cp <= 0xDFFF
        and not any(lo <= cp <= hi for lo, hi in FORBIDDEN_RANGES)
    )
    add(
        "forbidden_neighbours_allowed",
        "every code point just outside a range of 3.6, in one context value",
        "success",
        context_raw=raw_context(("k", "".join(chr(cp) for cp in neighbours))),
    )


def _caller_pins(add: Add) -> None:
    """3.3's limits on the opener's own maps, at the limit and one past it."""
    big = dict.fromkeys("abc", "v" * 4096)
    at_limit = {**{f"k{i:02d}": "v" for i in range(63)}, "z": "v" * 4096}
    exact = {**big, "d": "v" * 4074}
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "caller_context_key_255_bytes",
            "the opener asks for a 255-byte key",
            "success",
            {"context_raw": raw_context(("k" * 255, "v")), "context_given": {"k" * 255: "v"}},
        ),
        (
            "caller_context_64_pairs_and_4096_byte_value",
            "the opener asks for all 64 pairs of the context, one with a 4,096-byte value",
            "success",
            {"context_raw": raw_context(*sorted(at_limit.items())), "context_given": at_limit},
        ),
        (
            "caller_context_16384_bytes",
            "the opener asks for a whole context of exactly 16,384 bytes",
            "success",
            {"context_raw": raw_context(*sorted(exact.items())), "context_given": exact},
        ),
        (
            "context_subset",
            "the document's context has two pairs, the opener asks for one",
            "success",
            {
                "context_raw": raw_context(("doc", "stmt-1"), ("tenant", "acme")),
                "context_given": {"tenant": "acme"},
            },
        ),
        (
            "context_reserved_key_asked",
            "the opener asks for the document's sealdoc:filename: compared like any pair",
            "success",
            {
                "context_raw": raw_context(("sealdoc:filename", "statement.pdf")),
                "context_given": {"sealdoc:filename": "statement.pdf"},
            },
        ),
        (
            "caller_context_key_256_bytes",
            "the opener asks for a 256-byte key",
            ARGUMENT + "caller map",
            {"context_given": {"k" * 256: "v"}},
        ),
        (
            "caller_context_empty_key",
            "the opener asks for an empty key",
            ARGUMENT + "caller map",
            {"context_given": {"": "v"}},
        ),
        (
            "caller_context_value_4097_bytes",
            "the opener asks for a 4,097-byte value",
            ARGUMENT + "caller map",
            {"context_given": {"k": "v" * 4097}},
        ),
        (
            "caller_context_16385_bytes",
            "the opener asks for a map of 16,385 bytes, each pair within its limits",
            ARGUMENT + "caller map",
            {"context_given": {**big, "d": "v" * 4075}},
        ),
        (
            "caller_binding_over_limit",
            "the opener's binding has 65 pairs",
            ARGUMENT + "caller map",
            {"binding_given": {f"k{i:02d}": "v" for i in range(65)}},
        ),
        (
            "caller_binding_empty_key",
            "the opener's binding has an empty key",
            ARGUMENT + "caller map",
            {"binding_given": {"": "v"}},
        ),
    ]
    for name, description, expect, given in cases:
        add(name, description, expect, **given)


def _keyring_pins(add: Add) -> None:
    add(
        "memory_other_version_not_served",
        "a wrap of default#2 under the KEK the opener holds as default#1",
        OPEN + "no key unwraps",
        wraps=lambda dek, d: [memory_wrap("a", dek, d, version=2)],
    )
    add(
        "memory_other_key_id_not_served",
        "a wrap of 'escrow' under the KEK the opener holds as 'default'",
        OPEN + "no key unwraps",
        wraps=lambda dek, d: [memory_wrap("a", dek, d, key_id=b"escrow")],
    )
    add(
        "memory_other_kind_not_served",
        "a 'local' wrap under the KEK the opener holds as a 'memory' key",
        OPEN + "no key unwraps",
        wraps=lambda dek, d: [memory_wrap("a", dek, d, kind=b"local")],
    )
    add(
        "memory_wrong_length_counts",
        "a 59-byte wrap, a wrap under another KEK, then a good one, all default#1: the"
        " declined one is a try",
        OPEN + "no key unwraps",
        wraps=lambda dek, d: [
            memory_wrap("a", dek, d, cut=1),
            memory_wrap("z", dek, d),
            memory_wrap("a", dek, d),
        ],
    )
    add(
        "memory_keys_are_providers_of_their_own",
        "a bad wrap and a good one of default#1; the opener holds two keys default#1, the"
        " second the right one: each key object is a provider with its own two tries",
        "success",
        opener=[key_entry("z"), key_entry("a")],
        wraps=lambda dek, d: [memory_wrap("y", dek, d), memory_wrap("a", dek, d)],
    )
    add(
        "commitment_mismatch_then_next_wrap",
        "the first wrap unwraps to another key (its commitment differs), the second is right",
        "success",
        wraps=lambda dek, d: [_wrap_of_other_key(d), memory_wrap("a", dek, d)],
    )


def _wrap_of_other_key(digest: bytes) -> bytes:
    """A good default#1 wrap (8.1) of a DEK that is not the document's."""
    nonce = Drbg("wrap of another DEK")(12)
    ad = raw_wrap_ad(b"memory", b"default", 1, digest)
    return raw_wrap(
        b"memory", b"default", 1, nonce + AESGCM(kek("a")).encrypt(nonce, bytes(32), ad)
    )


def _password_pins(add: Add) -> None:
    pw = [password_entry()]

    def valid(params: bytes, **kw: Any) -> Wraps:
        return lambda dek, d: [password_wrap(PASSWORD, dek, d, params=params, **kw)]

    def good() -> Callable[[bytes, bytes], bytes]:
        return lambda dek, d: password_wrap(PASSWORD, dek, d, params=argon2_params())

    add(
        "password_kdf_below_floor",
        "a valid wrap at Argon2id 7,167 KiB x 6 passes: under the memory floor only",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=valid(argon2_params(7167, 6)),
    )
    add(
        "password_argon2_cost_below_floor",
        "a valid wrap at Argon2id 38,911 KiB x 1 pass: under the memory x passes floor only",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=valid(argon2_params(38911, 1)),
    )
    add(
        "password_argon2_memory_floor",
        "Argon2id at 7,168 KiB x 6 passes: the memory floor, reached",
        "success",
        opener=pw,
        wraps=valid(argon2_params(7168, 6)),
    )
    add(
        "password_argon2_passes_ceiling",
        "Argon2id at 7,168 KiB x 16 passes: the passes ceiling, reached",
        "success",
        opener=pw,
        wraps=valid(argon2_params(7168, 16)),
    )
    add(
        "password_pbkdf2_below_floor",
        "a valid wrap at PBKDF2 599,999 iterations",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=valid(pbkdf2_params(599_999)),
    )
    add(
        "password_kdf1_with_pbkdf2_layout",
        "KDF id 1 on an 81-byte wrap laid out (and keyed) as PBKDF2: the id and the length"
        " disagree",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=valid(struct.pack(">BI", 1, 600_000), derive_as=2),
    )
    add(
        "password_kdf2_with_argon2_layout",
        "KDF id 2 on an 85-byte wrap laid out (and keyed) as Argon2id",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=valid(struct.pack(">BII", 2, 19 * 1024, 2), derive_as=1),
    )
    for why, bad in [
        (
            "version 2",
            lambda dek, d: password_wrap(PASSWORD, dek, d, params=argon2_params(), version=2),
        ),
        (
            "length 84",
            lambda dek, d: password_wrap(PASSWORD, dek, d, params=argon2_params(), cut=1),
        ),
        (
            "KDF id 3",
            lambda dek, d: password_wrap(
                PASSWORD, dek, d, params=struct.pack(">BII", 3, 0, 0), derive_key=False
            ),
        ),
    ]:
        tag = why.replace(" ", "_").lower()
        add(
            f"password_declined_{tag}_counts",
            f"four wraps declined by their {why}, then the opener's: the fifth is not tried",
            OPEN + "no key unwraps",
            opener=pw,
            wraps=lambda dek, d, bad=bad: [*(bad(dek, d) for _ in range(4)), good()(dek, d)],
        )
