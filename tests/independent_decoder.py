"""A second decoder for format v1, written from docs/format.md alone.

It imports nothing from sealdoc, only ``struct`` and cryptography's
primitives, and keeps its own structure (one function,
straight down the spec) so that a misreading of the spec in sealdoc is not
repeated here. It opens documents whose keys are ``memory`` or ``local``
keyring wraps (format.md 8.1) given the KEKs, ``password`` wraps (8.2) given
the password, with cryptography's own Argon2id where sealdoc uses
libsodium's, and ``x25519`` wraps (8.3) given the private key, with RFC 9180
written out where sealdoc calls cryptography's HPKE.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class MalformedError(Exception):
    """The spec's FormatError."""


class CannotOpenError(Exception):
    """The spec's DecryptionError."""


@dataclass
class Kek:
    kind: str
    key_id: str
    version: int
    secret: bytes


def _map(buf: bytes, pos: int) -> tuple[dict[str, str], int, bytes]:
    start = pos
    (count,) = struct.unpack_from(">H", buf, pos)
    pos += 2
    if count > 64:
        raise MalformedError("too many pairs")
    out: dict[str, str] = {}
    last = None
    for _ in range(count):
        (klen,) = struct.unpack_from(">H", buf, pos)
        pos += 2
        if not 1 <= klen <= 255 or pos + klen > len(buf):
            raise MalformedError("key length")
        key = buf[pos : pos + klen]
        pos += klen
        if last is not None and key <= last:
            raise MalformedError("order")
        last = key
        (vlen,) = struct.unpack_from(">H", buf, pos)
        pos += 2
        if vlen > 4096 or pos + vlen > len(buf):
            raise MalformedError("value length")
        out[key.decode()] = buf[pos : pos + vlen].decode()
        pos += vlen
    if pos - start > 16384:
        raise MalformedError("map too long")
    return out, pos, buf[start:pos]


def _encode_map(m: Mapping[str, str]) -> bytes:
    items = sorted((k.encode(), v.encode()) for k, v in m.items())
    out = struct.pack(">H", len(items))
    for k, v in items:
        out += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    return out


def decode(
    sealed: bytes,
    keks: Sequence[Kek],
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> bytes:
    try:
        return _decode(sealed, keks, context or {}, binding or {})
    except (struct.error, UnicodeDecodeError, IndexError) as exc:
        raise MalformedError(str(exc)) from exc


def _decode(
    sealed: bytes, keks: Sequence[Kek], context: Mapping[str, str], binding: Mapping[str, str]
) -> bytes:
    # 3.1, step 1
    if len(sealed) < 9 or sealed[:4] != b"SDOC":
        raise MalformedError("magic")
    if sealed[4] != 1:
        raise MalformedError("version")
    (header_len,) = struct.unpack(">I", sealed[5:9])
    if not 134 <= header_len <= 262144:
        raise MalformedError("header_len")
    if len(sealed) < header_len:
        raise MalformedError("truncated header")
    h = sealed[:header_len]
    suite, flags, seg = struct.unpack_from(">HBI", h, 9)
    if suite not in (1, 2) or flags & 0xFE or not 64 <= seg <= 16 * 1024 * 1024:
        raise MalformedError("core")
    salt, prefix, commitment = h[16:48], h[48:55], h[55:87]
    ctx, pos, _ = _map(h, 87)
    core = h[9:pos]
    count = h[pos]
    pos += 1
    if not 1 <= count <= 32:
        raise MalformedError("key count")
    wrapped = []
    for _ in range(count):
        klen = h[pos]
        kind = h[pos + 1 : pos + 1 + klen].decode("ascii")
        pos += 1 + klen
        if not 1 <= klen <= 32:
            raise MalformedError("kind")
        (idlen,) = struct.unpack_from(">H", h, pos)
        key_id = h[pos + 2 : pos + 2 + idlen].decode()
        pos += 2 + idlen
        if not 1 <= idlen <= 1024:
            raise MalformedError("key id")
        version, plen = struct.unpack_from(">IH", h, pos)
        pos += 6
        if not 1 <= plen <= 4096 or pos + plen > len(h):
            raise MalformedError("payload")
        wrapped.append((kind, key_id, version, h[pos : pos + plen]))
        pos += plen
    if pos + 32 != header_len:
        raise MalformedError("header does not add up")

    # section 9: context, then binding
    for k, v in context.items():
        if ctx.get(k) != v:
            raise CannotOpenError("context")
    if bool(flags & 1) != bool(binding):
        raise CannotOpenError("binding presence")
    binding_block = _encode_map(binding) if binding else b""
    sha = hashes.Hash(hashes.SHA256())
    sha.update(b"sealdoc-v1-core" + b"SDOC\x01" + core + binding_block)
    digest = sha.finalize()

    # 8.1-8.3 unwrap, 4 commitment, 5 MAC
    keys = None
    for kek in keks:
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
            if kind == "password":
                dek = _password_unwrap(kek.secret, payload, ad)
            elif kind == "x25519":
                dek = _x25519_unwrap(kek.secret, payload, ad)
            elif (key_id, version) == (kek.key_id, kek.version):
                try:
                    dek = AESGCM(kek.secret).decrypt(payload[:12], payload[12:], ad)
                except InvalidTag:
                    dek = None
            else:
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
                raise CannotOpenError("header MAC")
            keys = okm
            break
        if keys:
            break
    if keys is None:
        raise CannotOpenError("no key")

    # 7: body
    body = sealed[header_len:]
    seg_ct = seg + 16
    n = (len(body) + seg_ct - 1) // seg_ct
    if n == 0:
        raise CannotOpenError("no body")
    last_len = len(body) - (n - 1) * seg_ct
    if last_len < 16 or (last_len == 16 and n > 1):
        raise CannotOpenError("body length")
    aead = AESGCM(keys[:32]) if suite == 1 else ChaCha20Poly1305(keys[:32])
    out = []
    for i in range(n):
        nonce = prefix + struct.pack(">IB", i, 1 if i == n - 1 else 0)
        try:
            out.append(aead.decrypt(nonce, body[i * seg_ct : (i + 1) * seg_ct], digest))
        except InvalidTag:
            raise CannotOpenError(f"segment {i}") from None
    return b"".join(out)


def _password_unwrap(password: bytes, payload: bytes, ad: bytes) -> bytes | None:
    """8.2: the KDF's parameters are checked against the bounds before any work."""
    secret = unicodedata.normalize("NFC", password.decode()).encode()
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


def _x25519_unwrap(private: bytes, payload: bytes, info: bytes) -> bytes | None:
    """8.3: RFC 9180 base mode Open, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM."""
    if len(payload) != 80:
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
    suite_id = b"HPKE\x00\x20\x00\x01\x00\x02"
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
