"""rewrap, rotate and is_current (DESIGN.md, "Operations"; docs/lifecycle.md).

rewrap keeps the document key and the body, byte for byte, and replaces the
key section and the header MAC. rotate makes a new document key and
re-encrypts the body. is_current answers from the header alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from . import _format as fmt
from ._audit import record
from ._envelope import (
    Keys,
    Unlocked,
    _mapping,
    _new_sealer,
    _parse_bytes,
    _tell,
    inspect,
    open_parsed,
    providers_of,
    seal_into_bytes,
    seal_stream,
    sign_header,
    unlock,
    wrap_with,
)
from ._envelope import _write_all as write_all
from ._envelope import open as open_document
from ._format import Header, KeyRef, ParsedHeader, Suite, WrappedKey
from ._reader import read_header, read_into
from ._stream import plaintext_length
from ._types import BytesLike, ReadableStream, SeekableStream, WritableStream
from .providers._base import AssociatedData, KeyProvider

Drop = KeyProvider | KeyRef | str
_COPY_CHUNK = 1024 * 1024


# -- which wrapped keys the new header holds ------------------------------------------


def _current(provider: KeyProvider) -> KeyRef | None:
    current = getattr(provider, "current_key", None)
    return current() if callable(current) else None


def _matcher(item: object) -> Callable[[WrappedKey], bool]:
    """``drop=`` accepts a provider, a KeyRef, or a label ``kind:key_id[#version]``."""
    if isinstance(item, KeyRef):
        return lambda w: w.ref == item
    if isinstance(item, str):
        kind, sep, rest = item.partition(":")
        if not sep or not rest:
            raise ValueError(f"{item!r} is not a key label (kind:key_id or kind:key_id#version)")
        key_id, hash_, version = rest.rpartition("#") if "#" in rest else (rest, "", "")
        if hash_ and not version.isdigit():
            raise ValueError(f"{item!r}: the version after # must be a number")
        return lambda w: (
            w.kind == kind and w.key_id == key_id and (not hash_ or w.version == int(version))
        )
    if callable(getattr(item, "handles", None)):
        return item.handles  # type: ignore[attr-defined,no-any-return]
    raise TypeError(f"drop takes providers, KeyRefs or key labels, not {type(item).__name__}")


def _as_list(value: object) -> list[object]:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def _wrapped_set(
    unlocked: Unlocked,
    providers: Sequence[KeyProvider],
    to: Keys | None,
    add: Keys | None,
    drop: Drop | Sequence[Drop] | None,
) -> list[WrappedKey]:
    """The key section a rewrap writes. Every wrap is made before anything is written."""
    parsed = unlocked.parsed
    ad = AssociatedData(
        digest=unlocked.digest, context=parsed.core.context, binding=unlocked.binding
    )
    existing = list(parsed.wrapped_keys)
    if to is not None:
        if add is not None or drop is not None:
            raise ValueError("give either to= (the whole new set) or add=/drop=, not both")
        result = [wrap_with(p, unlocked.dek, ad) for p in providers_of(to)]
    elif add is not None or drop is not None:
        result = existing
        if drop is not None:
            matchers = [_matcher(item) for item in _as_list(drop)]
            result = [w for w in result if not any(m(w) for m in matchers)]
        for provider in providers_of(add) if add is not None else ():
            result = [w for w in result if not provider.handles(w)]
            result.append(wrap_with(provider, unlocked.dek, ad))
    else:
        result = _bring_up_to_date(existing, providers, unlocked.dek, ad)
    if not result:
        raise ValueError("a document needs at least one wrapped key; this would leave none")
    return result


def _bring_up_to_date(
    existing: list[WrappedKey], providers: Sequence[KeyProvider], dek: bytes, ad: AssociatedData
) -> list[WrappedKey]:
    """Each provider's keys replaced by one wrap at its current version; others kept as they are."""
    result: list[WrappedKey] = []
    done: set[int] = set()
    for wrapped in existing:
        owner = next((p for p in providers if p.handles(wrapped)), None)
        if owner is None:
            result.append(wrapped)  # still valid: the header digest does not change
            continue
        if id(owner) in done:
            continue  # an older version of a key this provider now wraps once
        done.add(id(owner))
        current = _current(owner)
        result.append(wrapped if current == wrapped.ref else wrap_with(owner, dek, ad))
    return result


def _providers_for_rotate(
    parsed: ParsedHeader, providers: Sequence[KeyProvider]
) -> list[KeyProvider]:
    """Who a rotated document is wrapped for when ``to`` is not given."""
    chosen: list[KeyProvider] = []
    for wrapped in parsed.wrapped_keys:
        owner = next((p for p in providers if p.handles(wrapped)), None)
        if owner is None:
            raise ValueError(
                f"rotating would lose the wrapped key {wrapped.label}, which no provider given "
                "serves; pass that provider in keys=, or the new set in to="
            )
        if owner not in chosen:
            chosen.append(owner)
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

    ``keys`` must open the document. With ``to``, the new set of wrapped keys
    is exactly ``to``'s. With ``add``/``drop``, those providers' wraps are
    added or removed and every other wrapped key is kept byte for byte.
    With none of them, each wrapped key that a provider in ``keys`` serves is
    brought up to that provider's current version ("bring up to date"), and
    the others are kept. A document already current comes back unchanged.

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
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite | None = None,
    segment_size: int | None = None,
) -> bytes:
    """A fresh document key, salt and nonce prefix; the body re-encrypted.

    The document is opened (and so fully authenticated) before anything new
    is made. It keeps its context and binding; ``suite`` and
    ``segment_size`` default to the document's own. Without ``to`` it is
    wrapped for the providers in ``keys`` that serve it, at their current
    versions; if a wrapped key would be lost because no provider given
    serves it, nothing is done and ValueError says which.
    """
    parsed, _ = _parse_bytes(sealed)
    providers = providers_of(keys)
    recipients = providers_of(to) if to is not None else _providers_for_rotate(parsed, providers)
    plaintext = open_document(sealed, keys=providers, context=context, binding=binding)
    sealer = _new_sealer(
        recipients,
        context=parsed.core.context,
        binding=binding,
        suite=suite if suite is not None else parsed.core.suite,
        segment_size=segment_size if segment_size is not None else parsed.core.segment_size,
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
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    suite: Suite | None = None,
    segment_size: int | None = None,
) -> int:
    """``rotate`` for streams, in constant memory.

    Segments are authenticated as they are read, so a body tampered with
    part-way through raises DecryptionError after some output has been
    written: write to a temporary file and keep it only on success (the
    Vault does this for you).
    """
    parsed = read_header(src)
    providers = providers_of(keys)
    recipients = providers_of(to) if to is not None else _providers_for_rotate(parsed, providers)
    reader = open_parsed(
        src, parsed, providers, _mapping(context, "context"), _mapping(binding, "binding")
    )
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

    True when every provider in ``keys`` serves exactly one of the document's
    wrapped keys and that one is at the provider's current version. No key
    is unwrapped, so bulk jobs can skip current documents cheaply. Providers
    that cannot say their current version (no ``current_key()``) make it
    False.
    """
    header = sealed if isinstance(sealed, Header) else inspect(sealed)
    for provider in providers_of(keys):
        current = _current(provider)
        if current is None:
            return False
        served = [w.ref for w in header.wrapped_keys if provider.handles(w)]
        if served != [current]:
            return False
    return True
