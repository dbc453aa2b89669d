"""The segmented AEAD body: STREAM segments, their layout, random access.

docs/format.md section 7. No I/O here: callers hand in buffers.
"""

from __future__ import annotations

import struct
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ._format import MAX_SEGMENTS, TAG_LEN, Suite
from .exceptions import DecryptionError

_COUNTER_FLAG = struct.Struct(">IB")


class _Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes | memoryview, aad: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes | memoryview, aad: bytes | None) -> bytes: ...
    def encrypt_into(
        self, nonce: bytes, data: bytes | memoryview, aad: bytes | None, buf: memoryview
    ) -> int: ...
    def decrypt_into(
        self, nonce: bytes, data: bytes | memoryview, aad: bytes | None, buf: memoryview
    ) -> int: ...


def _aead(suite: Suite, key: bytes) -> _Aead:
    if suite is Suite.AES_256_GCM_HKDF_SHA256_COMMIT:
        return AESGCM(key)
    return ChaCha20Poly1305(key)


def segment_count(plaintext_len: int, segment_size: int) -> int:
    """Segments for a plaintext: at least one, the last holding 1..S bytes."""
    return max(1, -(-plaintext_len // segment_size))


def body_length(plaintext_len: int, segment_size: int) -> int:
    return plaintext_len + TAG_LEN * segment_count(plaintext_len, segment_size)


def plaintext_length(body_len: int, segment_size: int) -> int:
    """Invert body_length, rejecting lengths no honest writer produces."""
    seg_ct = segment_size + TAG_LEN
    n = -(-body_len // seg_ct)
    if n == 0:
        raise DecryptionError("the body is missing (truncated document)")
    last = body_len - (n - 1) * seg_ct
    if last < TAG_LEN or (last == TAG_LEN and n > 1):
        raise DecryptionError("the body ends inside a segment (truncated or extended)")
    if n > MAX_SEGMENTS:
        raise DecryptionError("the body has more segments than the format allows")
    return body_len - n * TAG_LEN


def _failed(index: int, last: bool) -> DecryptionError:
    """The opaque segment failure, and what the body's length alone says about it.

    A document cut short fails at the segment that is now its last (every
    earlier one is whole), so only there is truncation a possible cause.
    That follows from the lengths, not from the AEAD, and tells an attacker
    nothing about which check failed.
    """
    if last:
        return DecryptionError(
            f"segment {index} failed authentication (the last one: the document may have "
            "been cut short, e.g. an incomplete download or copy, or altered)"
        )
    return DecryptionError(f"segment {index} failed authentication")


class SegmentCipher:
    """Seals and opens the segments of one document.

    Segment ``i`` uses nonce ``prefix || i:u32 || last:u8`` and the header
    digest as associated data (STREAM; Hoang et al. 2015).
    """

    __slots__ = ("_aad", "_aead", "_nonce")

    def __init__(self, suite: Suite, payload_key: bytes, nonce_prefix: bytes, aad: bytes) -> None:
        self._aead = _aead(suite, payload_key)
        self._aad = aad
        self._nonce = bytearray(nonce_prefix + b"\x00" * _COUNTER_FLAG.size)

    def __repr__(self) -> str:
        return "SegmentCipher(<secret>)"

    def _nonce_for(self, index: int, last: bool) -> bytes:
        if not 0 <= index < MAX_SEGMENTS:
            raise DecryptionError("segment counter out of range")
        _COUNTER_FLAG.pack_into(self._nonce, 7, index, last)
        return bytes(self._nonce)

    def seal_into(self, index: int, last: bool, plaintext: memoryview, out: memoryview) -> int:
        return self._aead.encrypt_into(self._nonce_for(index, last), plaintext, self._aad, out)

    def seal(self, index: int, last: bool, plaintext: bytes | memoryview) -> bytes:
        return self._aead.encrypt(self._nonce_for(index, last), plaintext, self._aad)

    def seal_run(
        self, first: int, plaintext: memoryview, out: memoryview, size: int, *, final: bool
    ) -> int:
        """Seal ``plaintext`` as consecutive segments from index ``first`` into ``out``.

        With ``final`` the run's last segment is the document's last. Returns
        the bytes written. One tight loop: per-segment Python overhead is
        most of what separates a 10 MiB seal from one-shot AES-GCM.
        """
        # Deliberate twin of open_run's loop (duplicates reports the pair): a
        # shared loop would cost a call or a branch per segment on the hot path.
        count = segment_count(len(plaintext), size)
        if first + count > MAX_SEGMENTS:
            raise ValueError("the document would have more segments than the format allows")
        encrypt_into = self._aead.encrypt_into
        aad = self._aad
        nonce = self._nonce
        pack_into = _COUNTER_FLAG.pack_into
        pos = 0
        for j in range(count):
            piece = plaintext[j * size : (j + 1) * size]
            end = pos + len(piece) + TAG_LEN
            pack_into(nonce, 7, first + j, final and j == count - 1)
            encrypt_into(bytes(nonce), piece, aad, out[pos:end])
            pos = end
        return pos

    def open_run(
        self, first: int, body: memoryview, out: memoryview, size: int, *, final: bool
    ) -> int:
        """Open consecutive whole segments of ``body`` into ``out``; returns bytes written.

        ``out`` may hold unauthenticated plaintext when this raises: callers
        hand in a buffer they drop on failure.
        """
        # Deliberate twin of seal_run's loop, kept apart for speed (see there).
        seg_ct = size + TAG_LEN
        count = -(-len(body) // seg_ct)
        if first + count > MAX_SEGMENTS:
            raise DecryptionError("segment counter out of range")
        decrypt_into = self._aead.decrypt_into
        aad = self._aad
        nonce = self._nonce
        pack_into = _COUNTER_FLAG.pack_into
        pos = 0
        for j in range(count):
            segment = body[j * seg_ct : (j + 1) * seg_ct]
            n = len(segment) - TAG_LEN
            pack_into(nonce, 7, first + j, final and j == count - 1)
            try:
                decrypt_into(bytes(nonce), segment, aad, out[pos : pos + n])
            except InvalidTag:
                raise _failed(first + j, final and j == count - 1) from None
            pos += n
        return pos

    def open_into(self, index: int, last: bool, segment: memoryview, out: memoryview) -> int:
        try:
            return self._aead.decrypt_into(self._nonce_for(index, last), segment, self._aad, out)
        except InvalidTag:
            raise _failed(index, last) from None

    def open(self, index: int, last: bool, segment: bytes | memoryview) -> bytes:
        try:
            return self._aead.decrypt(self._nonce_for(index, last), segment, self._aad)
        except InvalidTag:
            raise _failed(index, last) from None


def check_final_segment(segment_len: int, index: int) -> None:
    """Refuse a short final segment no honest writer makes (format.md 7).

    Only the first segment may be empty (an empty document); any other
    final segment holds at least one byte before its tag.
    """
    if segment_len < TAG_LEN or (segment_len == TAG_LEN and index > 0):
        raise DecryptionError("the body ends inside a segment (truncated)")


class BodyLayout:
    """Where each segment of a stored body lies: the random-access plan, no I/O.

    Built from the body's stored length; the plaintext length it gives is
    trusted only once the last segment has authenticated (its ``final``
    flag binds the end). Both readers (the sync ``SealedReader`` and the
    async one in ``sealdoc.aio``) fetch what this says and nothing else.
    """

    __slots__ = ("count", "length", "segment_size")

    def __init__(self, body_len: int, segment_size: int) -> None:
        self.segment_size = segment_size
        self.length = plaintext_length(body_len, segment_size)
        self.count = segment_count(self.length, segment_size)

    def span(self, first: int, count: int = 1) -> tuple[int, int]:
        """Body offsets ``(start, end)`` of segments ``first`` .. ``first + count - 1``."""
        seg_ct = self.segment_size + TAG_LEN
        end_index = first + count
        end = (
            end_index * seg_ct
            if end_index < self.count
            else self.length + self.count * TAG_LEN  # the last segment may be short
        )
        return first * seg_ct, end

    def covering(self, pos: int, want: int) -> tuple[int, int]:
        """The segments ``(first, count)`` holding plaintext bytes ``pos`` .. ``pos + want``."""
        first = pos // self.segment_size
        last = (pos + max(want, 1) - 1) // self.segment_size
        return first, min(last, self.count - 1) - first + 1


def seek_target(pos: int, offset: int, whence: int, length: int) -> int:
    """The position a ``seek(offset, whence)`` moves to (``io`` semantics, no I/O)."""
    if whence == 0:
        target = offset
    elif whence == 1:
        target = pos + offset
    elif whence == 2:
        target = length + offset
    else:
        raise ValueError(f"invalid whence {whence}")
    if target < 0:
        raise ValueError("negative seek position")
    return target
