"""Key providers: plain objects that wrap and unwrap document keys.

Pass one, or a sequence of them, as ``keys=`` to the sealdoc verbs.
"""

# ruff: noqa: F405 - __all__ names what the star import below gives type checkers

import typing as _typing

if _typing.TYPE_CHECKING:
    from ._public import *  # noqa: F403 - the names and their types; at run time __getattr__

__all__ = [
    "AssociatedData",
    "AwsKms",
    "BudgetKey",
    "DekCache",
    "HasKind",
    "HybridIdentity",
    "HybridRecipient",
    "KdfBudget",
    "KdfLimits",
    "KeyFamily",
    "KeyProvider",
    "KeyRef",
    "KnowsDestroyed",
    "LocalKeyring",
    "MemoryKeyring",
    "Password",
    "Pkcs11",
    "UnwrapBudget",
    "VersionedKey",
    "WrappedKey",
    "X25519Identity",
    "X25519Recipient",
]


if not _typing.TYPE_CHECKING:  # as in sealdoc/__init__.py
    from .._lazy import exports as _exports

    __getattr__, __dir__ = _exports(globals(), "._public")
