"""How many wraps of one document a provider may try (format.md 9.1)."""

from __future__ import annotations

from .._format import WrappedKey
from .._provider_api import budget_key, check_costs, unwrap_budget
from ..exceptions import KdfBudgetError

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


class Spent:
    """What one provider has spent on one document: its tries, and the wraps they were on.

    ``unlock`` spends from it; a rekey's owner checks (is this wrap this
    provider's?) go on spending from the same one, so that they cannot buy a
    crafted document more tries of a key, or more KDF work, than an open
    may spend (format.md 9.1, 8.2).
    """

    def __init__(self, provider: object) -> None:
        self.provider = provider
        self.budget = Budget(provider)
        self.tried: list[WrappedKey] = []

    def take(self, wrapped: WrappedKey) -> bool:
        """Spend one try on ``wrapped``; False when over the unwrap budget."""
        if not self.budget.take(wrapped):
            return False
        self.tried.append(wrapped)
        return True

    def take_checked(self, wrapped: WrappedKey) -> bool:
        """As ``take``, and False also when the KDF work of every try so far with this one
        would be over the provider's KDF budget (checked before any KDF runs)."""
        try:
            check_costs([self.provider], [*self.tried, wrapped])
        except KdfBudgetError:
            return False
        return self.take(wrapped)
