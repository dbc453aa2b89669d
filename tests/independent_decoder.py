"""A second decoder for format v1, written from docs/format.md alone.

It imports nothing from sealdoc, only ``struct`` and cryptography's
primitives, and keeps its own structure (one function,
straight down the spec) so that a misreading of the spec in sealdoc is not
repeated here. It opens documents whose keys are ``memory`` or ``local``
keyring wraps (format.md 8.1) given the KEKs, ``password`` wraps (8.2) given
the password, with cryptography's own Argon2id where sealdoc uses
libsodium's, ``x25519`` wraps (8.3) given the private key, with RFC 9180
written out where sealdoc calls cryptography's HPKE, and ``mlkem768x25519``
wraps (8.6) given the 32-byte seed, with the key derivation, the X-Wing
combiner and RFC 9180's key schedule written out over cryptography's
ML-KEM-768 decapsulation and X25519.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class MalformedError(Exception):
    """The spec's FormatError; the message is the failing check's name (docs/vectors.md)."""


class CannotOpenError(Exception):
    """The spec's DecryptionError: ``stage`` is "open" or "payload", the message the check."""

    def __init__(self, stage: str, check: str) -> None:
        super().__init__(check)
        self.stage = stage


class ArgumentError(Exception):
    """The opener's own context or binding breaks section 3.3 or 3.6."""


@dataclass
class Kek:
    kind: str
    key_id: str
    version: int
    secret: bytes


# 3.6: the code points no header string may hold
_FORBIDDEN = [
    (0x00, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C),
    (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x206F), (0xD800, 0xDFFF),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
]  # fmt: skip


def _forbidden(text: str) -> bool:
    return any(lo <= ord(c) <= hi for c in text for lo, hi in _FORBIDDEN)


def _string(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("UTF-8") from None
    if _forbidden(text):
        raise MalformedError("forbidden character")
    return text


class _Cursor:
    """Reads the fields of h[0 : header_len - 32]; running past the end is one check."""

    def __init__(self, fields: bytes, pos: int) -> None:
        self.fields, self.pos = fields, pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.fields):
            raise MalformedError("field overruns header")
        out = self.fields[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])


def _map(cur: _Cursor) -> dict[str, str]:
    start = cur.pos
    count = cur.u16()
    if count > 64:
        raise MalformedError("map count bounds")
    out: dict[str, str] = {}
    last = None
    for _ in range(count):
        klen = cur.u16()
        if not 1 <= klen <= 255:
            raise MalformedError("map key length bounds")
        kraw = cur.take(klen)
        key = _string(kraw)
        if last is not None and kraw <= last:
            raise MalformedError("map key order")
        last = kraw
        vlen = cur.u16()
        if vlen > 4096:
            raise MalformedError("map value length bounds")
        out[key] = _string(cur.take(vlen))
        if cur.pos - start > 16384:
            raise MalformedError("map length")
    return out


def _encode_map(m: Mapping[str, str]) -> bytes:
    items = sorted((k.encode(), v.encode()) for k, v in m.items())
    out = struct.pack(">H", len(items))
    for k, v in items:
        out += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    return out


def _check_callers(m: Mapping[str, str]) -> None:
    """3.3 and 3.6 apply to the opener's maps too."""
    try:
        for k, v in m.items():
            if _forbidden(k) or _forbidden(v):
                raise ArgumentError("caller map")
        if len(m) > 64 or len(_encode_map(m)) > 16384:
            raise ArgumentError("caller map")
        if any(not 1 <= len(k.encode()) <= 255 or len(v.encode()) > 4096 for k, v in m.items()):
            raise ArgumentError("caller map")
    except UnicodeEncodeError:
        raise ArgumentError("caller map") from None


def decode(
    sealed: bytes,
    keks: Sequence[Kek],
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> bytes:
    return _decode(sealed, keks, context or {}, binding or {})


def _prelude(sealed: bytes) -> int:
    """3.1 step 1: each check on as many bytes as there are."""
    if not sealed or sealed[:4] != b"SDOC"[: len(sealed)]:
        raise MalformedError("magic")
    if len(sealed) > 4 and sealed[4] != 1:
        raise MalformedError("version")
    if len(sealed) < 9:
        raise MalformedError("truncated header")
    (header_len,) = struct.unpack(">I", sealed[5:9])
    if not 134 <= header_len <= 262144:
        raise MalformedError("header_len bounds")
    if len(sealed) < header_len:
        raise MalformedError("truncated header")
    return int(header_len)


def _decode(
    sealed: bytes, keks: Sequence[Kek], context: Mapping[str, str], binding: Mapping[str, str]
) -> bytes:
    header_len = _prelude(sealed)
    h = sealed[:header_len]
    suite, flags, seg = struct.unpack_from(">HBI", h, 9)
    if suite not in (1, 2):
        raise MalformedError("suite")
    if flags & 0xFE:
        raise MalformedError("flags")
    if not 64 <= seg <= 16 * 1024 * 1024:
        raise MalformedError("segment size bounds")
    salt, prefix, commitment = h[16:48], h[48:55], h[55:87]
    cur = _Cursor(h[:-32], 87)
    ctx = _map(cur)
    core = h[9 : cur.pos]
    count = cur.u8()
    if not 1 <= count <= 32:
        raise MalformedError("key count bounds")
    wrapped = []
    for _ in range(count):
        klen = cur.u8()
        if not 1 <= klen <= 32:
            raise MalformedError("kind length bounds")
        kind_raw = cur.take(klen)
        if not (
            kind_raw[:1].isalnum()
            and all(c in b"abcdefghijklmnopqrstuvwxyz0123456789.+-" for c in kind_raw)
        ):
            raise MalformedError("kind pattern")
        idlen = cur.u16()
        if not 1 <= idlen <= 1024:
            raise MalformedError("key id length bounds")
        key_id = _string(cur.take(idlen))
        version, plen = struct.unpack(">IH", cur.take(6))
        if not 1 <= plen <= 4096:
            raise MalformedError("payload length bounds")
        wrapped.append((kind_raw.decode(), key_id, version, cur.take(plen)))
    if cur.pos != len(cur.fields):
        raise MalformedError("trailing header bytes")

    # the opener's own maps (3.3, 3.6), then section 9: context, then binding
    _check_callers(context)
    _check_callers(binding)
    for k, v in context.items():
        if ctx.get(k) != v:
            raise CannotOpenError("open", "context mismatch")
    if flags & 1 and not binding:
        raise CannotOpenError("open", "binding missing")
    if binding and not flags & 1:
        raise CannotOpenError("open", "binding not required")
    binding_block = _encode_map(binding) if binding else b""
    sha = hashes.Hash(hashes.SHA256())
    sha.update(b"sealdoc-v1-core" + b"SDOC\x01" + core + binding_block)
    digest = sha.finalize()
    keys = _unlock(wrapped, keks, digest=digest, salt=salt, suite=suite, commitment=commitment, h=h)
    return _body(sealed[header_len:], keys, seg=seg, prefix=prefix, suite=suite, digest=digest)


def _unlock(
    wrapped: list[tuple[str, str, int, bytes]],
    keks: Sequence[Kek],
    *,
    digest: bytes,
    salt: bytes,
    suite: int,
    commitment: bytes,
    h: bytes,
) -> bytes:
    """8.1-8.3 unwrap (with 9.1's budgets), 4 commitment, 5 MAC."""
    for kek in keks:  # the opener's keys in order, then the wraps in header order
        budget = (
            4
            if kek.kind == "password"
            else 32
            if kek.kind in ("x25519", "mlkem768x25519")
            else None
        )
        tries: dict[tuple[str, str], int] = {}
        for kind, key_id, version, payload in wrapped:
            kb, ib = kind.encode(), key_id.encode()
            ad = (
                b"sealdoc-v1-wrap"
                + bytes([len(kb)])
                + kb
                + struct.pack(">H", len(ib))
                + ib
                + struct.pack(">I", version)
                + digest
            )
            if kind != kek.kind:
                continue
            if kind not in ("password", "x25519", "mlkem768x25519") and (key_id, version) != (
                kek.key_id,
                kek.version,
            ):
                continue
            if budget is not None:
                budget -= 1
                if budget < 0:
                    continue
            else:
                # 9.1: two tries per key, whatever version the wraps claim
                tries[(kind, key_id)] = tries.get((kind, key_id), 0) + 1
                if tries[(kind, key_id)] > 2:
                    continue
            if kind == "password":
                dek = _password_unwrap(kek.secret, version, payload, ad)
            elif kind == "x25519":
                dek = _x25519_unwrap(kek.secret, version, payload, ad)
            elif kind == "mlkem768x25519":
                dek = _hybrid_unwrap(kek.secret, version, payload, ad)
            elif len(payload) != 60:
                dek = None
            else:
                try:
                    dek = AESGCM(kek.secret).decrypt(payload[:12], payload[12:], ad)
                except InvalidTag:
                    dek = None
            if dek is None:
                continue
            okm = HKDF(
                hashes.SHA256(), 96, salt, b"sealdoc-v1-keys" + struct.pack(">H", suite)
            ).derive(dek)
            if not constant_time.bytes_eq(okm[32:64], commitment):
                continue
            mac = hmac.HMAC(okm[64:], hashes.SHA256())
            mac.update(digest + h[:-32])
            if not constant_time.bytes_eq(mac.finalize(), h[-32:]):
                raise CannotOpenError("open", "header MAC")
            return okm
    raise CannotOpenError("open", "no key unwraps")


def _body(body: bytes, keys: bytes, *, seg: int, prefix: bytes, suite: int, digest: bytes) -> bytes:
    """7: the body length, then every segment."""
    seg_ct = seg + 16
    n = (len(body) + seg_ct - 1) // seg_ct
    if n == 0:
        raise CannotOpenError("payload", "body length")
    if n > 2**32:
        raise CannotOpenError("payload", "body length")
    last_len = len(body) - (n - 1) * seg_ct
    if last_len < 16 or (last_len == 16 and n > 1):
        raise CannotOpenError("payload", "body length")
    aead = AESGCM(keys[:32]) if suite == 1 else ChaCha20Poly1305(keys[:32])
    out = []
    for i in range(n):
        nonce = prefix + struct.pack(">IB", i, 1 if i == n - 1 else 0)
        try:
            out.append(aead.decrypt(nonce, body[i * seg_ct : (i + 1) * seg_ct], digest))
        except InvalidTag:
            raise CannotOpenError("payload", "segment authentication") from None
    return b"".join(out)


def _password_unwrap(password: bytes, version: int, payload: bytes, ad: bytes) -> bytes | None:
    """8.2: the version, then the KDF's parameters against the bounds, before any work."""
    secret = unicodedata.normalize("NFC", password.decode()).encode()
    if version != 1:  # then the KDF id and the payload's length
        payload = b""
    if payload[:1] == b"\x01" and len(payload) == 85:
        memory, passes = struct.unpack(">II", payload[1:9])
        if not (memory >= 7168 and memory * passes >= 38912):
            return None
        if memory > 1048576 or passes > 16 or memory * passes > 4 * 1048576:
            return None
        params, rest = payload[:9], payload[9:]
        kdf: Any = Argon2id(
            salt=rest[:16], length=32, iterations=passes, lanes=1, memory_cost=memory
        )
    elif payload[:1] == b"\x02" and len(payload) == 81:
        (count,) = struct.unpack(">I", payload[1:5])
        if not 600_000 <= count <= 10_000_000:
            return None
        params, rest = payload[:5], payload[5:]
        kdf = PBKDF2HMAC(hashes.SHA256(), 32, rest[:16], count)
    else:
        return None
    try:
        return AESGCM(kdf.derive(secret)).decrypt(rest[16:28], rest[28:], ad + params)
    except InvalidTag:
        return None


def _labeled_extract(suite_id: bytes, label: bytes, ikm: bytes, salt: bytes = b"") -> bytes:
    """RFC 9180 section 4: LabeledExtract over HKDF-SHA256's Extract (an HMAC)."""
    mac = hmac.HMAC(salt, hashes.SHA256())
    mac.update(b"HPKE-v1" + suite_id + label + ikm)
    return mac.finalize()


def _labeled_expand(prk: bytes, suite_id: bytes, label: bytes, info: bytes, size: int) -> bytes:
    info = struct.pack(">H", size) + b"HPKE-v1" + suite_id + label + info
    return HKDFExpand(hashes.SHA256(), size, info).derive(prk)


def _hybrid_unwrap(seed: bytes, version: int, payload: bytes, info: bytes) -> bytes | None:
    """8.6: RFC 9180 base mode Open with MLKEM768-X25519 (0x647a), HKDF-SHA256, AES-256-GCM."""
    if version != 1 or len(payload) != 1168:
        return None
    expanded = hashlib.shake_256(seed).digest(96)
    dk = MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    sk_t = X25519PrivateKey.from_private_bytes(expanded[64:])
    pk_t = sk_t.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    enc, ct = payload[:1120], payload[1120:]
    ct_pq, ct_t = enc[:1088], enc[1088:]
    try:
        ss_pq = dk.decapsulate(ct_pq)
        ss_t = sk_t.exchange(X25519PublicKey.from_public_bytes(ct_t))
    except ValueError:
        return None
    shared = hashlib.sha3_256(ss_pq + ss_t + ct_t + pk_t + b"\\.//^\\").digest()
    return _hpke_open(b"HPKE\x64\x7a\x00\x01\x00\x02", shared, info, ct)


def _x25519_unwrap(private: bytes, version: int, payload: bytes, info: bytes) -> bytes | None:
    """8.3: RFC 9180 base mode Open, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM."""
    if version != 1 or len(payload) != 80:
        return None
    key = X25519PrivateKey.from_private_bytes(private)
    enc, ct = payload[:32], payload[32:]
    mine = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        dh = key.exchange(X25519PublicKey.from_public_bytes(enc))
    except ValueError:
        return None
    kem_id = b"KEM\x00\x20"
    prk = _labeled_extract(kem_id, b"eae_prk", dh)
    shared = _labeled_expand(prk, kem_id, b"shared_secret", enc + mine, 32)
    return _hpke_open(b"HPKE\x00\x20\x00\x01\x00\x02", shared, info, ct)


def _hpke_open(suite_id: bytes, shared: bytes, info: bytes, ct: bytes) -> bytes | None:
    """RFC 9180 5.1 KeySchedule (base mode) and the single-shot AES-256-GCM Open."""
    context = (
        b"\x00"
        + _labeled_extract(suite_id, b"psk_id_hash", b"")
        + _labeled_extract(suite_id, b"info_hash", info)
    )
    secret = _labeled_extract(suite_id, b"secret", b"", salt=shared)
    aead_key = _labeled_expand(secret, suite_id, b"key", context, 32)
    nonce = _labeled_expand(secret, suite_id, b"base_nonce", context, 12)
    try:
        return AESGCM(aead_key).decrypt(nonce, ct, b"")
    except InvalidTag:
        return None
