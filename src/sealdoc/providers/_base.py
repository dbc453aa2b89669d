"""The key-provider contract, as the providers package sees it.

The Protocols and :class:`AssociatedData` live in ``sealdoc/_provider_api.py``
(read that file, and docs/architecture.md, "Adding a key provider"); they
sit outside this package so that the envelope reaches them without importing
every provider. This module re-exports them for the providers and for code
that imported them from here, and keeps the one helper only providers use.
"""

from __future__ import annotations

import secrets

# Re-exported for providers and for old imports of this module; the
# conformance suite (sealdoc.testing) imports the same names from the contract.
from .._provider_api import (
    AssociatedData,
    BudgetKey,
    HasKind,
    KeyFamily,
    KeyProvider,
    KnowsDestroyed,
    UnwrapBudget,
    VersionedKey,
)

__all__ = [
    "AssociatedData",
    "BudgetKey",
    "HasKind",
    "KeyFamily",
    "KeyProvider",
    "KnowsDestroyed",
    "UnwrapBudget",
    "VersionedKey",
    "instance_token",
]


def instance_token(provider: object) -> str:
    """A random name for one provider object that has no location of its own.

    Dask tokens (``__dask_tokenize__``) must be the same every time for one
    object and differ between objects that hold different keys. An in-memory
    keyring or a password has neither a file nor a key id that tells it from
    another such object, and its secret must never go into a token: so it is
    named by a nonce made on first use. ``id()`` would not do: a later object
    can reuse it.
    """
    nonce: str = vars(provider).setdefault("_dask_nonce", secrets.token_hex(16))
    return nonce
