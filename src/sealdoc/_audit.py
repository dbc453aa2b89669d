"""Audit events: one structured record per wrap, unwrap, rewrap, rotate and key change.

Events go to the stdlib logger ``sealdoc.audit`` (at INFO, the event in the
record's ``sealdoc_event`` extra) and to every hook added with
:func:`add_audit_hook`. They carry the operation, the provider kind, key id
and version, the document's context (which is public by design) and the
outcome; never key bytes, passphrases, plaintext or the binding.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

import attrs

from ._text import safe

logger = logging.getLogger("sealdoc.audit")

_hooks: list[Callable[[AuditEvent], None]] = []
_hooks_lock = threading.Lock()


def _frozen_map(value: Mapping[str, str] | None) -> dict[str, str]:
    return dict(value or {})


@attrs.frozen
class AuditEvent:
    """One auditable operation. Nothing in it is secret."""

    operation: str
    """``wrap``, ``unwrap``, ``rewrap``, ``rotate``, ``deliver``, ``serve``, or ``key.rotate``,
    ``key.add``, ``key.disable``, ``key.enable``, ``key.destroy``."""
    outcome: str
    """``ok``, ``declined`` (a provider said "not mine"), or ``failed``."""
    provider_kind: str = ""
    key_id: str = ""
    key_version: int | None = None
    context: dict[str, str] = attrs.field(factory=dict, converter=_frozen_map, hash=False)
    detail: str = ""
    """Why it declined or failed; the new version for key.rotate. Escaped
    (``sealdoc._text.safe``): no control or format character reaches a log."""
    timestamp: float = attrs.field(factory=time.time)
    doc_id: str = ""
    """For ``serve``: the document asked for (escaped)."""
    subject: str = ""
    """For ``serve``: who asked, as the service's grant names them."""
    channel: str = ""
    """For ``serve``: ``portal``, ``mobile`` or ``email``."""
    byte_range: str = ""
    """For ``serve``: the byte ranges served (``0-99,200-299``), empty for the whole."""

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict, for log shippers."""
        return attrs.asdict(self)


def add_audit_hook(hook: Callable[[AuditEvent], None]) -> Callable[[], None]:
    """Call ``hook`` with every audit event; returns a function that removes it.

    Hooks run in the thread doing the operation and must be quick and must
    not raise: an exception from a hook is logged and otherwise ignored, so
    that auditing never breaks (or is mistaken for) a cryptographic failure.
    """
    if not callable(hook):
        raise TypeError("an audit hook must be callable")
    with _hooks_lock:
        _hooks.append(hook)

    def remove() -> None:
        with _hooks_lock:
            if hook in _hooks:
                _hooks.remove(hook)

    return remove


def enabled() -> bool:
    """Whether anyone listens; callers skip building events when nobody does."""
    return bool(_hooks) or logger.isEnabledFor(logging.INFO)


def emit(event: AuditEvent) -> None:
    if logger.isEnabledFor(logging.INFO):
        where = f"{event.provider_kind}:{event.key_id}#{event.key_version}" if event.key_id else ""
        logger.info(  # escaped: the key id and kind come from a document's header
            "%s %s %s",
            safe(event.operation),
            safe(where),
            safe(event.outcome),
            extra={"sealdoc_event": event},
        )
    with _hooks_lock:
        hooks = tuple(_hooks)  # a hook may remove itself while we iterate
    for hook in hooks:
        _call(hook, event)


def _call(hook: Callable[[AuditEvent], None], event: AuditEvent) -> None:
    try:
        hook(event)
    except Exception:
        logger.exception("an audit hook raised; the event was still processed")


def record(
    operation: str,
    outcome: str,
    *,
    kind: str = "",
    key_id: str = "",
    version: int | None = None,
    context: Mapping[str, str] | None = None,
    detail: str = "",
) -> None:
    """Build and emit an event, only when someone listens."""
    if enabled():
        emit(
            AuditEvent(
                operation=operation,
                outcome=outcome,
                provider_kind=kind,
                key_id=key_id,
                key_version=version,
                context=context or {},
                detail=safe(detail),  # a provider's message may quote a header
            )
        )
