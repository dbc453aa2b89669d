"""Deterministic keys, providers and helpers for the format v1 test vectors.

Used by scripts/generate_vectors.py and scripts/vector_gaps.py; nothing here
is for production: the randomness is a fixed SHAKE-256 stream.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from nacl.pwhash import argon2id

from sealdoc import Suite
from sealdoc import _format as fmt
from sealdoc._envelope import seal_with, sign_header
from sealdoc._schedule import derive, header_digest, header_mac
from sealdoc._stream import SegmentCipher, segment_count
from sealdoc._wrap_ad import wrap_ad
from sealdoc.providers import AssociatedData, MemoryKeyring, Password, WrappedKey

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

    def __init__(
        self, recipient: str, ephemeral: str, label: str = "device", version: int = 1
    ) -> None:
        self.label, self.version = label, version
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
        info = wrap_ad("x25519", self.label, self.version, ad.digest)
        context = (
            b"\x00"
            + self._extract(suite, b"psk_id_hash", b"")
            + self._extract(suite, b"info_hash", info)
        )
        secret = self._extract(suite, b"secret", b"", salt=shared)
        key = self._expand(secret, suite, b"key", context, 32)
        nonce = self._expand(secret, suite, b"base_nonce", context, 12)
        sealed = enc + AESGCM(key).encrypt(nonce, dek, b"")
        return WrappedKey("x25519", self.label, self.version, sealed)

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
    return seal_with(
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
        "binding": None if binding is None else dict(binding),
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


# -- forging: documents built field by field, for the vectors of single checks ---------
#
# A forged document is valid in every respect but the one its vector names:
# its wraps are bound to its (possibly malformed) core, its header MAC and
# segments are right. A reader that skipped the check would open it.


def raw_map(pairs: list[tuple[bytes, bytes]], count: int | None = None) -> bytes:
    """A string map in the given order, unchecked (format.md 3.3)."""
    out = struct.pack(">H", len(pairs) if count is None else count)
    for k, v in pairs:
        out += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    return out


def raw_wrap_ad(kind: bytes, key_id: bytes, version: int, digest: bytes) -> bytes:
    """format.md 8.1's wrap_ad over raw bytes, for kinds and ids the format refuses."""
    return (
        b"sealdoc-v1-wrap"
        + bytes([len(kind)])
        + kind
        + struct.pack(">H", len(key_id))
        + key_id
        + struct.pack(">I", version)
        + digest
    )


def raw_wrap(
    kind: bytes,
    key_id: bytes,
    version: int,
    payload: bytes,
    *,
    kind_len: int | None = None,
    key_id_len: int | None = None,
    payload_len: int | None = None,
) -> bytes:
    """One wrapped key (format.md 3.2), its length fields overridable."""
    return (
        bytes([len(kind) if kind_len is None else kind_len])
        + kind
        + struct.pack(">H", len(key_id) if key_id_len is None else key_id_len)
        + key_id
        + struct.pack(">IH", version, len(payload) if payload_len is None else payload_len)
        + payload
    )


def memory_wrap(
    name: str,
    dek: bytes,
    digest: bytes,
    *,
    kind: bytes = b"memory",
    key_id: bytes = b"default",
    version: int = 1,
    cut: int = 0,
    **lengths: int,
) -> bytes:
    """A keyring wrap (8.1) under ``kek(name)``, its payload ``cut`` bytes short."""
    nonce = Drbg(f"wrap nonce {name} {kind!r} {key_id!r} {version}")(12)
    sealed = AESGCM(kek(name)).encrypt(nonce, dek, raw_wrap_ad(kind, key_id, version, digest))
    payload = nonce + sealed
    return raw_wrap(kind, key_id, version, payload[: len(payload) - cut], **lengths)


def password_wrap(
    secret: str,
    dek: bytes,
    digest: bytes,
    *,
    params: bytes,
    label: bytes = b"password",
    version: int = 1,
    derive_key: bool = True,
    derive_as: int | None = None,
    cut: int = 0,
) -> bytes:
    """A password wrap (8.2) with any parameters; ``derive_key=False`` for one never opened.

    The key comes from the KDF ``params`` names, or from ``derive_as`` (1 Argon2id,
    2 PBKDF2) reading the numbers that follow the id byte: a wrap whose id and
    layout disagree, which a reader that checks one without the other would open.
    """
    seed = f"password wrap {secret} {params.hex()} {label!r} {version}"
    rng = Drbg(seed if derive_as is None else f"{seed} as {derive_as}")
    salt, nonce = rng(16), rng(12)
    password_bytes = unicodedata.normalize("NFC", secret).encode()
    kdf = params[0] if derive_as is None else derive_as
    if not derive_key:
        key = rng(32)  # refused before any KDF: the key does not matter
    elif kdf == 2:
        (count,) = struct.unpack(">I", params[1:5])
        key = PBKDF2HMAC(hashes.SHA256(), 32, salt, count).derive(password_bytes)
    else:
        memory_kib, passes = struct.unpack(">II", params[1:9])
        key = bytes(
            argon2id.kdf(32, password_bytes, salt, opslimit=passes, memlimit=memory_kib * 1024)
        )
    ad = raw_wrap_ad(b"password", label, version, digest) + params
    sealed = AESGCM(key).encrypt(nonce, dek, ad)
    payload = params + salt + nonce + sealed
    return raw_wrap(b"password", label, version, payload[: len(payload) - cut])


def argon2_params(memory_kib: int = 19 * 1024, passes: int = 2) -> bytes:
    return struct.pack(">BII", 1, memory_kib, passes)


def pbkdf2_params(iterations: int = 600_000) -> bytes:
    return struct.pack(">BI", 2, iterations)


Wraps = Callable[[bytes, bytes], list[bytes]]


def forge(
    label: str,
    data: bytes,
    *,
    context_raw: bytes | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
    flags: int | None = None,
    segment_size: int = SEG,
    wraps: Wraps | None = None,
    key_count: int | None = None,
    trailing: bytes = b"",
    body: Callable[[SegmentCipher], bytes] | None = None,
) -> bytes:
    """A document built field by field (format.md 3-7), valid but for what the caller sets."""
    rng = Drbg("forged " + label)
    dek, salt, prefix = rng(32), rng(32), rng(7)
    # an unknown suite fails before any key is derived: any known suite's keys do
    keys = derive(
        dek, salt, suite if suite in tuple(Suite) else Suite.AES_256_GCM_HKDF_SHA256_COMMIT
    )
    if flags is None:
        flags = fmt.FLAG_BINDING if binding else 0
    context_bytes = raw_map([]) if context_raw is None else context_raw
    core = struct.pack(">HBI", suite, flags, segment_size) + salt + prefix + keys.commitment
    core += context_bytes
    binding_block = fmt.encode_map(binding, what="binding") if binding else b""
    digest = header_digest(core, binding_block)
    entries = wraps(dek, digest) if wraps else [memory_wrap("a", dek, digest)]
    section = bytes([len(entries) if key_count is None else key_count]) + b"".join(entries)
    size = 9 + len(core) + len(section) + len(trailing) + 32
    unsigned = fmt.MAGIC + bytes([fmt.VERSION]) + size.to_bytes(4, "big") + core + section
    unsigned += trailing
    header = unsigned + header_mac(keys.mac_key, digest, unsigned)
    cipher = SegmentCipher(suite, keys.payload_key, prefix, digest)
    if body is not None:
        return header + body(cipher)
    n = segment_count(len(data), segment_size)
    return header + b"".join(
        cipher.seal(i, i == n - 1, data[i * segment_size : (i + 1) * segment_size])
        for i in range(n)
    )
