"""Write the format v1 test vectors into tests/vectors/.

Run: python scripts/generate_vectors.py [--check]

Every byte comes from a fixed seed through sealdoc's private hooks (the DEK,
the salt, the nonce prefix and the key-wrap nonces), so the output is
identical on every run; ``--check`` fails if the files in the repo differ
from what the code makes now. Each vector says what opening it must give:
``success``, ``format`` (FormatError) or ``decryption`` (DecryptionError).
They are checked against sealdoc and against tests/independent_decoder.py.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from sealdoc import Suite
from sealdoc import _format as fmt
from sealdoc._envelope import _seal, sign_header
from sealdoc._schedule import derive, header_digest
from sealdoc._stream import SegmentCipher, segment_count
from sealdoc.providers import AssociatedData, KdfLimits, MemoryKeyring, Password, WrappedKey
from sealdoc.providers._keyring import wrap_ad

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors"
SEG = 64  # small segments keep multi-segment vectors small


class Drbg:
    """Deterministic bytes for vectors only (SHAKE-256 of a label and a counter)."""

    def __init__(self, label: str) -> None:
        self.label = label.encode()
        self.counter = 0

    def __call__(self, n: int) -> bytes:
        self.counter += 1
        return hashlib.shake_256(self.label + self.counter.to_bytes(4, "big")).digest(n)


def kek(name: str) -> bytes:
    return hashlib.sha256(b"sealdoc test KEK " + name.encode()).digest()


def ring(name: str, key_id: str = "default", version: int = 1) -> MemoryKeyring:
    return MemoryKeyring._from_secret(
        kek(name), key_id=key_id, version=version, randbytes=Drbg("wrap " + name)
    )


def key_entry(name: str, key_id: str = "default", version: int = 1) -> dict[str, Any]:
    return {"kind": "memory", "key_id": key_id, "version": version, "kek": kek(name).hex()}


PASSWORD = "vector password, caf\u00e9"  # noqa: S105 - a test vector; the accent exercises NFC
# The cheapest Argon2id an opener accepts (format.md 8.2): vectors stay fast.
ARGON2_MEMORY_KIB, ARGON2_ITERATIONS = 19 * 1024, 2


def password(label: str, **options: Any) -> Password:
    options.setdefault("memory_kib", ARGON2_MEMORY_KIB)
    options.setdefault("iterations", ARGON2_ITERATIONS)
    return Password(PASSWORD, _randbytes=Drbg("password " + label), **options)


def password_entry(secret: str = PASSWORD) -> dict[str, Any]:
    return {"kind": "password", "key_id": "password", "version": 1, "password": secret}


def x25519_private(name: str) -> bytes:
    return hashlib.sha256(b"sealdoc test X25519 " + name.encode()).digest()


def x25519_entry(name: str) -> dict[str, Any]:
    return {
        "kind": "x25519",
        "key_id": "device",
        "version": 1,
        "private_key": x25519_private(name).hex(),
    }


class FixedHpkeRecipient:
    """An ``x25519`` wrap (format.md 8.3) with a fixed ephemeral key, for vectors.

    RFC 9180 written out (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    AES-256-GCM, base mode, single shot): sealdoc opens it with
    ``cryptography``'s HPKE, which shows the spec's wrap is plain RFC 9180.
    """

    kind = "x25519"

    def __init__(self, recipient: str, ephemeral: str) -> None:
        self.public = x25519.X25519PrivateKey.from_private_bytes(
            x25519_private(recipient)
        ).public_key()
        self.ephemeral = x25519.X25519PrivateKey.from_private_bytes(x25519_private(ephemeral))

    @staticmethod
    def _extract(suite_id: bytes, label: bytes, ikm: bytes, salt: bytes = b"") -> bytes:
        mac = hmac.HMAC(salt or bytes(32), hashes.SHA256())
        mac.update(b"HPKE-v1" + suite_id + label + ikm)
        return mac.finalize()

    @staticmethod
    def _expand(prk: bytes, suite_id: bytes, label: bytes, info: bytes, length: int) -> bytes:
        labeled = length.to_bytes(2, "big") + b"HPKE-v1" + suite_id + label + info
        return HKDFExpand(hashes.SHA256(), length, labeled).derive(prk)

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        raw = serialization.Encoding.Raw
        enc = self.ephemeral.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        pk_r = self.public.public_bytes(raw, serialization.PublicFormat.Raw)
        kem = b"KEM" + (0x0020).to_bytes(2, "big")
        eae_prk = self._extract(kem, b"eae_prk", self.ephemeral.exchange(self.public))
        shared = self._expand(eae_prk, kem, b"shared_secret", enc + pk_r, 32)
        suite = b"HPKE" + bytes.fromhex("002000010002")
        info = wrap_ad("x25519", "device", 1, ad.digest)
        context = (
            b"\x00"
            + self._extract(suite, b"psk_id_hash", b"")
            + self._extract(suite, b"info_hash", info)
        )
        secret = self._extract(suite, b"secret", b"", salt=shared)
        key = self._expand(secret, suite, b"key", context, 32)
        nonce = self._expand(secret, suite, b"base_nonce", context, 12)
        return WrappedKey("x25519", "device", 1, enc + AESGCM(key).encrypt(nonce, dek, b""))

    def handles(self, wrapped: WrappedKey) -> bool:
        return False

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise NotImplementedError


def plaintext(n: int) -> bytes:
    return hashlib.shake_256(b"sealdoc test plaintext").digest(n)


def seal_fixed(
    data: bytes,
    keys: list[Any],
    *,
    label: str,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
    segment_size: int = SEG,
) -> bytes:
    return _seal(
        data,
        keys=keys,
        context=context,
        binding=binding,
        suite=suite,
        segment_size=segment_size,
        randbytes=Drbg("document " + label),
    )


def vector(
    name: str,
    description: str,
    expect: str,
    sealed: bytes,
    *,
    keys: list[dict[str, Any]],
    data: bytes | None = None,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    v: dict[str, Any] = {
        "name": name,
        "description": description,
        "expect": expect,
        "keys": keys,
        "context": dict(context or {}),
        "binding": dict(binding) if binding else None,
        "sealed": base64.b64encode(sealed).decode(),
    }
    if data is not None:
        v["plaintext"] = base64.b64encode(data).decode()
    return v


def flip(data: bytes, offset: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[offset] ^= 1 << bit
    return bytes(out)


def header_len(sealed: bytes) -> int:
    return int.from_bytes(sealed[5:9], "big")


def commitment_mismatch() -> bytes:
    """A document whose stored commitment is wrong but everything else is valid.

    The wrap and the header MAC are made over the altered core, so only the
    commitment check can catch it.
    """
    rng = Drbg("document commitment")
    dek, salt, prefix = rng(32), rng(32), rng(7)
    suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT
    keys = derive(dek, salt, suite)
    core = fmt.Core(
        suite=suite,
        flags=0,
        segment_size=SEG,
        salt=salt,
        nonce_prefix=prefix,
        commitment=bytes(b ^ 0xFF for b in keys.commitment),
        context={},
    )
    core_bytes = core.encode()
    digest = header_digest(core_bytes, b"")
    wrapped = ring("a").wrap(dek, AssociatedData(digest=digest))
    header = sign_header(keys, digest, core_bytes, [wrapped])
    data = plaintext(100)
    cipher = SegmentCipher(suite, keys.payload_key, prefix, digest)
    n = segment_count(len(data), SEG)
    body = b"".join(cipher.seal(i, i == n - 1, data[i * SEG : (i + 1) * SEG]) for i in range(n))
    return header + body


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
        "decryption",
        flip(base, context_offset),
        context={},
    )
    failure("salt_bit_flip", "a bit flipped in the salt", "decryption", flip(base, 16))
    failure(
        "wrapped_key_bit_flip",
        "a bit flipped in the wrapped key payload",
        "decryption",
        flip(base, hl - 33),
    )
    failure(
        "segment_bit_flip",
        "a bit flipped in segment 1's ciphertext",
        "decryption",
        flip(base, hl + seg_ct + 5),
    )
    failure(
        "tag_bit_flip",
        "a bit flipped in segment 0's tag",
        "decryption",
        flip(base, hl + seg_ct - 1, 7),
    )
    failure(
        "truncated_at_segment_boundary",
        "the last segment removed",
        "decryption",
        base[: hl + 3 * seg_ct],
    )
    failure("truncated_in_tag", "the body ends inside the last tag", "decryption", base[:-5])
    failure("appended_segment", "a copy of segment 0 appended", "decryption", base + segs[0])
    failure(
        "swapped_segments",
        "segments 0 and 1 swapped",
        "decryption",
        base[:hl] + segs[1] + segs[0] + b"".join(segs[2:]),
    )
    failure(
        "wrong_context",
        "the opener expects another tenant",
        "decryption",
        base,
        context={"tenant": "globex"},
    )
    failure("wrong_key", "the opener holds another KEK", "decryption", base, keys=[key_entry("z")])
    failure(
        "commitment_mismatch",
        "stored commitment differs from the derived one",
        "decryption",
        commitment_mismatch(),
        context={},
    )
    failure(
        "header_mac_mismatch", "a bit flipped in the header MAC", "decryption", flip(base, hl - 1)
    )
    bound = seal_fixed(plaintext(10), [ring("a")], label="bound", binding={"customer": "C-1"})
    failure(
        "wrong_binding",
        "the opener gives another binding",
        "decryption",
        bound,
        context={},
        binding={"customer": "C-2"},
    )
    failure("missing_binding", "the opener gives no binding", "decryption", bound, context={})
    by_password = seal_fixed(plaintext(10), [password("wrong")], label="password_wrong")
    failure(
        "password_wrong",
        "the opener types another password",
        "decryption",
        by_password,
        context={},
        keys=[password_entry("vector password, cafe")],
    )
    lax = KdfLimits(argon2_min_memory_kib=8, argon2_min_cost=8)
    cheap = password("cheap", memory_kib=64, iterations=1, limits=lax)
    failure(
        "password_kdf_below_floor",
        "a crafted wrap asking for Argon2id at 64 KiB x 1: refused before any work",
        "decryption",
        seal_fixed(plaintext(10), [cheap], label="password_cheap"),
        context={},
        keys=[password_entry()],
    )
    for_device = seal_fixed(
        plaintext(10), [FixedHpkeRecipient("device", "ephemeral 2")], label="x25519_other"
    )
    failure(
        "x25519_other_device",
        "sealed for one device, opened by another",
        "decryption",
        for_device,
        context={},
        keys=[x25519_entry("another device")],
    )
    failure("not_sealed", "plain text", "format", b"Dear customer, your statement...")
    failure("bad_magic", "magic altered", "format", flip(base, 0))
    failure("unsupported_version", "version 2", "format", base[:4] + b"\x02" + base[5:])
    failure(
        "header_length_over_limit",
        "header_len above 256 KiB",
        "format",
        base[:5] + (fmt.MAX_HEADER_LEN + 1).to_bytes(4, "big") + base[9:],
    )
    failure("truncated_header", "the document ends inside its header", "format", base[:100])
    failure("unknown_suite", "suite 0x00ff", "format", base[:9] + b"\x00\xff" + base[11:])
    failure("unknown_flag", "flag bit 1 set", "format", flip(base, 11, 1))
    failure(
        "segment_size_too_small",
        "segment size 16",
        "format",
        base[:12] + (16).to_bytes(4, "big") + base[16:],
    )
    failure(
        "zero_wrapped_keys",
        "key_count 0",
        "format",
        base[:key_count_offset] + b"\x00" + base[key_count_offset + 1 :],
    )
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
