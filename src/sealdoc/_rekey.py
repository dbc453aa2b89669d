"""rewrap, rotate and is_current (docs/lifecycle.md; docs/format.md section 10).

rewrap keeps the document key and the body, byte for byte, and replaces the
key section and the header MAC. rotate makes a new document key and
re-encrypts the body. is_current answers from the header alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from ._audit import enabled as audit_enabled
from ._audit import record
from ._buffers import build_bytes, write_all
from ._envelope import (
    Keys,
    Sealer,
    Unlocked,
    as_suite,
    checked_map,
    checked_segment_size,
    inspect,
    new_sealer,
    parse_bytes,
    providers_of,
    seal_into_bytes,
    sign_header,
    unlock,
    write_sealed,
)
from ._format import Header, ParsedHeader, Suite, WrappedKey
from ._owners import Owners
from ._provider_api import KeyProvider, powers
from ._reader import SealedReader, read_header
from ._rekey_body import BodyCheck, checked_chunks, seekable_body, verify_ahead, view_chunks
from ._rekey_plan import Drop, new_wraps, rotation_recipients
from ._stream import plaintext_length
from ._types import BytesLike, ReadableStream, WritableStream

# -- shared by the four verbs -------------------------------------------------------------
#
# The bytes and stream forms run the same steps in the same order, so that
# they raise the same error and emit the same audit events: the body's
# length (when it is known), the key, the new wraps, the body, the result.


@contextmanager
def _audited(operation: str, parsed: ParsedHeader) -> Iterator[None]:
    """Audit ``operation failed`` (with the reason) when anything in the block raises."""
    try:
        yield
    except Exception as exc:
        record(operation, "failed", context=parsed.core.context, detail=str(exc))
        raise


def _unlocked(
    parsed: ParsedHeader,
    keys: Keys,
    context: Mapping[str, str] | None,
    binding: Mapping[str, str] | None,
) -> tuple[tuple[KeyProvider, ...], Unlocked]:
    providers = providers_of(keys)  # once: a key URI is resolved (a keyring loaded) once
    ctx, bnd = checked_map(context, "context"), checked_map(binding, "binding")
    return providers, unlock(parsed, providers, ctx, bnd)


def _audit_rekey(operation: str, parsed: ParsedHeader, wrapped: Sequence[WrappedKey]) -> None:
    if not audit_enabled():  # the labels below are built only for someone who listens
        return
    if list(wrapped) == list(parsed.wrapped_keys):
        record(operation, "ok", context=parsed.core.context, detail="already current")
        return
    before = ",".join(w.label for w in parsed.wrapped_keys)
    after = ",".join(w.label for w in wrapped)
    record(operation, "ok", context=parsed.core.context, detail=f"{before} -> {after}")


def _check_streams(src: object, dst: object) -> None:
    if not hasattr(src, "read"):
        raise TypeError(f"src must be a readable binary file object, not {type(src).__name__}")
    if not hasattr(dst, "write"):
        raise TypeError(f"dst must be a writable binary file object, not {type(dst).__name__}")


# -- rewrap -------------------------------------------------------------------------------
#
# Each stream form repeats its bytes form's keyword options on purpose: they
# are the public signatures, and tests/test_rekey_parity.py checks that each
# pair takes the same options with the same defaults.


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
    allow_classical: bool = False,
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
      comes back unchanged (audited ``rewrap ok``, "already current").

    A new set of wraps (``to``, ``add``) must not mix a post-quantum
    (``age1pq1``) and an X25519 device wrap unless ``allow_classical=True``
    (docs/delivery.md, "Post-quantum recipients").

    Only the header is authenticated, unless ``verify=True``, which also
    authenticates every body segment before returning (a full decryption
    pass; nothing is kept). A failure is audited ``rewrap failed``, with
    the reason. :func:`rewrap_stream` behaves the same.
    """
    parsed, body = parse_bytes(sealed)
    with _audited("rewrap", parsed):
        size = parsed.core.segment_size
        plaintext_length(len(body), size)  # a truncated body fails here
        providers, unlocked = _unlocked(parsed, keys, context, binding)
        wrapped = new_wraps(unlocked, providers, to, add, drop, allow_classical=allow_classical)
        if verify:
            check = BodyCheck(unlocked.cipher(), size)
            for chunk, final in view_chunks(body, size):
                check(chunk, final=final)
    _audit_rekey("rewrap", parsed, wrapped)
    if wrapped == list(parsed.wrapped_keys):
        return bytes(sealed)
    header = sign_header(unlocked.keys, unlocked.digest, parsed.core_bytes, wrapped)
    return b"".join((header, body))  # one copy of the body, no zero-fill


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
    verify: bool = False,
    allow_classical: bool = False,
) -> int:
    """:func:`rewrap` for streams: the body is copied, not decrypted, in constant memory.

    The same options, rules, errors and audit events as :func:`rewrap`. A
    document already current is copied to ``dst`` unchanged, byte for byte.
    Nothing is written until the header has been authenticated and every
    new wrap made, so a wrong key or a provider that is down leaves ``dst``
    empty. Returns the bytes written.

    From a seekable ``src`` (a file), a truncated body is refused before
    anything is written, and ``verify=True`` reads the body twice: once to
    authenticate every segment, with nothing written yet, then to copy it
    (the copy checks only the length: a body changed in between is not
    caught here, though it still fails when the document is opened). From
    an unseekable ``src`` (a pipe, a socket) the body can be read once
    only: ``verify=True`` authenticates each segment as it is copied and
    raises DecryptionError at the first bad one, or at the end for a
    truncated body, after the part before it has been written; write to a
    temporary file and keep it only on success. Without ``verify``, an
    unseekable body is copied as it comes (a truncated one still opens
    nowhere: a rewrap cannot make a bad body good).
    """
    _check_streams(src, dst)
    parsed = read_header(src)
    with _audited("rewrap", parsed):
        size = parsed.core.segment_size
        length = seekable_body(src, parsed)  # a truncated body fails here, when it can
        providers, unlocked = _unlocked(parsed, keys, context, binding)
        wrapped = new_wraps(unlocked, providers, to, add, drop, allow_classical=allow_classical)
        check = BodyCheck(unlocked.cipher(), size) if verify else None
        if check is not None and length is not None:
            verify_ahead(src, check, size, length)
            check = None
        if wrapped == list(parsed.wrapped_keys):
            header = parsed.raw  # already current: the document as it came
        else:
            header = sign_header(unlocked.keys, unlocked.digest, parsed.core_bytes, wrapped)
        written = write_all(dst, header)
        for chunk in checked_chunks(src, size, length=length, check=check):
            written += write_all(dst, chunk)
    _audit_rekey("rewrap", parsed, wrapped)
    return written


# -- rotate --------------------------------------------------------------------------------


def _rotation(
    unlocked: Unlocked,
    providers: Sequence[KeyProvider],
    *,
    to: Keys | None,
    drop: Drop | Sequence[Drop] | None,
    suite: Suite | None,
    segment_size: int | None,
) -> Callable[[], Sealer]:
    """The rotated document's recipients and settings, checked; called, it makes the new key.

    WrapLossError and bad options are raised here, before any provider is
    asked to wrap: the bytes form calls the result only once the old body
    has authenticated, so a damaged document costs no KMS call, KDF run or
    token operation, and audits no new wrap.
    """
    recipients = rotation_recipients(unlocked, providers, to, drop)
    core = unlocked.parsed.core
    new_suite = as_suite(suite if suite is not None else core.suite)
    size = checked_segment_size(segment_size if segment_size is not None else core.segment_size)

    def make() -> Sealer:
        return new_sealer(
            recipients,
            context=core.context,
            binding=unlocked.binding,
            suite=new_suite,
            segment_size=size,
        )

    return make


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

    The document keeps its context and binding; ``suite`` and
    ``segment_size`` default to the document's own. Without ``to``, every
    wrap is re-created for the same key id (at its current version) or the
    same recipient (a password or X25519 identity in ``keys`` that unwraps
    it). A wrap that no provider given can re-create raises WrapLossError,
    naming it, before any new key is made, unless ``drop`` names it (a
    provider, a KeyRef or a label, as for :func:`rewrap`). The whole body
    is authenticated before anything is returned. Audited ``rotate ok``
    with the wraps before and after, or ``rotate failed`` with the reason;
    :func:`rotate_stream` behaves the same.
    """
    parsed, body = parse_bytes(sealed)
    with _audited("rotate", parsed):
        size = parsed.core.segment_size
        total = plaintext_length(len(body), size)  # a truncated body fails here
        providers, unlocked = _unlocked(parsed, keys, context, binding)
        make = _rotation(
            unlocked, providers, to=to, drop=drop, suite=suite, segment_size=segment_size
        )
        cipher = unlocked.cipher()

        def fill(out: memoryview) -> None:
            cipher.open_run(0, body, out, size, final=True)

        plaintext = build_bytes(total, fill)  # the whole old body authenticated first
        sealer = make()
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
    """:func:`rotate` for streams, in constant memory: the same options, errors and audit.

    A wrap that cannot be re-created raises WrapLossError before anything
    is written, and from a seekable ``src`` so does a truncated body.
    Segments are authenticated as they are read, so a body tampered with
    part-way through (or, from an unseekable ``src``, truncated) raises
    DecryptionError after some output has been written: write to a
    temporary file and keep it only on success (the Vault does this for
    you). Returns the bytes written.
    """
    _check_streams(src, dst)
    parsed = read_header(src)
    with _audited("rotate", parsed):
        seekable_body(src, parsed)  # a truncated body fails here, when it can
        providers, unlocked = _unlocked(parsed, keys, context, binding)
        # the new header goes out before the body is read: the key is made now
        sealer = _rotation(
            unlocked, providers, to=to, drop=drop, suite=suite, segment_size=segment_size
        )()
        reader = SealedReader(src, parsed, unlocked.cipher())
        written = write_sealed(sealer, reader, dst)
    _audit_rekey("rotate", parsed, sealer.wrapped)
    return written


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
        ref = _current_ref(provider)
        if ref is None:
            return False
        wanted.append(ref)
    have = [(w.kind, w.key_id, w.version) for w in header.wrapped_keys]
    return sorted(have) == sorted(wanted)


def lacking(wrapped: Sequence[WrappedKey], keys: Sequence[KeyProvider]) -> tuple[KeyProvider, ...]:
    """The ``keys`` with no wrap at their current version among ``wrapped`` (header only).

    What ``rewrap(add=keys)`` still has to add: a device's wrap is known by
    its kind and label (``mlkem768x25519:device#1``), all a header says of
    it. A provider that cannot say its current version is always lacking.
    """
    have = {(w.kind, w.key_id, w.version) for w in wrapped}
    return tuple(p for p in keys if _current_ref(p) not in have)


def _current_ref(provider: KeyProvider) -> tuple[str, str, int] | None:
    versioned = powers(provider).versioned
    if versioned is None:
        return None
    ref = versioned.current_key()
    return (ref.kind, ref.key_id, ref.version)
