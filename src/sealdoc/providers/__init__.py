"""Key providers: plain objects that wrap and unwrap document keys.

Pass one, or a sequence of them, as ``keys=`` to the sealdoc verbs.
"""

from .._format import KeyRef, WrappedKey
from ._aws_kms import AwsKms, DekCache
from ._base import (
    AssociatedData,
    BudgetKey,
    HasKind,
    KeyFamily,
    KeyProvider,
    KnowsDestroyed,
    UnwrapBudget,
    VersionedKey,
)
from ._hybrid import HybridIdentity, HybridRecipient
from ._local import LocalKeyring
from ._memory import MemoryKeyring
from ._password import KdfBudget, KdfLimits, Password
from ._pkcs11 import Pkcs11
from ._x25519 import X25519Identity, X25519Recipient

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
