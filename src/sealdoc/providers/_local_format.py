"""The keyring file's layout (docs/keyring.md, "File format"): envelope, body, sidecar."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from .._codec import std_b64decode, std_b64encode
from .._wrap_ad import check_key_id
from ..exceptions import FormatError
from ._keyring_model import (
    DESTROYED,
    KEK_LEN,
    PENDING_DESTROY,
    STATES,
    KeyVersion,
    NamedKey,
    RingMeta,
    check_ring_id,
)

FORMAT_NAME = "sealdoc-keyring"
FORMAT_VERSION = 1
_AAD_LABEL = b"sealdoc-keyring-v1"
# libsodium's crypto_pwhash_argon2id_SALTBYTES, spelled out so that reading a
# keyring's layout does not load Argon2 (tests/test_keyring.py checks it)
SALT_LEN = 16
MAX_GENERATION = 2**63 - 1

# RFC 9106's second recommended option (t=3, m=64 MiB); libsodium uses one lane.
DEFAULT_OPSLIMIT = 3
DEFAULT_MEMLIMIT = 64 * 1024 * 1024
# What load() accepts: a file cannot force a trivially cheap KDF, nor one
# so expensive that loading it hangs the process.
OPSLIMIT_RANGE = (1, 16)  # 1 is libsodium's OPSLIMIT_MIN for Argon2id (checked as SALT_LEN)
MEMLIMIT_RANGE = (8 * 1024 * 1024, 1024 * 1024 * 1024)


@attrs.frozen
class Body:
    """The decrypted contents: keys, the keyring's id, and its generation."""

    keys: dict[str, NamedKey]
    meta: RingMeta
    generation: int  # 0 in a file written before generations


b64 = std_b64encode


def unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise FormatError(f"keyring field {what} is not a string")
    try:
        return std_b64decode(text)
    except ValueError:
        raise FormatError(f"keyring field {what} is not base64") from None


def kdf_aad(kdf: Mapping[str, Any]) -> bytes:
    return _AAD_LABEL + json.dumps(kdf, sort_keys=True, separators=(",", ":")).encode()


def check_kdf_limits(opslimit: int, memlimit: int) -> None:
    lo, hi = OPSLIMIT_RANGE
    if not lo <= opslimit <= hi:
        raise ValueError(f"Argon2id opslimit must be {lo}..{hi}")
    lo, hi = MEMLIMIT_RANGE
    if not lo <= memlimit <= hi:
        raise ValueError(f"Argon2id memlimit must be {lo}..{hi} bytes")


def parse_outer(raw: bytes) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """The unencrypted envelope of a keyring file: KDF parameters, salt, nonce, ciphertext."""
    outer = json.loads(raw)
    if not isinstance(outer, dict) or outer.get("format") != FORMAT_NAME:
        raise FormatError("not a sealdoc keyring file")
    if outer.get("version") != FORMAT_VERSION:
        raise FormatError(f"unsupported keyring version {outer.get('version')!r}")
    kdf = outer.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "argon2id":
        raise FormatError("keyring KDF must be argon2id")
    opslimit, memlimit = kdf.get("opslimit"), kdf.get("memlimit")
    if not isinstance(opslimit, int) or not isinstance(memlimit, int):
        raise FormatError("keyring KDF limits must be integers")
    check_kdf_limits(opslimit, memlimit)
    salt = unb64(kdf.get("salt"), "kdf.salt")
    nonce = unb64(outer.get("nonce"), "nonce")
    ciphertext = unb64(outer.get("ciphertext"), "ciphertext")
    if len(salt) != SALT_LEN or len(nonce) != 12:
        raise FormatError("keyring salt or nonce has the wrong length")
    return kdf, salt, nonce, ciphertext


def outer_bytes(kdf: Mapping[str, Any], nonce: bytes, ciphertext: bytes) -> bytes:
    outer = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "kdf": dict(kdf),
        "cipher": "aes-256-gcm",
        "nonce": b64(nonce),
        "ciphertext": b64(ciphertext),
    }
    return json.dumps(outer, indent=2, sort_keys=True).encode() + b"\n"


def encode_keys(keys: dict[str, NamedKey]) -> dict[str, Any]:
    return {
        "keys": {
            key_id: {
                "primary": named.primary,
                "versions": {str(v): _encode_version(kv) for v, kv in named.versions.items()},
            }
            for key_id, named in keys.items()
        }
    }


def encode_body(keys: dict[str, NamedKey], meta: RingMeta, generation: int) -> bytes:
    doc = encode_keys(keys)
    doc["generation"] = generation
    if meta.ring_id is not None:  # a keyring made before ids writes none
        doc["ring_id"] = meta.ring_id
        doc["plain_ids"] = meta.plain_ids
    return json.dumps(doc, sort_keys=True).encode()


def _encode_version(kv: KeyVersion) -> dict[str, str]:
    entry = {"secret": b64(kv.secret), "state": kv.state, "created": kv.created}
    if kv.state == PENDING_DESTROY:
        entry["destroy_at"] = kv.destroy_at
    return entry


def decode_body(plain: bytes) -> Body:
    """The body; ValueError, KeyError or TypeError for anything malformed."""
    doc = json.loads(plain)
    keys = _decode_keys(doc)
    ring_id = doc.get("ring_id")
    if ring_id is None:
        meta = RingMeta(ring_id=None, plain_ids=True)
    else:
        plain_ids = doc["plain_ids"]
        if not isinstance(plain_ids, bool):
            raise TypeError("plain_ids is a boolean")
        meta = RingMeta(ring_id=check_ring_id(ring_id), plain_ids=plain_ids)
    generation = doc.get("generation", 0)
    if isinstance(generation, bool) or not isinstance(generation, int):
        raise TypeError("generation is an integer")
    if not 0 <= generation <= MAX_GENERATION:
        raise ValueError("generation out of range")
    return Body(keys=keys, meta=meta, generation=generation)


def _decode_keys(doc: Any) -> dict[str, NamedKey]:
    keys: dict[str, NamedKey] = {}
    for key_id, named in doc["keys"].items():
        check_key_id(key_id)
        versions = {}
        for v, kv in named["versions"].items():
            secret = std_b64decode(kv["secret"])
            if len(secret) != (0 if kv["state"] == DESTROYED else KEK_LEN):
                raise ValueError("a KEK is 32 bytes, and a destroyed one none")
            state = str(kv["state"])
            if state not in STATES:
                raise ValueError(f"unknown key state {state!r}")
            destroy_at = ""
            if state == PENDING_DESTROY:
                destroy_at = str(kv["destroy_at"])
                _check_timestamp(destroy_at)
            versions[int(v)] = KeyVersion(
                secret=secret, state=state, created=str(kv["created"]), destroy_at=destroy_at
            )
        primary = None if named["primary"] is None else int(named["primary"])
        if primary is not None and primary not in versions:
            raise ValueError("primary version missing")
        keys[key_id] = NamedKey(primary=primary, versions=versions)
    if not keys:
        raise ValueError("empty keyring")
    return keys


def _check_timestamp(text: str) -> None:
    if datetime.fromisoformat(text).tzinfo is None:
        raise ValueError("destroy_at must carry its time zone")


# -- the generation sidecar ---------------------------------------------------------


def sidecar_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.generation")


def lock_path(path: Path) -> Path:
    """The file the keyring's writers lock; it holds a second generation record."""
    return path.with_name(f".{path.name}.lock")


Record = tuple[str | None, int]


def read_sidecar(path: Path) -> list[Record]:
    """The keyring ids and generations recorded beside the keyring (none if unreadable).

    Two records: the sidecar, and the same record in the lock file, so that
    deleting the sidecar alone does not let an old copy of the keyring pass
    in a fresh process. Unreadable means none: the records are a second
    line of defence, the in-process rule the first. Read them before the
    keyring: writers write the keyring first, so a keyring read after a
    record is never older than it unless it was rolled back.
    """
    records = (_read_record(where) for where in (sidecar_path(path), lock_path(path)))
    return [record for record in records if record is not None]


def _read_record(where: Path) -> Record | None:
    try:
        return _parse_record(where.read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _parse_record(raw: bytes) -> Record:
    doc = json.loads(raw)
    generation, ring_id = doc["generation"], doc.get("ring_id")
    if isinstance(generation, bool) or not isinstance(generation, int):
        raise TypeError("generation is an integer")
    if ring_id is not None and not isinstance(ring_id, str):
        raise TypeError("ring_id is a string")
    return ring_id, generation


def sidecar_floor(recorded: list[Record], ring_id: str | None) -> int:
    """The generation a keyring with ``ring_id`` must have at least, by its records.

    A record applies when it names the same keyring, or when the file has no
    id (a copy from before the keyring was given one).
    """
    return max(
        (
            generation
            for recorded_id, generation in recorded
            if ring_id is None or recorded_id == ring_id
        ),
        default=0,
    )


def sidecar_bytes(ring_id: str | None, generation: int) -> bytes:
    return json.dumps({"generation": generation, "ring_id": ring_id}, sort_keys=True).encode()
