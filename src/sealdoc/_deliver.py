"""deliver: a transit copy of a document, for its recipients only (docs/delivery.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._audit import record
from ._envelope import Keys, parse_bytes, providers_of, seal_stream
from ._envelope import open as open_document
from ._envelope import seal as seal_document
from ._format import ParsedHeader
from ._pq_mix import check_mix
from ._provider_api import KeyProvider
from ._rekey import rewrap
from ._types import BytesLike, ReadableStream, WritableStream


def deliver(
    sealed: BytesLike,
    *,
    keys: Keys,
    to: Keys,
    fresh_key: bool = True,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
    allow_classical: bool = False,
) -> bytes:
    """A copy of ``sealed`` that only the recipients in ``to`` can open.

    ``keys`` opens the document (the institution's keys); ``to`` is who
    receives it: :class:`~sealdoc.providers.Password`,
    :class:`~sealdoc.providers.X25519Recipient`, or any provider. No wrap
    under ``keys`` remains in the copy.

    With ``fresh_key=True`` (the default) the body is re-encrypted under a new
    document key, so a recipient's password, once cracked, tells nothing
    about the stored copy's key; the copy keeps the context and drops the
    binding (a vault's doc id), which the recipient could not supply. With
    ``fresh_key=False`` it is a rewrap: cheaper, but the copy shares the
    stored document's key and body, and a bound document stays bound (its
    recipient must pass the same ``binding=`` to open it).

    A copy for a post-quantum :class:`~sealdoc.providers.HybridRecipient`
    carries no X25519 wrap beside it unless ``allow_classical=True``: the
    mix would be only as strong as X25519.
    """
    recipients, openers = _recipients(keys, to, allow_classical=allow_classical)
    parsed, _ = parse_bytes(sealed)
    if fresh_key:
        plaintext = open_document(sealed, keys=openers, context=context, binding=binding)
        result = seal_document(plaintext, keys=recipients, **_copy_settings(parsed))
    else:
        result = rewrap(
            sealed,
            keys=openers,
            to=recipients,
            context=context,
            binding=binding,
            verify=True,
            allow_classical=allow_classical,
        )
    _record(parsed, recipients, fresh_key=fresh_key)
    return result


def deliver_stream(
    plaintext: ReadableStream,
    parsed: ParsedHeader,
    dst: WritableStream,
    *,
    keys: Keys,
    to: Keys,
    allow_classical: bool = False,
) -> int:
    """``deliver(fresh_key=True)`` in constant memory: ``plaintext`` of the document whose
    header is ``parsed`` (a reader opened with ``keys``), sealed for ``to`` into ``dst``.

    For a server that streams a device copy as it is made. Returns the bytes written.
    """
    recipients, _ = _recipients(keys, to, allow_classical=allow_classical)
    written = seal_stream(plaintext, dst, keys=recipients, **_copy_settings(parsed))
    _record(parsed, recipients, fresh_key=True)
    return written


def check_recipients(
    keys: Keys, to: Keys, *, allow_classical: bool = False
) -> tuple[KeyProvider, ...]:
    """The providers in ``to``, refused as ``deliver`` refuses them: for a caller that must
    know before it starts sending a copy (a bad key URI, a recipient also in ``keys``,
    a post-quantum copy mixed with X25519)."""
    return _recipients(keys, to, allow_classical=allow_classical)[0]


def _recipients(
    keys: Keys, to: Keys, *, allow_classical: bool
) -> tuple[tuple[KeyProvider, ...], tuple[KeyProvider, ...]]:
    recipients = providers_of(to)
    openers = providers_of(keys)
    if any(r is k for r in recipients for k in openers):
        raise ValueError(
            "a recipient in to= is also in keys=: a delivered copy is for its recipients "
            "only (use rewrap to keep a copy under your own keys)"
        )
    check_mix((getattr(r, "kind", "") for r in recipients), allow_classical=allow_classical)
    return recipients, openers


def _copy_settings(parsed: ParsedHeader) -> dict[str, Any]:
    """A fresh copy keeps the context, suite and segment size; it drops the binding."""
    return {
        "context": parsed.core.context,
        "suite": parsed.core.suite,
        "segment_size": parsed.core.segment_size,
    }


def _record(parsed: ParsedHeader, recipients: Sequence[object], *, fresh_key: bool) -> None:
    record(
        "deliver",
        "ok",
        context=parsed.core.context,
        detail=("fresh key" if fresh_key else "rewrap")
        + " for "
        + ", ".join(sorted({getattr(r, "kind", type(r).__name__) for r in recipients})),
    )
