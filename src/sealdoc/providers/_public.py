"""What ``sealdoc.providers`` exports, imported on first use of any of its names.

As ``sealdoc._public`` is for the package: each name is imported ``as``
itself (a re-export for type checkers), and ``providers/__init__.py`` keeps
the one list of names. A local keyring then loads without the KMS, PKCS#11
and device-key providers.
"""

# ruff: noqa: PLC0414 - "import x as x" is the re-export, on purpose

from .._format import KeyRef as KeyRef
from .._format import WrappedKey as WrappedKey
from ._aws_kms import AwsKms as AwsKms
from ._aws_kms import DekCache as DekCache
from ._base import AssociatedData as AssociatedData
from ._base import BudgetKey as BudgetKey
from ._base import HasKind as HasKind
from ._base import KeyFamily as KeyFamily
from ._base import KeyProvider as KeyProvider
from ._base import KnowsDestroyed as KnowsDestroyed
from ._base import UnwrapBudget as UnwrapBudget
from ._base import VersionedKey as VersionedKey
from ._hybrid import HybridIdentity as HybridIdentity
from ._hybrid import HybridRecipient as HybridRecipient
from ._local import LocalKeyring as LocalKeyring
from ._memory import MemoryKeyring as MemoryKeyring
from ._password import KdfBudget as KdfBudget
from ._password import KdfLimits as KdfLimits
from ._password import Password as Password
from ._pkcs11 import Pkcs11 as Pkcs11
from ._x25519 import X25519Identity as X25519Identity
from ._x25519 import X25519Recipient as X25519Recipient
