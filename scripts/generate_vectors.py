"""Write the format v1 test vectors into tests/vectors/.

Run: python scripts/generate_vectors.py [--check]

Every byte comes from a fixed seed through sealdoc's private hooks (the DEK,
the salt, the nonce prefix and the key-wrap nonces), so the output is
identical on every run; ``--check`` fails if the files in the repo differ
from what the code makes now. Each vector's ``expect`` says what opening it
must give: ``success``, or the stage and the check that fails
(docs/vectors.md). They are checked against sealdoc and against
tests/independent_decoder.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from vector_gaps import gap_vectors
from vector_hybrid import FrozenHybridRecipient, hybrid_entry
from vector_kit import (
    OUT,
    SEG,
    FixedHpkeRecipient,
    commitment_mismatch,
    flip,
    header_len,
    key_entry,
    password,
    password_entry,
    plaintext,
    ring,
    seal_fixed,
    vector,
    x25519_entry,
)

from sealdoc import Suite
from sealdoc import _format as fmt


def build() -> list[dict[str, Any]]:
    a = [key_entry("a")]
    vectors = []

    def success(name: str, description: str, data: bytes, **kw: Any) -> None:
        keys = kw.pop("keys", [ring("a")])
        opener = kw.pop("opener", a)
        sealed = seal_fixed(data, keys, label=name, **kw)
        vectors.append(
            vector(
                name,
                description,
                "success",
                sealed,
                keys=opener,
                data=data,
                context=kw.get("context"),
                binding=kw.get("binding"),
            )
        )

    success("empty", "empty plaintext: one empty last segment", b"")
    success("one_byte", "a single byte", plaintext(1))
    success("one_full_segment", "exactly one segment, flagged last", plaintext(SEG))
    success("three_full_segments", "an exact multiple of the segment size", plaintext(3 * SEG))
    success("multi_segment", "four segments, the last partial", plaintext(3 * SEG + 17))
    success(
        "several_wrapped_keys",
        "three wrapped keys; the opener holds only the third",
        plaintext(100),
        keys=[ring("a"), ring("b", key_id="escrow"), ring("c", key_id="dr", version=7)],
        opener=[key_entry("c", key_id="dr", version=7)],
    )
    success(
        "context",
        "an encryption context, checked on open",
        plaintext(100),
        context={"doc": "stmt-2026-11", "tenant": "acme"},
    )
    success(
        "binding",
        "a binding: authenticated, not stored",
        plaintext(100),
        binding={"customer": "C-1029"},
    )
    success(
        "chacha20_poly1305",
        "suite 2",
        plaintext(150),
        suite=Suite.CHACHA20_POLY1305_HKDF_SHA256_COMMIT,
    )
    success(
        "default_segment_size",
        "the writers' default segment size",
        plaintext(1000),
        segment_size=fmt.DEFAULT_SEGMENT_SIZE,
    )

    success(
        "password_argon2id",
        "a password wrap, Argon2id (8.2, kdf 1); the password is given in NFD",
        plaintext(100),
        keys=[password("argon2id")],
        opener=[password_entry("vector password, cafe\u0301")],
    )
    success(
        "password_pbkdf2",
        "a password wrap, PBKDF2-HMAC-SHA256 at 600,000 iterations (8.2, kdf 2)",
        plaintext(100),
        keys=[password("pbkdf2", kdf="pbkdf2-sha256", iterations=600_000, memory_kib=0)],
        opener=[password_entry()],
    )
    success(
        "x25519",
        "a device wrap (8.3), next to a password wrap; the opener holds the device key",
        plaintext(100),
        keys=[password("x25519"), FixedHpkeRecipient("device", "ephemeral")],
        opener=[x25519_entry("device")],
    )
    success(
        "text_invisible_characters_allowed",
        "invisible Default_Ignorable characters outside 3.6's table (Hangul filler, "
        "variation selector, combining grapheme joiner) in the context: allowed, the "
        "document opens; a reader escapes them when it shows them",
        plaintext(100),
        context={"tenant": "acme\u3164", "mood": "\u2764\ufe0f", "name": "a\u034fb\u115f\u1160"},
    )

    success(
        "hybrid",
        "a post-quantum device wrap (8.6) next to a password wrap; the opener holds the device",
        plaintext(100),
        keys=[password("hybrid"), FrozenHybridRecipient("device")],
        opener=[hybrid_entry("device")],
    )

    ctx = {"tenant": "acme"}
    base = seal_fixed(plaintext(3 * SEG + 17), [ring("a")], label="base", context=ctx)
    hl = header_len(base)
    seg_ct = SEG + fmt.TAG_LEN
    body = base[hl:]
    segs = [body[i : i + seg_ct] for i in range(0, len(body), seg_ct)]
    key_count_offset = fmt.PRELUDE_LEN + len(fmt.parse_header(base[:hl]).core_bytes)
    context_offset = key_count_offset - 4  # the context value "acme" ends the core
    assert base[context_offset:key_count_offset] == b"acme"

    def failure(name: str, description: str, expect: str, sealed: bytes, **kw: Any) -> None:
        vectors.append(
            vector(
                name,
                description,
                expect,
                sealed,
                keys=kw.pop("keys", a),
                context=kw.pop("context", ctx),
                **kw,
            )
        )

    failure(
        "header_bit_flip",
        "a bit flipped in the context",
        "open failure: no key unwraps",
        flip(base, context_offset),
        context={},
    )
    failure(
        "salt_bit_flip", "a bit flipped in the salt", "open failure: no key unwraps", flip(base, 16)
    )
    failure(
        "wrapped_key_bit_flip",
        "a bit flipped in the wrapped key payload",
        "open failure: no key unwraps",
        flip(base, hl - 33),
    )
    failure(
        "segment_bit_flip",
        "a bit flipped in segment 1's ciphertext",
        "payload failure: segment authentication",
        flip(base, hl + seg_ct + 5),
    )
    failure(
        "tag_bit_flip",
        "a bit flipped in segment 0's tag",
        "payload failure: segment authentication",
        flip(base, hl + seg_ct - 1, 7),
    )
    failure(
        "truncated_at_segment_boundary",
        "the last segment removed",
        "payload failure: segment authentication",
        base[: hl + 3 * seg_ct],
    )
    failure(
        "truncated_in_tag",
        "the body ends inside the last tag",
        "payload failure: segment authentication",
        base[:-5],
    )
    failure(
        "appended_segment",
        "a copy of segment 0 appended",
        "payload failure: segment authentication",
        base + segs[0],
    )
    failure(
        "swapped_segments",
        "segments 0 and 1 swapped",
        "payload failure: segment authentication",
        base[:hl] + segs[1] + segs[0] + b"".join(segs[2:]),
    )
    failure(
        "wrong_context",
        "the opener expects another tenant",
        "open failure: context mismatch",
        base,
        context={"tenant": "globex"},
    )
    failure(
        "wrong_key",
        "the opener holds another KEK",
        "open failure: no key unwraps",
        base,
        keys=[key_entry("z")],
    )
    failure(
        "commitment_mismatch",
        "stored commitment differs from the derived one",
        "open failure: no key unwraps",
        commitment_mismatch(),
        context={},
    )
    failure(
        "header_mac_mismatch",
        "a bit flipped in the header MAC",
        "open failure: header MAC",
        flip(base, hl - 1),
    )
    bound = seal_fixed(plaintext(10), [ring("a")], label="bound", binding={"customer": "C-1"})
    failure(
        "wrong_binding",
        "the opener gives another binding",
        "open failure: no key unwraps",
        bound,
        context={},
        binding={"customer": "C-2"},
    )
    failure(
        "missing_binding",
        "the opener gives no binding",
        "open failure: binding missing",
        bound,
        context={},
    )
    by_password = seal_fixed(plaintext(10), [password("wrong")], label="password_wrong")
    failure(
        "password_wrong",
        "the opener types another password",
        "open failure: no key unwraps",
        by_password,
        context={},
        keys=[password_entry("vector password, cafe")],
    )
    for_pq_device = seal_fixed(
        plaintext(10), [FrozenHybridRecipient("device")], label="hybrid_other"
    )
    failure(
        "hybrid_other_device",
        "sealed for one post-quantum device (8.6), opened by another",
        "open failure: no key unwraps",
        for_pq_device,
        context={},
        keys=[hybrid_entry("another device")],
    )
    for_device = seal_fixed(
        plaintext(10), [FixedHpkeRecipient("device", "ephemeral 2")], label="x25519_other"
    )
    failure(
        "x25519_other_device",
        "sealed for one device, opened by another",
        "open failure: no key unwraps",
        for_device,
        context={},
        keys=[x25519_entry("another device")],
    )
    failure(
        "not_sealed", "plain text", "header failure: magic", b"Dear customer, your statement..."
    )
    failure("bad_magic", "magic altered", "header failure: magic", flip(base, 0))
    failure(
        "unsupported_version", "version 2", "header failure: version", base[:4] + b"\x02" + base[5:]
    )
    failure(
        "header_length_over_limit",
        "header_len above 256 KiB",
        "header failure: header_len bounds",
        base[:5] + (fmt.MAX_HEADER_LEN + 1).to_bytes(4, "big") + base[9:],
    )
    failure(
        "truncated_header",
        "the document ends inside its header",
        "header failure: truncated header",
        base[:100],
    )
    failure(
        "unknown_suite", "suite 0x00ff", "header failure: suite", base[:9] + b"\x00\xff" + base[11:]
    )
    failure("unknown_flag", "flag bit 1 set", "header failure: flags", flip(base, 11, 1))
    failure(
        "segment_size_too_small",
        "segment size 16",
        "header failure: segment size bounds",
        base[:12] + (16).to_bytes(4, "big") + base[16:],
    )
    failure(
        "zero_wrapped_keys",
        "key_count 0",
        "header failure: key count bounds",
        base[:key_count_offset] + b"\x00" + base[key_count_offset + 1 :],
    )
    vectors += gap_vectors()
    return vectors


def render(v: Mapping[str, Any]) -> str:
    return json.dumps(v, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the files differ")
    args = parser.parse_args(argv)
    vectors = build()
    names = {v["name"] for v in vectors}
    stale: list[str] = []
    OUT.mkdir(parents=True, exist_ok=True)
    for v in vectors:
        path = OUT / f"{v['name']}.json"
        text = render(v)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    for path in OUT.glob("*.json"):
        if path.stem not in names:
            stale.append(path.name)
            if not args.check:
                path.unlink()
    if args.check and stale:
        print("vectors differ from the code:", ", ".join(sorted(stale)), file=sys.stderr)
        return 1
    print(f"{len(vectors)} vectors {'checked' if args.check else 'written'} in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
