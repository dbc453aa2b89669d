"""How many wraps of one document a provider may try (format.md 9.1)."""

from __future__ import annotations

from .._format import WrappedKey
from .._provider_api import budget_key, unwrap_budget

#: How many wraps of one key (whatever version, or form of its id, they
#: claim) a provider without a declared budget tries in one document
#: (format.md 9.1).
DEFAULT_UNWRAPS_PER_KEY = 2

#: The reason an attempt over budget records.
OVER_BUDGET = "refused: this provider tries no more wraps in one document"


class Budget:
    """How many more wraps of this document one provider may try (format.md 9.1).

    A crafted document may hold 32 wraps that all name one victim key; each
    try can be a KMS request or a password KDF. A provider that declares
    ``max_unwraps_per_document`` (``sealdoc.providers.UnwrapBudget``)
    tries at most that many wraps in all; any other tries at most
    ``DEFAULT_UNWRAPS_PER_KEY`` wraps of one key. Versions do not make
    another key: 32 wraps claiming versions 0-31 of one KMS key would
    otherwise cost 32 Decrypt calls.
    """

    def __init__(self, provider: object) -> None:
        self.provider = provider
        self.total = unwrap_budget(provider)
        self.per_key: dict[tuple[str, str], int] = {}

    def take(self, wrapped: WrappedKey) -> bool:
        """Spend one try on ``wrapped``; False when none is left."""
        if self.total is not None:
            self.total -= 1
            return self.total >= 0
        ref = budget_key(self.provider, wrapped)
        used = self.per_key.get(ref, 0)
        self.per_key[ref] = used + 1
        return used < DEFAULT_UNWRAPS_PER_KEY
