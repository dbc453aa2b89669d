"""Vectors for the opening checks of format.md 9: context, binding, keys, budgets.

Part of scripts/vector_gaps.py's set (docs/vectors.md); forged documents,
one check each.
"""

from __future__ import annotations

import struct
from typing import Any

from vector_kit import (
    PASSWORD,
    FixedHpkeRecipient,
    argon2_params,
    key_entry,
    memory_wrap,
    password_entry,
    password_wrap,
    pbkdf2_params,
    plaintext,
    raw_map,
    raw_wrap,
    x25519_entry,
)

from sealdoc.providers import AssociatedData

A = [key_entry("a")]
DATA = plaintext(100)
HEADER = "header failure: "
OPEN = "open failure: "
PAYLOAD = "payload failure: "
ARGUMENT = "argument failure: "


def raw_context(*pairs: tuple[str | bytes, str | bytes], count: int | None = None) -> bytes:
    def raw(x: str | bytes) -> bytes:
        return x if isinstance(x, bytes) else x.encode()

    return raw_map([(raw(k), raw(v)) for k, v in pairs], count)


def binding_vectors(add: Any) -> None:
    add(
        "binding_given_none_required",
        "the opener gives a binding the document does not have",
        OPEN + "binding not required",
        binding_given={"customer": "C-1"},
    )
    add(
        "binding_empty_is_none",
        "an empty binding map is the same as none",
        "success",
        binding_given={},
    )
    bound = {"name": "Ren\u00e9e"}  # NFC
    add(
        "binding_not_normalised",
        "sealed with NFC 'Ren\u00e9e', opened with NFD: no normalisation",
        OPEN + "no key unwraps",
        binding=bound,
        binding_given={"name": "Rene\u0301e"},
    )
    add(
        "context_not_normalised",
        "the document has NFC 'caf\u00e9', the opener asks NFD",
        OPEN + "context mismatch",
        context_raw=raw_context(("shop", "caf\u00e9")),
        context_given={"shop": "cafe\u0301"},
    )
    add(
        "context_before_binding",
        "a wrong context and a missing binding: context comes first",
        OPEN + "context mismatch",
        binding={"customer": "C-1"},
        context_raw=raw_context(("t", "a")),
        context_given={"t": "b"},
        binding_given=None,
    )
    add(
        "binding_before_keys",
        "a missing binding and a wrong key: the binding comes first",
        OPEN + "binding missing",
        binding={"customer": "C-1"},
        binding_given=None,
        opener=[key_entry("z")],
    )
    add(
        "caller_binding_forbidden_character",
        "the opener's binding holds a newline",
        ARGUMENT + "caller map",
        binding_given={"customer": "C-1\nforged"},
    )
    add(
        "caller_context_over_limit",
        "the opener's context has 65 pairs",
        ARGUMENT + "caller map",
        context_given={f"k{i:02d}": "v" for i in range(65)},
    )


def password_vectors(add: Any) -> None:
    pw = [password_entry()]

    def wraps(*made: Any) -> Any:
        return lambda dek, d: [m(dek, d) for m in made]

    def good(label: bytes = b"password", version: int = 1) -> Any:
        return lambda dek, d: password_wrap(
            PASSWORD, dek, d, params=argon2_params(), label=label, version=version
        )

    def other(name: str) -> Any:
        return lambda dek, d: password_wrap(name, dek, d, params=argon2_params())

    def refused(params: bytes) -> Any:
        return lambda dek, d: password_wrap(PASSWORD, dek, d, params=params, derive_key=False)

    add(
        "password_label_not_checked",
        "a password wrap labelled 'statement-2026'",
        "success",
        opener=pw,
        wraps=wraps(good(b"statement-2026")),
    )
    add(
        "password_version_2",
        "a password wrap with key_version 2: declined",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=wraps(good(version=2)),
    )
    add(
        "password_argon2_passes_over_ceiling",
        "Argon2id at 19 MiB x 17 passes, a valid wrap",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=lambda dek, d: [password_wrap(PASSWORD, dek, d, params=argon2_params(19 * 1024, 17))],
    )
    # Over a ceiling, each a valid wrap: a reader that skipped the bound would open it.
    for name, description, params in [
        (
            "password_argon2_memory_over_ceiling",
            "Argon2id at 1,048,577 KiB x 1 pass",
            argon2_params(1048577, 1),
        ),
        (
            "password_argon2_cost_over_ceiling",
            "Argon2id at 838,861 KiB x 5 passes (4,194,305 KiB-passes, one over)",
            argon2_params(838861, 5),
        ),
        (
            "password_pbkdf2_over_ceiling",
            "PBKDF2 at 10,000,001 iterations",
            pbkdf2_params(10_000_001),
        ),
    ]:
        add(
            name,
            f"{description}, a valid wrap: refused unread",
            OPEN + "no key unwraps",
            opener=pw,
            wraps=lambda dek, d, params=params: [password_wrap(PASSWORD, dek, d, params=params)],
        )
    # Each ceiling reached exactly opens: the costliest vectors (about 2 s of KDF each).
    for name, description, params in [
        (
            "password_argon2_memory_ceiling",
            "Argon2id at 1,048,576 KiB x 1 pass",
            argon2_params(1048576, 1),
        ),
        (
            "password_argon2_cost_ceiling",
            "Argon2id at 262,144 KiB x 16 passes (4 GiB-passes)",
            argon2_params(262144, 16),
        ),
        ("password_pbkdf2_ceiling", "PBKDF2 at 10,000,000 iterations", pbkdf2_params(10_000_000)),
    ]:
        add(
            name,
            f"{description}: the ceiling, reached",
            "success",
            opener=pw,
            wraps=lambda dek, d, params=params: [password_wrap(PASSWORD, dek, d, params=params)],
        )
    add(
        "password_unknown_kdf_declines_only_that_wrap",
        "KDF id 3, then a good wrap",
        "success",
        opener=pw,
        wraps=wraps(refused(struct.pack(">BII", 3, 0, 0)), good()),
    )
    add(
        "password_wrong_length_declines_only_that_wrap",
        "an 84-byte Argon2id wrap, then a good one",
        "success",
        opener=pw,
        wraps=lambda dek, d: [
            password_wrap(PASSWORD, dek, d, params=argon2_params(), cut=1),
            good()(dek, d),
        ],
    )
    add(
        "password_fifth_wrap_is_not_tried",
        "four wraps under other passwords, the opener's fifth",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=wraps(other("one"), other("two"), other("three"), other("four"), good()),
    )
    add(
        "password_refused_wraps_count",
        "four wraps refused by the bounds, the opener's fifth",
        OPEN + "no key unwraps",
        opener=pw,
        wraps=wraps(*[refused(argon2_params(19 * 1024, 17 + i)) for i in range(4)], good()),
    )
    add(
        "password_cap_is_per_password",
        "wraps X, X, X, B; the opener holds A then B",
        "success",
        opener=[password_entry("password A, unused"), password_entry("password B")],
        wraps=lambda dek, d: (
            [password_wrap("x", dek, d, params=argon2_params())] * 3
            + [password_wrap("password B", dek, d, params=argon2_params())]
        ),
    )


def key_vectors(add: Any) -> None:
    add(
        "local_kind",
        "a 'local' keyring wrap (8.1)",
        "success",
        opener=[dict(key_entry("a"), kind="local")],
        wraps=lambda dek, d: [memory_wrap("a", dek, d, kind=b"local")],
    )
    add(
        "memory_wrong_length_declines_only_that_wrap",
        "a 59-byte memory wrap, then a good one",
        "success",
        wraps=lambda dek, d: [memory_wrap("a", dek, d, cut=1), memory_wrap("a", dek, d)],
    )
    add(
        "memory_two_tries_per_key",
        "three wraps of memory:default#1, only the third opens",
        OPEN + "no key unwraps",
        wraps=lambda dek, d: [
            memory_wrap("z", dek, d),
            memory_wrap("y", dek, d),
            memory_wrap("a", dek, d),
        ],
    )
    add(
        "memory_other_key_still_tried",
        "escrow#1 under another KEK, a wrap of a key the opener lacks, then a good escrow#1:"
        " a wrap the opener does not serve is no try, so escrow's second try opens it",
        "success",
        opener=[key_entry("a", "escrow")],
        wraps=lambda dek, d: [
            memory_wrap("z", dek, d, key_id=b"escrow"),
            memory_wrap("y", dek, d, key_id=b"other"),
            memory_wrap("a", dek, d, key_id=b"escrow"),
        ],
    )
    add(
        "text_allowed",
        "non-ASCII text that is not forbidden: accents, CJK, emoji, a combining mark",
        "success",
        opener=[key_entry("a", "cl\u00e9-\u6771\u4eac")],
        context_raw=raw_context(("e\u0301", "\U0001f600"), ("name", "Zo\u00eb \u6771\u4eac")),
        wraps=lambda dek, d: [memory_wrap("a", dek, d, key_id="cl\u00e9-\u6771\u4eac".encode())],
    )
    add(
        "map_byte_order",
        "keys 'a' < 'ab' < U+FF21 < U+1F600, by their UTF-8 bytes",
        "success",
        context_raw=raw_context(("a", "1"), ("ab", "2"), ("\uff21", "3"), ("\U0001f600", "4")),
    )
    add(
        "map_exactly_16384_bytes",
        "a context of exactly 16,384 bytes, its count included",
        "success",
        context_raw=raw_context(
            ("a", "v" * 4096), ("b", "v" * 4096), ("c", "v" * 4096), ("d", "v" * 4074)
        ),
    )


def x25519_vectors(add: Any) -> None:
    def hpke(label: str = "device", version: int = 1) -> Any:
        recipient = FixedHpkeRecipient("device", "ephemeral gap", label, version)
        return lambda dek, d: [_as_raw(recipient.wrap(dek, AssociatedData(digest=d)))]

    add(
        "x25519_label_not_checked",
        "a device wrap labelled 'phone'",
        "success",
        opener=[x25519_entry("device")],
        wraps=hpke("phone"),
    )
    add(
        "x25519_version_2",
        "a device wrap with key_version 2: declined",
        OPEN + "no key unwraps",
        opener=[x25519_entry("device")],
        wraps=hpke(version=2),
    )


def _as_raw(wk: Any) -> bytes:
    return raw_wrap(wk.kind.encode(), wk.key_id.encode(), wk.version, wk.payload)
