"""What each provider said while unlocking: the error's ``attempts`` and the audit log."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from .._audit import record
from .._format import ParsedHeader, WrappedKey
from .._provider_api import AssociatedData, KeyProvider
from ..exceptions import Attempt, DecryptionError, KeyProviderError, SealdocError

_log = logging.getLogger("sealdoc")


class Attempts:
    """What each provider said, for the error (``attempts``) and the audit log."""

    def __init__(self, ad: AssociatedData) -> None:
        self.ad = ad
        self.items: list[Attempt] = []
        self.failures: list[BaseException] = []

    def add(self, provider: KeyProvider, wrapped: WrappedKey, outcome: str, reason: str) -> None:
        """Record one try that did not open the document."""
        self.items.append(Attempt(repr(provider), wrapped.label, reason, outcome))
        self.audit(wrapped, outcome, reason)

    def failed(self, provider: KeyProvider, wrapped: WrappedKey, exc: Exception) -> None:
        """Record a provider that raised: it is down, which is not tampering."""
        self.add(provider, wrapped, "failed", f"provider failed: {exc}")
        self.failures.append(exc)

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
            return logged(failed)
        return logged(DecryptionError("no key provider could unwrap the document key", attempts))


def logged(error: DecryptionError | KeyProviderError) -> DecryptionError | KeyProviderError:
    """The details stay out of ``str(error)`` (format.md 9); a developer finds them here."""
    if _log.isEnabledFor(logging.DEBUG):
        _log.debug("%s", error.details())
    return error
