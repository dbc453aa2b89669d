"""Key providers: plain objects that wrap and unwrap document keys.

Pass one, or a sequence of them, as ``keys=`` to the sealdoc verbs.
"""

from .._format import KeyRef, WrappedKey
from ._aws_kms import AwsKms, DekCache
from ._base import AssociatedData, KeyProvider
from ._local import LocalKeyring
from ._memory import MemoryKeyring
from ._pkcs11 import Pkcs11

__all__ = [
    "AssociatedData",
    "AwsKms",
    "DekCache",
    "KeyProvider",
    "KeyRef",
    "LocalKeyring",
    "MemoryKeyring",
    "Pkcs11",
    "WrappedKey",
]
