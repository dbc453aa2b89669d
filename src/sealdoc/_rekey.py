"""rewrap, rotate and is_current (docs/lifecycle.md; docs/format.md section 10).

rewrap keeps the document key and the body, byte for byte, and replaces the
key section and the header MAC. rotate makes a new document key and
re-encrypts the body. is_current answers from the header alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from . import _format as fmt
from ._audit import record
from ._buffers import build_bytes
from ._envelope import (
    Keys,
    Unlocked,
    _mapping,
    _new_sealer,
    _parse_bytes,
    _tell,
    inspect,
    providers_of,
    seal_into_bytes,
    seal_stream,
    sign_header,
    unlock,
    wrap_with,
)
from ._envelope import _write_all as write_all
from ._format import Header, KeyRef, ParsedHeader, Suite, WrappedKey
from ._owners import Owners, powers
from ._provider_api import AssociatedData, KeyProvider
from ._reader import SealedReader, read_header, read_into
from ._stream import plaintext_length
from ._types import BytesLike, ReadableStream, SeekableStream, WritableStream
from .exceptions import WrapLossError

Drop = KeyProvider | KeyRef | str
_COPY_CHUNK = 1024 * 1024


# -- which wrapped keys the new header holds ------------------------------------------


def _as_list(value: object) -> list[object]:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def _ad(unlocked: Unlocked) -> AssociatedData:
    parsed = unlocked.parsed
    return AssociatedData(
        digest=unlocked.digest, context=parsed.core.context, binding=unlocked.binding
    )


def _wrapped_set(
    unlocked: Unlocked,
    providers: Sequence[KeyProvider],
    to: Keys | None,
    add: Keys | None,
    drop: Drop | Sequence[Drop] | None,
) -> list[WrappedKey]:
    """The key section a rewrap writes. Every wrap is made before anything is written."""
    ad = _ad(unlocked)
    existing = list(unlocked.parsed.wrapped_keys)
    if to is not None:
        if add is not None or drop is not None:
            raise ValueError("give either to= (the whole new set) or add=/drop=, not both")
        result = [wrap_with(p, unlocked.dek, ad) for p in providers_of(to)]
    elif add is not None or drop is not None:
        owners = Owners(providers, unlocked)
        result = existing
        if drop is not None:
            matchers = [owners.matcher(item) for item in _as_list(drop)]
            result = [w for w in result if not any(m(w) for m in matchers)]
        for provider in providers_of(add) if add is not None else ():
            # a provider replaces its own wraps only: the same key id for a
            # keyring, the wraps it can unwrap for a password or a device
            own = owners.own_wraps(provider)
            result = [w for w in result if not own(w)]
            result.append(wrap_with(provider, unlocked.dek, ad))
    else:
        result = _bring_up_to_date(existing, Owners(providers, unlocked), unlocked.dek, ad)
    if not result:
        raise ValueError("a document needs at least one wrapped key; this would leave none")
    return result


def _bring_up_to_date(
    existing: list[WrappedKey], owners: Owners, dek: bytes, ad: AssociatedData
) -> list[WrappedKey]:
    """Each wrap brought to its own key id's current version, in place; the others kept.

    A wrap no provider serves, or whose owner cannot be confirmed, is kept
    byte for byte (it stays valid: the header digest does not change). Older
    versions of one key id become one wrap at its current version.
    """
    current_ids = set()
    for wrapped in existing:
        served = owners.served(wrapped)
        if served is not None and served.family and served.is_current(wrapped):
            current_ids.add(served.identity(wrapped))
    result: list[WrappedKey] = []
    done: set[tuple[object, ...]] = set()
    for wrapped in existing:
        served = owners.served(wrapped)
        if served is None or served.is_current(wrapped):
            result.append(wrapped)
            continue
        owner = owners.owner(wrapped)
        if owner is None:
            result.append(wrapped)  # not provably this provider's: leave it alone
            continue
        identity = owner.identity(wrapped)
        if identity in current_ids or identity in done:
            continue  # that key id already has a wrap at its current version
        done.add(identity)
        result.append(wrap_with(owner.provider, dek, ad))
    return result


def _rotate_recipients(
    unlocked: Unlocked,
    providers: Sequence[KeyProvider],
    to: Keys | None,
    drop: Drop | Sequence[Drop] | None,
) -> list[KeyProvider]:
    """Who a rotated document is wrapped for: every wrap re-created, or WrapLossError."""
    if to is not None:
        if drop is not None:
            raise ValueError("give either to= (the whole new set) or drop=, not both")
        return list(providers_of(to))
    owners = Owners(providers, unlocked)
    matchers = [owners.matcher(item) for item in _as_list(drop)] if drop is not None else []
    chosen: list[KeyProvider] = []
    seen: set[tuple[object, ...]] = set()
    for wrapped in unlocked.parsed.wrapped_keys:
        if any(m(wrapped) for m in matchers):
            continue
        owner = owners.owner(wrapped)
        if owner is None:
            raise WrapLossError(
                f"rotating would lose the wrapped key {wrapped.label}, which no provider given "
                "can re-create for the same key or recipient; pass that provider in keys=, "
                f"or drop={wrapped.label!r}, or the whole new set in to=",
                wrapped.label,
            )
        identity = owner.identity(wrapped)
        if identity not in seen:
            seen.add(identity)
            chosen.append(owner.provider)
    if not chosen:
        raise ValueError("a document needs at least one wrapped key; this would leave none")
    return chosen


# -- rewrap -------------------------------------------------------------------------------


def rewrap(
    sealed: BytesLike,
    *,
    keys: Keys,
    to: Keys | None = None,
    add: Keys | None = None,
    drop: Drop | Sequence[Drop] | None = None,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    verify: bool = False,
) -> bytes:
    """Wrap the same document key for other or newer keys; the body is untouched.

    ``keys`` must open the document. A wrap is identified by its kind and
    key id, and only ``to`` or ``drop`` changes which ones protect the
    document (docs/lifecycle.md):

    * ``to``: the new set of wrapped keys is exactly ``to``'s.
    * ``add``: each provider's wrap is added, replacing only its own: the
      same key id for a keyring, the wraps it can unwrap for a password or
      an X25519 identity. ``drop``: wraps removed, given as a provider (its
      own wraps), a KeyRef, or a label ``kind:key_id[#version]``. Every
      other wrapped key is kept byte for byte.
    * none of them ("bring up to date"): each wrap that a provider in
      ``keys`` serves is brought to its own key id's current version (a
      keyring keeps per-customer and escrow wraps under their keys); a
      password or X25519 wrap is replaced only by the provider that unwraps
      it. Everything else is kept byte for byte. A document already current
      comes back unchanged.

    Only the header is authenticated, unless ``verify=True``, which also
    authenticates every body segment before returning (a full decryption
    pass; nothing is kept).
    """
    parsed, body = _parse_bytes(sealed)
    plaintext_length(len(body), parsed.core.segment_size)  # a truncated body fails here
    providers = providers_of(keys)  # once: a key URI is resolved (a keyring loaded) once
    unlocked = unlock(parsed, providers, _mapping(context, "context"), _mapping(binding, "binding"))
    try:
        wrapped = _wrapped_set(unlocked, providers, to, add, drop)
        if verify:
            _verify_body(unlocked, body)
    except Exception as exc:
        record("rewrap", "failed", context=parsed.core.context, detail=str(exc))
        raise
    if wrapped == list(parsed.wrapped_keys):
        record("rewrap", "ok", context=parsed.core.context, detail="already current")
        return bytes(sealed)
    header = sign_header(unlocked.keys, unlocked.digest, parsed.core_bytes, wrapped)
    _audit_rekey("rewrap", parsed, wrapped)
    return b"".join((header, body))  # one copy of the body, no zero-fill


def _verify_body(unlocked: Unlocked, body: memoryview) -> None:
    size = unlocked.parsed.core.segment_size
    cipher = unlocked.cipher()
    seg_ct = size + fmt.TAG_LEN
    scratch = memoryview(bytearray(min(len(body), 64 * seg_ct)))
    step = 64 * seg_ct  # authenticate 64 segments at a time into a small scratch buffer
    for start in range(0, max(len(body), 1), step):
        chunk = body[start : start + step]
        cipher.open_run(
            start // seg_ct, chunk, scratch[: len(chunk)], size, final=start + step >= len(body)
        )


def rewrap_stream(
    src: ReadableStream,
    dst: WritableStream,
    *,
    keys: Keys,
    to: Keys | None = None,
    add: Keys | None = None,
    drop: Drop | Sequence[Drop] | None = None,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> int:
    """``rewrap`` for streams: the body is copied, not decrypted, in constant memory.

    Nothing is written until the header has been authenticated and every new
    wrap made, so a wrong key or a provider that is down leaves ``dst``
    empty. Returns the bytes written.
    """
    start = _tell(src)
    parsed = read_header(src)
    if start is not None:
        seekable: SeekableStream = src  # type: ignore[assignment]
        here = seekable.tell()
        end = seekable.seek(0, os.SEEK_END)
        seekable.seek(here)
        plaintext_length(end - here, parsed.core.segment_size)
    providers = providers_of(keys)  # once: a key URI is resolved (a keyring loaded) once
    unlocked = unlock(parsed, providers, _mapping(context, "context"), _mapping(binding, "binding"))
    try:
        wrapped = _wrapped_set(unlocked, providers, to, add, drop)
    except Exception as exc:
        record("rewrap", "failed", context=parsed.core.context, detail=str(exc))
        raise
    header = sign_header(unlocked.keys, unlocked.digest, parsed.core_bytes, wrapped)
    written = write_all(dst, header)
    buffer = memoryview(bytearray(_COPY_CHUNK))
    while n := read_into(src, buffer):
        written += write_all(dst, buffer[:n])
    _audit_rekey("rewrap", parsed, wrapped)
    return written


# -- rotate --------------------------------------------------------------------------------


def rotate(
    sealed: BytesLike,
    *,
    keys: Keys,
    to: Keys | None = None,
    drop: Drop | Sequence[Drop] | None = None,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite | None = None,
    segment_size: int | None = None,
) -> bytes:
    """A fresh document key, salt and nonce prefix; the body re-encrypted.

    The document is opened (and so fully authenticated) before anything new
    is made. It keeps its context and binding; ``suite`` and
    ``segment_size`` default to the document's own. Without ``to``, every
    wrap is re-created for the same key id (at its current version) or the
    same recipient (a password or X25519 identity in ``keys`` that unwraps
    it). A wrap that no provider given can re-create raises WrapLossError,
    naming it, and nothing is made, unless ``drop`` names it (a provider, a
    KeyRef or a label, as for :func:`rewrap`).
    """
    parsed, body = _parse_bytes(sealed)
    providers = providers_of(keys)
    size = parsed.core.segment_size
    total = plaintext_length(len(body), size)
    unlocked = unlock(parsed, providers, _mapping(context, "context"), _mapping(binding, "binding"))
    recipients = _rotate_recipients(unlocked, providers, to, drop)
    cipher = unlocked.cipher()

    def fill(out: memoryview) -> None:
        cipher.open_run(0, body, out, size, final=True)

    plaintext = build_bytes(total, fill)
    sealer = _new_sealer(
        recipients,
        context=parsed.core.context,
        binding=binding,
        suite=suite if suite is not None else parsed.core.suite,
        segment_size=segment_size if segment_size is not None else size,
    )
    result = seal_into_bytes(sealer, memoryview(plaintext))
    _audit_rekey("rotate", parsed, sealer.wrapped)
    return result


def rotate_stream(
    src: ReadableStream,
    dst: WritableStream,
    *,
    keys: Keys,
    to: Keys | None = None,
    drop: Drop | Sequence[Drop] | None = None,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite | None = None,
    segment_size: int | None = None,
) -> int:
    """``rotate`` for streams, in constant memory; the same wraps are re-created.

    A wrap that cannot be re-created raises WrapLossError before anything
    is written. Segments are authenticated as they are read, so a body
    tampered with part-way through raises DecryptionError after some output
    has been written: write to a temporary file and keep it only on success
    (the Vault does this for you).
    """
    parsed = read_header(src)
    providers = providers_of(keys)
    unlocked = unlock(parsed, providers, _mapping(context, "context"), _mapping(binding, "binding"))
    recipients = _rotate_recipients(unlocked, providers, to, drop)
    reader = SealedReader(src, parsed, unlocked.cipher())
    written = seal_stream(
        reader,
        dst,
        keys=recipients,
        context=parsed.core.context,
        binding=binding,
        suite=suite if suite is not None else parsed.core.suite,
        segment_size=segment_size if segment_size is not None else parsed.core.segment_size,
    )
    record("rotate", "ok", context=parsed.core.context)
    return written


def _audit_rekey(operation: str, parsed: ParsedHeader, wrapped: Sequence[WrappedKey]) -> None:
    before = ",".join(w.label for w in parsed.wrapped_keys)
    after = ",".join(w.label for w in wrapped)
    record(operation, "ok", context=parsed.core.context, detail=f"{before} -> {after}")


# -- is_current -----------------------------------------------------------------------------


def is_current(sealed: BytesLike | ReadableStream | Header, *, keys: Keys) -> bool:
    """Whether ``rewrap(sealed, keys=keys)`` would change nothing, from the header alone.

    True when the providers in ``keys`` serve at least one of the document's
    wraps, and every wrap they serve is at its own key id's current version
    (a keyring serves each of its key ids: default, per customer, escrow).
    Wraps no provider given serves do not count. No key is unwrapped, so
    bulk jobs can skip current documents cheaply. A provider that serves a
    wrap but cannot say its current version (no ``current_key()``) makes it
    False.
    """
    header = sealed if isinstance(sealed, Header) else inspect(sealed)
    owners = Owners(providers_of(keys), None)
    served_any = False
    for wrapped in header.wrapped_keys:
        served = owners.served(wrapped)
        if served is None:
            continue
        if not served.is_current(wrapped):
            return False
        served_any = True
    return served_any


def wrapped_exactly_for(header: Header, keys: Keys) -> bool:
    """Whether the header holds exactly the wraps ``rewrap(to=keys)`` would write.

    From the header alone, compared by kind, key id and version; False when
    a provider cannot say its current version.
    """
    wanted = []
    for provider in providers_of(keys):
        versioned = powers(provider).versioned
        if versioned is None:
            return False
        ref = versioned.current_key()
        wanted.append((ref.kind, ref.key_id, ref.version))
    have = [(w.kind, w.key_id, w.version) for w in header.wrapped_keys]
    return sorted(have) == sorted(wanted)
