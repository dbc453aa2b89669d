"""seal, open and inspect over bytes and streams (docs/usage.md, "The verbs")."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from . import _format as fmt
from ._audit import record
from ._buffers import build_bytes
from ._format import Core, Header, ParsedHeader, Suite, WrappedKey
from ._provider_api import AssociatedData, HasKind, KeyProvider
from ._reader import SealedReader, read_header, read_into
from ._schedule import DocumentKeys, derive, header_digest, header_mac, same
from ._stream import SegmentCipher, body_length, plaintext_length, segment_count
from ._types import BytesLike, ReadableStream, SeekableStream, WritableStream
from ._uri import KeysOrUris, key_from_uri
from .exceptions import (
    Attempt,
    DecryptionError,
    FormatError,
    KeyProviderError,
    NotMineError,
    SealdocError,
)

#: What every ``keys=``, ``to=`` and ``add=`` takes: a provider, a key URI, or a mix of them.
Keys = KeysOrUris
Randbytes = Callable[[int], bytes]

_log = logging.getLogger("sealdoc")

#: How many wraps naming one kind, key id and version a provider without a
#: declared budget tries in one document (format.md 9.1).
DEFAULT_UNWRAPS_PER_KEY = 2

# How many segments a stream moves per read/write: about 1 MiB at a time
# keeps the Python overhead per byte low and memory constant.
_STREAM_CHUNK = 1024 * 1024


# -- argument checking --------------------------------------------------------


# Types already seen to have wrap/unwrap/handles. A runtime_checkable
# Protocol isinstance() costs about 4 us, as much as sealing 1 KiB.
_PROVIDER_TYPES: set[type] = set()
_PROVIDER_METHODS = ("wrap", "unwrap", "handles")


def _is_provider(obj: object) -> bool:
    kind = type(obj)
    if kind in _PROVIDER_TYPES:
        return True
    if all(callable(getattr(obj, name, None)) for name in _PROVIDER_METHODS):
        _PROVIDER_TYPES.add(kind)
        return True
    return False


def providers_of(keys: object) -> tuple[KeyProvider, ...]:
    """``keys`` as providers: the one place key-URI strings are resolved (``key_from_uri``).

    A str is always a key URI here; labels such as ``local:ring#2`` (``drop=``)
    never come this way.
    """
    if _is_provider(keys):
        return (cast(KeyProvider, keys),)
    if isinstance(keys, str):
        return (key_from_uri(keys),)
    if isinstance(keys, Sequence) and not isinstance(keys, bytes):
        result = tuple(key_from_uri(k) if isinstance(k, str) else k for k in keys)
        if not result:
            raise ValueError("keys is empty: give at least one key provider or key URI")
        for p in result:
            if not _is_provider(p):
                raise TypeError(
                    "keys must be a key provider, a key URI or a sequence of them; got a "
                    f"{type(p).__name__} in the sequence"
                )
        return cast(tuple[KeyProvider, ...], result)
    raise TypeError(
        f"keys must be a key provider, a key URI or a sequence of them, not {type(keys).__name__}"
    )


def _mapping(
    value: Mapping[str, str] | None, what: str, *, sealing: bool = False
) -> dict[str, str]:
    return {} if value is None else fmt.check_map(value, what=what, sealing=sealing)


def _buffer(data: object, what: str) -> memoryview:
    if type(data) is bytes:
        return memoryview(data)
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        return view.cast("B") if view.format != "B" or view.ndim != 1 else view
    raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}")


def _suite(suite: int) -> Suite:
    if type(suite) is Suite:
        return suite
    try:
        return Suite(suite)
    except ValueError:
        raise ValueError(f"unknown suite {suite!r}; choose one of {list(Suite)}") from None


def _segment_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError("segment_size must be an int")
    if not fmt.MIN_SEGMENT_SIZE <= size <= fmt.MAX_SEGMENT_SIZE:
        raise ValueError(
            f"segment_size must be {fmt.MIN_SEGMENT_SIZE}..{fmt.MAX_SEGMENT_SIZE} bytes"
        )
    return size


# -- the header: build and unlock ---------------------------------------------


class _Sealer:
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
        core_bytes = self.core.encode()
        binding_block = fmt.encode_map(binding, what="binding") if binding else b""
        self.digest = header_digest(core_bytes, binding_block)
        ad = AssociatedData(digest=self.digest, context=context, binding=binding)
        self.wrapped = [wrap_with(p, self.dek, ad) for p in providers]
        self.header = sign_header(self.keys, self.digest, core_bytes, self.wrapped)

    def cipher(self) -> SegmentCipher:
        return SegmentCipher(
            self.core.suite, self.keys.payload_key, self.core.nonce_prefix, self.digest
        )

    def __repr__(self) -> str:
        return "_Sealer(<secret>)"


def _new_sealer(
    keys: Keys,
    *,
    context: Mapping[str, str] | None,
    binding: Mapping[str, str] | None,
    suite: Suite,
    segment_size: int,
    randbytes: Randbytes = os.urandom,
    dek: bytes | None = None,
) -> _Sealer:
    """Check the caller's arguments (TypeError/ValueError) and start a new document."""
    return _Sealer(
        providers=providers_of(keys),
        context=_mapping(context, "context", sealing=True),
        binding=_mapping(binding, "binding"),
        suite=_suite(suite),
        segment_size=_segment_size(segment_size),
        randbytes=randbytes,
        dek=dek,
    )


def sign_header(
    keys: DocumentKeys, digest: bytes, core_bytes: bytes, wrapped: Sequence[WrappedKey]
) -> bytes:
    unsigned = fmt.build_unsigned_header(core_bytes, wrapped)
    return unsigned + header_mac(keys.mac_key, digest, unsigned)


def wrap_with(provider: KeyProvider, dek: bytes, ad: AssociatedData) -> WrappedKey:
    """One provider's wrap, checked against the format and audited."""
    try:
        wrapped = provider.wrap(dek, ad)
    except Exception as exc:
        record("wrap", "failed", kind=_kind(provider), context=ad.context, detail=str(exc))
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


def _kind(provider: object) -> str:
    return provider.kind if isinstance(provider, HasKind) else type(provider).__name__


def _check_context(stored: Mapping[str, str], expected: Mapping[str, str]) -> None:
    for key, value in expected.items():
        if key not in stored:
            raise DecryptionError(f"context mismatch: the document has no key {key!r}")
        if stored[key] != value:
            raise DecryptionError(f"context mismatch on key {key!r}")


def _binding_block(parsed: ParsedHeader, binding: Mapping[str, str]) -> bytes:
    required = bool(parsed.core.flags & fmt.FLAG_BINDING)
    if required and not binding:
        raise DecryptionError("the document was sealed with a binding; pass binding=")
    if binding and not required:
        raise DecryptionError("a binding was given but the document was sealed without one")
    return fmt.encode_map(binding, what="binding") if binding else b""


class Unlocked:
    """A header whose document key has been recovered and checked."""

    def __init__(
        self,
        parsed: ParsedHeader,
        keys: DocumentKeys,
        dek: bytes,
        digest: bytes,
        binding: Mapping[str, str],
        *,
        opened_with: tuple[KeyProvider, WrappedKey] | None = None,
    ) -> None:
        self.parsed = parsed
        self.keys = keys
        self.dek = dek
        self.digest = digest
        self.binding = binding
        # which provider opened which wrap: rekey then knows that wrap's owner
        # without unwrapping it again (a second KDF or KMS call)
        self.opened_with = opened_with

    def cipher(self) -> SegmentCipher:
        core = self.parsed.core
        return SegmentCipher(core.suite, self.keys.payload_key, core.nonce_prefix, self.digest)

    def __repr__(self) -> str:
        return "Unlocked(<secret>)"


class _Attempts:
    """What each provider said, for the error (``attempts``) and the audit log."""

    def __init__(self, ad: AssociatedData) -> None:
        self.ad = ad
        self.items: list[Attempt] = []
        self.failures: list[BaseException] = []

    def add(self, provider: KeyProvider, wrapped: WrappedKey, outcome: str, reason: str) -> None:
        self.items.append(Attempt(repr(provider), wrapped.label, reason, outcome))
        self.audit(wrapped, outcome, reason)

    def audit(self, wrapped: WrappedKey, outcome: str, detail: str = "") -> None:
        record(
            "unwrap",
            outcome,
            kind=wrapped.kind,
            key_id=wrapped.key_id,
            version=wrapped.version,
            context=self.ad.context,
            detail=detail,
        )

    def error(self, parsed: ParsedHeader, providers: Sequence[KeyProvider]) -> SealdocError:
        """The error for "nothing opened it": KeyProviderError if a provider failed."""
        attempts = self.items
        if not attempts:
            labels = ", ".join(w.label for w in parsed.wrapped_keys)
            attempts.append(
                Attempt(
                    ", ".join(repr(p) for p in providers),
                    "-",
                    f"no provider given holds any of the document's keys ({labels})",
                )
            )
        if self.failures:
            failed = KeyProviderError("cannot open this document: a key provider failed", attempts)
            failed.__cause__ = self.failures[0]
            return _logged(failed)
        return _logged(DecryptionError("no key provider could unwrap the document key", attempts))


def _logged(error: DecryptionError | KeyProviderError) -> DecryptionError | KeyProviderError:
    """The details stay out of ``str(error)`` (format.md 9); a developer finds them here."""
    if _log.isEnabledFor(logging.DEBUG):
        _log.debug("%s", error.details())
    return error


class _Budget:
    """How many more wraps of this document one provider may try (format.md 9.1).

    A crafted document may hold 32 wraps that all name one victim key; each
    try can be a KMS request or a password KDF. A provider that declares
    ``max_unwraps_per_document`` (``sealdoc.providers.UnwrapBudget``)
    tries at most that many wraps in all; any other tries at most
    ``DEFAULT_UNWRAPS_PER_KEY`` wraps naming one kind, key id and version.
    """

    def __init__(self, provider: KeyProvider) -> None:
        self.total = unwrap_budget(provider)
        self.per_key: dict[tuple[str, str, int], int] = {}

    def take(self, wrapped: WrappedKey) -> bool:
        if self.total is not None:
            self.total -= 1
            return self.total >= 0
        ref = (wrapped.kind, wrapped.key_id, wrapped.version)
        used = self.per_key.get(ref, 0)
        self.per_key[ref] = used + 1
        return used < DEFAULT_UNWRAPS_PER_KEY


def unwrap_budget(provider: object) -> int | None:
    """A provider's declared per-document budget, or None for the per-key default.

    The one place the capability is looked up. For a Protocol whose only
    member is data, ``isinstance(provider, UnwrapBudget)`` is exactly "has
    the attribute"; the getattr below says the same in 50 ns instead of the
    10 us a runtime Protocol check costs, paid on every open.
    """
    budget = getattr(provider, "max_unwraps_per_document", None)
    if budget is None:
        return None
    if isinstance(budget, int) and not isinstance(budget, bool) and budget >= 0:
        return budget
    raise TypeError(f"{provider!r}.max_unwraps_per_document must be an int >= 0")


_OVER_BUDGET = "refused: this provider tries no more wraps in one document"


def _try_unwrap(
    provider: KeyProvider, wrapped: WrappedKey, ad: AssociatedData, tried: _Attempts
) -> bytes | None:
    """One provider on one wrap: the DEK, or None with the reason recorded."""
    try:
        dek = provider.unwrap(wrapped, ad)
    except (NotMineError, FormatError, DecryptionError) as exc:
        tried.add(provider, wrapped, "declined", str(exc) or "not mine")
        return None
    except Exception as exc:  # a provider that is down is not tampering
        tried.add(provider, wrapped, "failed", f"provider failed: {exc}")
        tried.failures.append(exc)
        return None
    if not isinstance(dek, bytes) or len(dek) != fmt.DEK_LEN:
        tried.add(provider, wrapped, "declined", "provider returned a malformed key")
        return None
    return dek


def unlock(
    parsed: ParsedHeader,
    providers: Sequence[KeyProvider],
    context: Mapping[str, str],
    binding: Mapping[str, str],
) -> Unlocked:
    """Recover the DEK with any provider; check commitment and header MAC (format.md 9)."""
    try:
        _check_context(parsed.core.context, context)
        digest = header_digest(parsed.core_bytes, _binding_block(parsed, binding))
    except DecryptionError as exc:
        raise _logged(exc) from None
    ad = AssociatedData(digest=digest, context=parsed.core.context, binding=binding)
    tried = _Attempts(ad)
    for provider in providers:  # the caller's order, then the header's (format.md 9.1)
        budget = _Budget(provider)
        for wrapped in parsed.wrapped_keys:
            try:
                if not provider.handles(wrapped):
                    continue
            except Exception as exc:
                tried.add(provider, wrapped, "failed", f"provider failed: {exc}")
                tried.failures.append(exc)
                continue
            if not budget.take(wrapped):
                tried.add(provider, wrapped, "declined", _OVER_BUDGET)
                continue
            dek = _try_unwrap(provider, wrapped, ad, tried)
            if dek is None:
                continue
            keys = derive(dek, parsed.core.salt, parsed.core.suite)
            if not same(keys.commitment, parsed.core.commitment):
                tried.add(provider, wrapped, "declined", "key commitment mismatch")
                continue
            if not same(header_mac(keys.mac_key, digest, parsed.signed_part), parsed.mac):
                tried.add(provider, wrapped, "declined", "header authentication failed")
                raise _logged(DecryptionError("the header was altered", tried.items))
            tried.audit(wrapped, "ok")
            return Unlocked(parsed, keys, dek, digest, binding, opened_with=(provider, wrapped))
    raise tried.error(parsed, providers)


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
    return _seal(
        data, keys=keys, context=context, binding=binding, suite=suite, segment_size=segment_size
    )


def _seal(
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
    """``seal`` with injectable randomness, for test vectors."""
    view = _buffer(data, "data")
    sealer = _new_sealer(
        keys,
        context=context,
        binding=binding,
        suite=suite,
        segment_size=segment_size,
        randbytes=randbytes,
        dek=dek,
    )
    return seal_into_bytes(sealer, view)


def seal_into_bytes(sealer: _Sealer, view: memoryview) -> bytes:
    """The whole sealed document, header then every segment, in one buffer."""
    header = sealer.header
    cipher = sealer.cipher()
    size = sealer.core.segment_size

    def fill(out: memoryview) -> None:
        out[: len(header)] = header
        cipher.seal_run(0, view, out[len(header) :], size, final=True)

    return build_bytes(len(header) + body_length(len(view), size), fill)


def _parse_bytes(sealed: object) -> tuple[ParsedHeader, memoryview]:
    view = _buffer(sealed, "sealed")
    header_len = fmt.parse_prelude(bytes(view[: fmt.PRELUDE_LEN]))
    parsed = fmt.parse_header(bytes(view[:header_len]))
    return parsed, view[header_len:]


def open(
    sealed: BytesLike,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> bytes:
    """Open a sealed document; every pair in ``context`` must match the document's."""
    parsed, body = _parse_bytes(sealed)
    providers = providers_of(keys)
    size = parsed.core.segment_size
    total = plaintext_length(len(body), size)
    unlocked = unlock(parsed, providers, _mapping(context, "context"), _mapping(binding, "binding"))
    cipher = unlocked.cipher()

    def fill(out: memoryview) -> None:
        cipher.open_run(0, body, out, size, final=True)

    return build_bytes(total, fill)


def inspect(sealed: BytesLike | ReadableStream) -> Header:
    """Read a document's header without any key. Nothing in it is secret."""
    if isinstance(sealed, bytes | bytearray | memoryview):
        parsed, body = _parse_bytes(sealed)
        try:
            length: int | None = plaintext_length(len(body), parsed.core.segment_size)
        except DecryptionError:
            length = None
        return parsed.public(length)
    if not hasattr(sealed, "read"):
        raise TypeError(
            f"inspect() takes bytes or a binary file object, not {type(sealed).__name__}"
        )
    start = _tell(sealed)
    parsed = read_header(sealed)
    length = None
    if start is not None:
        seekable = cast(SeekableStream, sealed)
        end = seekable.seek(0, os.SEEK_END)
        try:
            length = plaintext_length(end - start - len(parsed.raw), parsed.core.segment_size)
        except DecryptionError:
            length = None
        seekable.seek(start)
    return parsed.public(length)


def _tell(stream: ReadableStream) -> int | None:
    try:
        seekable = cast(SeekableStream, stream)
        if not seekable.seekable():
            return None
        return seekable.tell()
    except (AttributeError, OSError, ValueError):
        return None


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
    sealer = _new_sealer(
        keys, context=context, binding=binding, suite=suite, segment_size=segment_size
    )
    return write_sealed(sealer, src, dst)


def write_sealed(sealer: _Sealer, src: ReadableStream, dst: WritableStream) -> int:
    """The body of seal_stream, for a document whose header is already made."""
    cipher = sealer.cipher()
    size = sealer.core.segment_size
    per_chunk = max(1, _STREAM_CHUNK // size)
    chunk = size * per_chunk
    current, upcoming = bytearray(chunk), bytearray(chunk)
    out = bytearray(chunk + per_chunk * fmt.TAG_LEN)
    out_view = memoryview(out)
    written = _write_all(dst, sealer.header)
    index = 0
    have = read_into(src, memoryview(current))
    while True:
        last_chunk = have < chunk
        more = 0
        if not last_chunk:
            more = read_into(src, memoryview(upcoming))
            last_chunk = more == 0
        view = memoryview(current)[:have]
        pos = cipher.seal_run(index, view, out_view, size, final=last_chunk)
        index += segment_count(have, size)
        written += _write_all(dst, out_view[:pos])
        if last_chunk:
            return written
        current, upcoming, have = upcoming, current, more


def _write_all(dst: WritableStream, data: bytes | memoryview) -> int:
    view = memoryview(data)
    done = 0
    while done < len(view):
        n = dst.write(view[done:])
        if n is None:  # a buffered writer that took everything
            break
        done += n
        if n == 0:
            raise OSError("the destination accepted no bytes")
    return len(view)


def open_stream(
    src: ReadableStream,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> SealedReader:
    """A readable binary file object over the plaintext of a sealed stream.

    Seekable when ``src`` is: ``seek()`` then reads and authenticates only
    the segments it needs. No byte is returned before its segment has been
    authenticated; truncation and extension are detected when the end is
    read (or, on a seekable source, when the length is asked for). ``src``
    is not closed with the reader.
    """
    if not hasattr(src, "read"):
        raise TypeError(f"src must be a readable binary file object, not {type(src).__name__}")
    providers = providers_of(keys)
    ctx = _mapping(context, "context")
    bnd = _mapping(binding, "binding")
    return open_parsed(src, read_header(src), providers, ctx, bnd)


def open_parsed(
    src: ReadableStream,
    parsed: ParsedHeader,
    providers: Sequence[KeyProvider],
    context: Mapping[str, str],
    binding: Mapping[str, str],
) -> SealedReader:
    """open_stream for a source whose header has already been read."""
    cipher = unlock(parsed, providers, context, binding).cipher()
    return SealedReader(src, parsed, cipher)


__all__ = [
    "inspect",
    "open",
    "open_stream",
    "seal",
    "seal_stream",
]
