"""Whole age files over streams: export (write) and open (read), binary or armored."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric import x25519

from .._codec import url_b64decode
from .._pq_mix import check_mix
from ..exceptions import DecryptionError, FormatError
from . import armor as armor_mod
from . import header as header_mod
from . import keys as age_keys
from . import payload, stanzas
from .header import Header, Stanza

_ARMOR_START = b"-----BEGIN"


def _recipient(value: Any) -> tuple[str, bytes]:
    """(kind, public bytes) of a recipient string or object."""
    text = value if isinstance(value, str) else getattr(value, "recipient", None)
    if not isinstance(text, str):
        raise TypeError(
            f"an age recipient is an age1.../age1pq1... string or a device recipient, "
            f"not {type(value).__name__}"
        )
    if text.startswith("x25519:"):
        return age_keys.X25519, url_b64decode(text[len("x25519:") :])
    return age_keys.parse_recipient(text)


def export(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    to: Sequence[Any] = (),
    passphrase: str | None = None,
    work_factor: int = stanzas.DEFAULT_WORK_FACTOR,
    armor: bool = False,
    allow_classical: bool = False,
) -> int:
    """Encrypt ``src`` into an age file on ``dst``; the bytes of plaintext read.

    ``to``: X25519 and hybrid recipients; ``passphrase``: one scrypt stanza,
    which age allows only alone. A hybrid recipient is not mixed with an
    X25519 one unless ``allow_classical``.
    """
    parsed = [_recipient(r) for r in to]
    if passphrase is not None and parsed:
        raise ValueError("an age passphrase file has no other recipients (age's rule)")
    if passphrase is None and not parsed:
        raise ValueError("an age file needs a recipient or a passphrase")
    check_mix((kind for kind, _ in parsed), allow_classical=allow_classical)
    file_key = os.urandom(stanzas.FILE_KEY_LEN)
    made: list[Stanza] = []
    if passphrase is not None:
        made.append(stanzas.wrap_scrypt(passphrase, file_key, work_factor))
    for kind, public in parsed:
        if kind == age_keys.HYBRID:
            made.append(stanzas.wrap_hybrid(age_keys.hybrid_public(public), file_key))
        else:
            made.append(stanzas.wrap_x25519(public, file_key))
    out: Any = armor_mod.ArmorWriter(dst) if armor else dst
    out.write(header_mod.encode(made, file_key))
    counter = _Counting(src)
    payload.encrypt(counter, out, file_key)  # type: ignore[arg-type]
    if armor:
        out.close()
    return counter.count


class _Counting:
    def __init__(self, src: BinaryIO) -> None:
        self._src, self.count = src, 0

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        self.count += len(data)
        return data

    def readinto(self, buf: memoryview) -> int:
        readinto = getattr(self._src, "readinto", None)
        if readinto is None:  # a reader with read() only
            data = self.read(len(buf))
            buf[: len(data)] = data
            return len(data)
        n: int = readinto(buf) or 0
        self.count += n
        return n


def _peek(src: BinaryIO) -> tuple[BinaryIO, bool]:
    """``src`` positioned at the age file, and whether it is armored."""
    reader: Any = src
    if not hasattr(src, "peek"):
        reader = io.BufferedReader(src)  # type: ignore[type-var,unused-ignore]
    start = reader.peek(64)[:64].lstrip(b" \t\r\n")
    return reader, start.startswith(_ARMOR_START)


def is_age(prefix: bytes) -> bool:
    """Whether a file starting with ``prefix`` is an age file (binary or armored)."""
    stripped = prefix.lstrip(b" \t\r\n")
    return stripped.startswith(b"age-encryption.org/") or stripped.startswith(armor_mod.BEGIN)


def read_header(src: BinaryIO) -> tuple[Header, BinaryIO]:
    """The parsed header, and the stream its payload follows on (de-armored if need be)."""
    reader, armored = _peek(src)
    body: Any = armor_mod.ArmorReader(reader) if armored else reader
    return header_mod.parse(body), body


def _check_mix(header: Header) -> None:
    if any(s.args[0] == "scrypt" for s in header.stanzas) and len(header.stanzas) > 1:
        raise FormatError("age header: an scrypt stanza must be the only one (age's rule)")


def file_key(
    header: Header,
    *,
    identities: Sequence[Any] = (),
    passphrase: str | None = None,
    max_work_factor: int = stanzas.MAX_WORK_FACTOR,
) -> bytes:
    """The file key one of ``identities`` or ``passphrase`` unwraps, its MAC checked.

    FormatError for a malformed or hostile header (before any scrypt runs);
    DecryptionError when nothing unwraps or the MAC differs.
    """
    _check_mix(header)
    scrypt = [s for s in header.stanzas if s.args[0] == "scrypt"]
    if scrypt:
        stanzas.scrypt_work_factor(scrypt[0], max_work_factor)  # before any key work
    tries: list[Any] = []
    for identity in identities:
        kind = getattr(identity, "kind", None)
        if kind == age_keys.HYBRID:
            key = identity.hpke_private_key()
            tries.append(lambda s, k=key: stanzas.unwrap_hybrid(k, s))
        elif kind == age_keys.X25519:
            key = x25519.X25519PrivateKey.from_private_bytes(identity.private_bytes())
            tries.append(lambda s, k=key: stanzas.unwrap_x25519(k, s))
        else:
            raise TypeError(f"an age identity is a device identity, not {type(identity).__name__}")
    if passphrase is not None:
        tries.append(lambda s: stanzas.unwrap_scrypt(passphrase, s, max_work_factor))
    for stanza in header.stanzas:
        for attempt in tries:
            found = attempt(stanza)
            if found is None:
                continue
            if len(found) != stanzas.FILE_KEY_LEN:
                raise FormatError("age header: a file key that is not 16 bytes")
            if not header_mod.mac_matches(header, found):
                raise DecryptionError("cannot open this age file: its header is altered")
            return bytes(found)
    raise DecryptionError("cannot open this age file (no identity or passphrase given matches)")


def open(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    identities: Sequence[Any] = (),
    passphrase: str | None = None,
    max_work_factor: int = stanzas.MAX_WORK_FACTOR,
) -> int:
    """Decrypt the age file at ``src`` into ``dst``; the bytes written."""
    header, body = read_header(src)
    key = file_key(
        header, identities=identities, passphrase=passphrase, max_work_factor=max_work_factor
    )
    return payload.decrypt(body, dst, key)
