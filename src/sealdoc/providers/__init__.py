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

    def __getattr__(name: str) -> _typing.Any:
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from . import _public  # noqa: PLC0415 - on first use, the point of this function

        globals().update({n: getattr(_public, n) for n in __all__})
        return globals()[name]

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
