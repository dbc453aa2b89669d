"""The vectors that pin format.md's rules one check at a time (docs/vectors.md).

Each failure vector is a forged document (vector_kit.forge) that is valid in
every respect but the one its ``expect`` names, so that a reader that skips
the check opens it instead of failing.
"""

from __future__ import annotations

from typing import Any

from vector_hybrid import hybrid_vectors
from vector_kit import SEG, forge, key_entry, memory_wrap, plaintext, raw_wrap, vector
from vector_open import (
    DATA,
    HEADER,
    PAYLOAD,
    A,
    binding_vectors,
    key_vectors,
    password_vectors,
    raw_context,
    x25519_vectors,
)
from vector_pins import pin_vectors

from sealdoc import _format as fmt


def _map_vectors(add: Any) -> None:
    add(
        "map_key_order",
        "context keys b, a: not ascending",
        HEADER + "map key order",
        context_raw=raw_context(("b", "1"), ("a", "2")),
    )
    add(
        "map_duplicate_key",
        "context key a twice",
        HEADER + "map key order",
        context_raw=raw_context(("a", "1"), ("a", "1")),
    )
    add(
        "map_utf16_order",
        "keys sorted as UTF-16 would (U+1F600 before U+FF21), not as bytes",
        HEADER + "map key order",
        context_raw=raw_context(("\U0001f600", "x"), ("\uff21", "y")),
    )
    add(
        "map_key_invalid_utf8",
        "a context key of bytes ff fe",
        HEADER + "UTF-8",
        context_raw=raw_context((b"\xff\xfe", "x")),
    )
    add(
        "map_value_invalid_utf8",
        "an overlong UTF-8 encoding of '/' in a value",
        HEADER + "UTF-8",
        context_raw=raw_context(("k", b"\xc0\xaf")),
    )
    add(
        "map_value_surrogate",
        "a UTF-8-encoded surrogate (ed a0 80) in a value",
        HEADER + "UTF-8",
        context_raw=raw_context(("k", b"\xed\xa0\x80")),
    )
    add(
        "map_count_over_limit",
        "65 context pairs",
        HEADER + "map count bounds",
        context_raw=raw_context(*[(f"k{i:02d}", "v") for i in range(65)]),
    )
    add(
        "map_empty_key",
        "a context key of 0 bytes",
        HEADER + "map key length bounds",
        context_raw=raw_context(("", "v")),
    )
    add(
        "map_key_too_long",
        "a context key of 256 bytes",
        HEADER + "map key length bounds",
        context_raw=raw_context(("k" * 256, "v")),
    )
    add(
        "map_value_too_long",
        "a context value of 4,097 bytes",
        HEADER + "map value length bounds",
        context_raw=raw_context(("k", "v" * 4097)),
    )
    add(
        "map_over_16384_bytes",
        "a context of 16,385 bytes, its 2-byte count included",
        HEADER + "map length",
        context_raw=raw_context(
            ("a", "v" * 4096), ("b", "v" * 4096), ("c", "v" * 4096), ("d", "v" * 4075)
        ),
    )


def _text_vectors(add: Any) -> None:
    cases = [
        ("text_newline_in_context_value", "a newline in a context value", ("k", "line\nforged")),
        (
            "text_escape_in_context_key",
            "ESC [2J (clear screen) in a context key",
            ("k\x1b[2J", "v"),
        ),
        ("text_del_in_context_value", "DEL in a context value", ("k", "a\x7fb")),
        (
            "text_c1_in_context_value",
            "C1 control U+009B (CSI) in a context value",
            ("k", "a\x9b2J"),
        ),
        (
            "text_bidi_override_in_context_value",
            "U+202E right-to-left override",
            ("f", "txt.\u202eexe"),
        ),
        ("text_bidi_isolate_in_context_key", "U+2066 left-to-right isolate", ("\u2066k", "v")),
        ("text_line_separator_in_context_value", "U+2028 line separator", ("k", "a\u2028b")),
        ("text_bom_in_context_value", "U+FEFF zero-width no-break space", ("k", "\ufeffv")),
        ("text_tag_in_context_value", "U+E0041 tag latin capital A", ("k", "v\U000e0041")),
    ]
    for name, description, pair in cases:
        add(name, description, HEADER + "forbidden character", context_raw=raw_context(pair))
    for name, description, key_id in [
        ("text_isolate_in_key_id", "U+2067 right-to-left isolate in a key id", "ten\u2067ant"),
        ("text_nul_in_key_id", "NUL in a key id", "default\x00"),
    ]:
        raw = key_id.encode()
        add(
            name,
            description,
            HEADER + "forbidden character",
            wraps=lambda dek, d, raw=raw: [memory_wrap("a", dek, d, key_id=raw)],
        )


def _key_section_vectors(add: Any) -> None:
    def one(**kw: Any) -> Any:
        return lambda dek, d: [memory_wrap("a", dek, d, **kw)]

    add("kind_uppercase", "kind 'Memory'", HEADER + "kind pattern", wraps=one(kind=b"Memory"))
    add(
        "kind_not_ascii",
        "kind 'm\u00e9mory' in UTF-8",
        HEADER + "kind pattern",
        wraps=one(kind="m\u00e9mory".encode()),
    )
    add("kind_leading_dot", "kind '.memory'", HEADER + "kind pattern", wraps=one(kind=b".memory"))
    add("kind_empty", "kind_len 0", HEADER + "kind length bounds", wraps=one(kind=b""))
    add(
        "kind_too_long",
        "a kind of 33 bytes",
        HEADER + "kind length bounds",
        wraps=one(kind=b"m" * 33),
    )
    add("key_id_empty", "key_id_len 0", HEADER + "key id length bounds", wraps=one(key_id=b""))
    add(
        "key_id_too_long",
        "a key id of 1,025 bytes",
        HEADER + "key id length bounds",
        wraps=one(key_id=b"k" * 1025),
    )
    add(
        "key_id_longest",
        "a key id of 1,024 bytes",
        "success",
        wraps=one(key_id=b"k" * 1024),
        opener=[key_entry("a", "k" * 1024)],
    )
    add(
        "key_id_invalid_utf8",
        "a key id ending in a lone continuation byte",
        HEADER + "UTF-8",
        wraps=one(key_id=b"default\x80"),
    )
    add(
        "payload_empty",
        "payload_len 0",
        HEADER + "payload length bounds",
        wraps=lambda dek, d: [raw_wrap(b"memory", b"default", 1, b"")],
    )
    add(
        "payload_too_long",
        "a payload of 4,097 bytes",
        HEADER + "payload length bounds",
        wraps=lambda dek, d: [raw_wrap(b"memory", b"default", 1, b"\x00" * 4097)],
    )
    add(
        "payload_overruns_header",
        "payload_len one more than the payload: it runs into the MAC",
        HEADER + "field overruns header",
        wraps=one(payload_len=61),
    )
    add(
        "key_count_over_limit",
        "33 wraps, each valid",
        HEADER + "key count bounds",
        wraps=lambda dek, d: [memory_wrap("a", dek, d)] * 33,
    )
    add(
        "trailing_header_bytes",
        "3 zero bytes between the last wrap and the MAC, MAC over them",
        HEADER + "trailing header bytes",
        trailing=b"\x00\x00\x00",
    )
    add(
        "map_then_key_count",
        "a context out of order and key_count 0: the context fails first",
        HEADER + "map key order",
        context_raw=raw_context(("b", "1"), ("a", "2")),
        key_count=0,
        wraps=lambda dek, d: [],
    )


def _body_vectors(add: Any) -> None:
    def body(*segments: tuple[int, bool, bytes], extra: bytes = b"") -> Any:
        return lambda c: b"".join(c.seal(i, last, pt) for i, last, pt in segments) + extra

    full = plaintext(SEG)
    add("body_empty", "a header and no body at all", PAYLOAD + "body length", body=lambda c: b"")
    add(
        "body_empty_last_segment_after_full",
        "a full segment, then an empty last segment",
        PAYLOAD + "body length",
        body=body((0, False, full), (1, True, b"")),
    )
    add(
        "body_last_segment_one_byte",
        "a full last segment and one more byte",
        PAYLOAD + "body length",
        body=body((0, True, full), extra=b"\x00"),
    )
    add(
        "body_single_segment_15_bytes",
        "one segment of 15 bytes: shorter than a tag",
        PAYLOAD + "body length",
        body=lambda c: c.seal(0, True, b"")[:15],
    )


def _prelude_vectors(out: list[dict[str, Any]]) -> None:
    doc = forge("prelude", DATA)
    cases = [
        ("input_empty", "no bytes at all", b"", "magic"),
        ("input_magic_prefix", "the 3 bytes 'SDO'", b"SDO", "truncated header"),
        ("input_other_magic_4_bytes", "4 bytes that are not SDOC", b"SDOX", "magic"),
        ("input_version_2_short", "'SDOC' and version 2: 5 bytes", b"SDOC\x02", "version"),
        (
            "input_prelude_short",
            "magic, version and 1 byte of header_len",
            b"SDOC\x01\x00",
            "truncated header",
        ),
        (
            "header_len_below_minimum",
            "header_len 133",
            doc[:5] + (133).to_bytes(4, "big") + doc[9:],
            "header_len bounds",
        ),
        (
            "version_before_header_len",
            "version 2 and header_len 2^32-1: the version fails first",
            b"SDOC\x02\xff\xff\xff\xff" + doc[9:],
            "version",
        ),
        (
            "truncated_before_fields",
            "an unknown suite, and the document ends inside the header",
            (doc[:9] + b"\x00\xff" + doc[11:])[:120],
            "truncated header",
        ),
        (
            "suite_before_flags",
            "an unknown suite and an unknown flag",
            doc[:9] + b"\x00\xff\x80" + doc[12:],
            "suite",
        ),
        (
            "segment_size_over_limit",
            "segment size 16 MiB + 1",
            doc[:12] + (fmt.MAX_SEGMENT_SIZE + 1).to_bytes(4, "big") + doc[16:],
            "segment size bounds",
        ),
    ]
    for name, description, sealed, check in cases:
        out.append(vector(name, description, HEADER + check, sealed, keys=A))


def gap_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(
        name: str,
        description: str,
        expect: str,
        *,
        opener: list[dict[str, Any]] = A,
        context_given: dict[str, str] | None = None,
        binding_given: Any = ...,
        **forged: Any,
    ) -> None:
        sealed = forge(name, DATA, **forged)
        binding = forged.get("binding") if binding_given is ... else binding_given
        out.append(
            vector(
                name,
                description,
                expect,
                sealed,
                keys=opener,
                data=DATA if expect == "success" else None,
                context=context_given,
                binding=binding,
            )
        )

    _prelude_vectors(out)
    _map_vectors(add)
    _text_vectors(add)
    _key_section_vectors(add)
    _body_vectors(add)
    binding_vectors(add)
    password_vectors(add)
    key_vectors(add)
    x25519_vectors(add)
    hybrid_vectors(add)
    pin_vectors(add, out)
    return out
