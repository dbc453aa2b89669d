"""Sealing a new document, over bytes and streams (docs/usage.md, "The verbs").

A :class:`Sealer` makes a new document's key, core and header (format.md
3-5); ``seal`` writes its body into one buffer, ``write_sealed`` into a
stream. Rewrap and rotate reuse ``sign_header`` and ``wrap_with``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from .. import _format as fmt
from .._audit import record
from .._buffers import build_bytes, write_all
from .._format import Core, Suite, WrappedKey
from .._provider_api import AssociatedData, KeyProvider, kind_of
from .._reader import read_into
from .._schedule import DocumentKeys, derive, header_digest, header_mac
from .._stream import SegmentCipher, body_length, segment_count
from .._types import BytesLike, ReadableStream, WritableStream
from ..exceptions import KeyProviderError, SealdocError
from .arguments import as_buffer, as_suite, checked_encoded_map, checked_segment_size
from .keys import Keys, providers_of

Randbytes = Callable[[int], bytes]

# How many segments a stream moves per read/write: about 1 MiB at a time
# keeps the Python overhead per byte low and memory constant.
STREAM_CHUNK = 1024 * 1024


class Sealer:
    """A new document's key, core and header (format.md 3-5)."""

    def __init__(
        self,
        *,
        providers: Sequence[KeyProvider],
        context: Mapping[str, str],
        binding: Mapping[str, str],
        suite: Suite,
        segment_size: int,
        randbytes: Randbytes,
        dek: bytes | None = None,
        encoded_context: bytes | None = None,
        encoded_binding: bytes | None = None,
    ) -> None:
        self.dek = dek if dek is not None else randbytes(fmt.DEK_LEN)
        salt = randbytes(fmt.SALT_LEN)
        nonce_prefix = randbytes(fmt.NONCE_PREFIX_LEN)
        self.keys = derive(self.dek, salt, suite)
        self.core = Core(
            suite=suite,
            flags=fmt.FLAG_BINDING if binding else 0,
            segment_size=segment_size,
            salt=salt,
            nonce_prefix=nonce_prefix,
            commitment=self.keys.commitment,
            context=context,
        )
        core_bytes = self.core.encode(encoded_context)
        if not binding:
            binding_block = b""
        elif encoded_binding is not None:
            binding_block = encoded_binding
        else:
            binding_block = fmt.encode_map(binding, what="binding")
        self.digest = header_digest(core_bytes, binding_block)
        ad = AssociatedData(digest=self.digest, context=context, binding=binding)
        self.wrapped = [wrap_with(p, self.dek, ad) for p in providers]
        self.header = sign_header(self.keys, self.digest, core_bytes, self.wrapped)

    def cipher(self) -> SegmentCipher:
        return SegmentCipher(
            self.core.suite, self.keys.payload_key, self.core.nonce_prefix, self.digest
        )

    def __repr__(self) -> str:
        return "Sealer(<secret>)"


def new_sealer(
    keys: Keys,
    *,
    context: Mapping[str, str] | None,
    binding: Mapping[str, str] | None,
    suite: Suite,
    segment_size: int,
    randbytes: Randbytes = os.urandom,
    dek: bytes | None = None,
) -> Sealer:
    """Check the caller's arguments (TypeError/ValueError) and start a new document."""
    providers = providers_of(keys)  # first, as before: the same error for bad keys and map
    checked_context, encoded_context = checked_encoded_map(context, "context", sealing=True)
    checked_binding, encoded_binding = checked_encoded_map(binding, "binding")
    return Sealer(
        providers=providers,
        context=checked_context,
        binding=checked_binding,
        suite=as_suite(suite),
        segment_size=checked_segment_size(segment_size),
        randbytes=randbytes,
        dek=dek,
        encoded_context=encoded_context,
        encoded_binding=encoded_binding,
    )


def sign_header(
    keys: DocumentKeys, digest: bytes, core_bytes: bytes, wrapped: Sequence[WrappedKey]
) -> bytes:
    """The whole header: core, key section and the header MAC over both (format.md 3)."""
    unsigned = fmt.build_unsigned_header(core_bytes, wrapped)
    return unsigned + header_mac(keys.mac_key, digest, unsigned)


def wrap_with(provider: KeyProvider, dek: bytes, ad: AssociatedData) -> WrappedKey:
    """One provider's wrap, checked against the format and audited."""
    try:
        wrapped = provider.wrap(dek, ad)
    except Exception as exc:
        record("wrap", "failed", kind=kind_of(provider), context=ad.context, detail=str(exc))
        if isinstance(exc, SealdocError):
            raise
        raise KeyProviderError(f"{provider!r} failed to wrap the document key") from exc
    fmt.check_wrapped_key(wrapped)
    record(
        "wrap",
        "ok",
        kind=wrapped.kind,
        key_id=wrapped.key_id,
        version=wrapped.version,
        context=ad.context,
    )
    return wrapped


# -- bytes ---------------------------------------------------------------------


def seal(
    data: BytesLike,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
    segment_size: int = fmt.DEFAULT_SEGMENT_SIZE,
) -> bytes:
    """Seal ``data`` under a fresh document key wrapped for every provider in ``keys``.

    ``context`` is stored in the clear and authenticated; ``binding`` is
    authenticated but not stored, and must be given again to open.
    """
    return seal_with(
        data, keys=keys, context=context, binding=binding, suite=suite, segment_size=segment_size
    )


# The keywords repeat new_sealer's (duplicates pairs the two): seal_with
# forwards each one, spelled out so that mypy checks every call site.
def seal_with(
    data: BytesLike,
    *,
    keys: Keys,
    context: Mapping[str, str] | None,
    binding: Mapping[str, str] | None,
    suite: Suite,
    segment_size: int,
    randbytes: Randbytes = os.urandom,
    dek: bytes | None = None,
) -> bytes:
    """``seal`` with injectable randomness and document key, for test vectors."""
    view = as_buffer(data, "data")
    sealer = new_sealer(
        keys,
        context=context,
        binding=binding,
        suite=suite,
        segment_size=segment_size,
        randbytes=randbytes,
        dek=dek,
    )
    return seal_into_bytes(sealer, view)


def seal_into_bytes(sealer: Sealer, view: memoryview) -> bytes:
    """The whole sealed document, header then every segment, in one buffer."""
    header = sealer.header
    cipher = sealer.cipher()
    size = sealer.core.segment_size

    def fill(out: memoryview) -> None:
        out[: len(header)] = header
        cipher.seal_run(0, view, out[len(header) :], size, final=True)

    return build_bytes(len(header) + body_length(len(view), size), fill)


# -- streams ---------------------------------------------------------------------


def seal_stream(
    src: ReadableStream,
    dst: WritableStream,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
    segment_size: int = fmt.DEFAULT_SEGMENT_SIZE,
) -> int:
    """Seal everything ``src`` yields into ``dst``, in constant memory.

    ``dst`` may be unseekable (a pipe, a socket): the header is written first
    and each segment as soon as it is sealed. Returns the bytes written.
    Neither stream is closed.
    """
    if not hasattr(src, "read"):
        raise TypeError(f"src must be a readable binary file object, not {type(src).__name__}")
    if not hasattr(dst, "write"):
        raise TypeError(f"dst must be a writable binary file object, not {type(dst).__name__}")
    sealer = new_sealer(
        keys, context=context, binding=binding, suite=suite, segment_size=segment_size
    )
    return write_sealed(sealer, src, dst)


class SegmentSealer:
    """A document's body sealed one chunk at a time, with no I/O (both faces use it).

    Every chunk but the last holds exactly ``chunk`` plaintext bytes (whole
    segments); the caller says which chunk is the last, having read ahead.
    The returned view is valid until the next call.
    """

    def __init__(self, sealer: Sealer) -> None:
        self._cipher = sealer.cipher()
        self.segment_size = size = sealer.core.segment_size
        per_chunk = max(1, STREAM_CHUNK // size)
        self.chunk = size * per_chunk
        self._out = memoryview(bytearray(self.chunk + per_chunk * fmt.TAG_LEN))
        self._index = 0

    def seal(self, data: memoryview, *, last: bool) -> memoryview:
        if not last and len(data) != self.chunk:
            raise ValueError("only the last chunk may be short")
        size = self.segment_size
        pos = self._cipher.seal_run(self._index, data, self._out, size, final=last)
        self._index += segment_count(len(data), size)
        return self._out[:pos]

    def __repr__(self) -> str:
        return "SegmentSealer(<secret>)"


def write_sealed(sealer: Sealer, src: ReadableStream, dst: WritableStream) -> int:
    """The body of seal_stream, for a document whose header is already made."""
    body = SegmentSealer(sealer)
    chunk = body.chunk
    current, upcoming = bytearray(chunk), bytearray(chunk)
    written = write_all(dst, sealer.header)
    have = read_into(src, memoryview(current))
    while True:
        last_chunk = have < chunk
        more = 0
        if not last_chunk:
            more = read_into(src, memoryview(upcoming))
            last_chunk = more == 0
        written += write_all(dst, body.seal(memoryview(current)[:have], last=last_chunk))
        if last_chunk:
            return written
        current, upcoming, have = upcoming, current, more
