"""What ``sealdoc`` exports, imported on first use of any public name (``sealdoc.__getattr__``).

Each name is imported ``as`` itself, which re-exports it for type checkers;
no ``from __future__`` import and no ``__all__`` here: ``sealdoc/__init__.py``
star-imports this module for type checkers and keeps the one list of names.
"""

# ruff: noqa: PLC0414 - "import x as x" is the re-export, on purpose

from . import exceptions as exceptions
from . import providers as providers
from ._age.api import export_age as export_age
from ._age.api import open_age as open_age
from ._audit import AuditEvent as AuditEvent
from ._audit import add_audit_hook as add_audit_hook
from ._bulk.inventory import Inventory as Inventory
from ._bulk.options import BulkOptions as BulkOptions
from ._bulk.report import BulkReport as BulkReport
from ._deliver import deliver as deliver
from ._envelope import (
    inspect as inspect,
)
from ._envelope import (
    open as open,
)
from ._envelope import (
    open_stream as open_stream,
)
from ._envelope import (
    seal as seal,
)
from ._envelope import (
    seal_stream as seal_stream,
)
from ._format import Header as Header
from ._format import KeyRef as KeyRef
from ._format import Suite as Suite
from ._format import WrappedKey as WrappedKey
from ._html import export_html as export_html
from ._html import sealed_from_html as sealed_from_html
from ._keystore import KeyStore as KeyStore
from ._passwords import (
    check_password as check_password,
)
from ._passwords import (
    generate_password as generate_password,
)
from ._passwords import (
    password_problems as password_problems,
)
from ._pdf import export_pdf as export_pdf
from ._reader import SealedReader as SealedReader
from ._rekey import (
    is_current as is_current,
)
from ._rekey import (
    rewrap as rewrap,
)
from ._rekey import (
    rewrap_stream as rewrap_stream,
)
from ._rekey import (
    rotate as rotate,
)
from ._rekey import (
    rotate_stream as rotate_stream,
)
from ._uri import key_from_uri as key_from_uri
from ._vault import Vault as Vault
from .exceptions import (
    CheckpointError as CheckpointError,
)
from .exceptions import (
    DecryptionError as DecryptionError,
)
from .exceptions import (
    DocumentChangedError as DocumentChangedError,
)
from .exceptions import (
    DocumentExistsError as DocumentExistsError,
)
from .exceptions import (
    DocumentNotFoundError as DocumentNotFoundError,
)
from .exceptions import (
    EmptyStoreError as EmptyStoreError,
)
from .exceptions import (
    FormatError as FormatError,
)
from .exceptions import (
    InvalidDocumentIdError as InvalidDocumentIdError,
)
from .exceptions import (
    KdfBudgetError as KdfBudgetError,
)
from .exceptions import (
    KeyProviderError as KeyProviderError,
)
from .exceptions import (
    KeyringError as KeyringError,
)
from .exceptions import (
    KeyringExistsError as KeyringExistsError,
)
from .exceptions import (
    KeyringRollbackError as KeyringRollbackError,
)
from .exceptions import (
    KeyStoreError as KeyStoreError,
)
from .exceptions import (
    KeyUriError as KeyUriError,
)
from .exceptions import (
    RetentionError as RetentionError,
)
from .exceptions import (
    SealdocError as SealdocError,
)
from .exceptions import (
    StoreError as StoreError,
)
from .exceptions import (
    UnsafeStoreError as UnsafeStoreError,
)
from .exceptions import (
    WeakPasswordError as WeakPasswordError,
)
from .exceptions import (
    WrapLossError as WrapLossError,
)
from .exceptions import (
    WrongRootError as WrongRootError,
)
from .providers import (
    KeyProvider as KeyProvider,
)
from .providers import (
    LocalKeyring as LocalKeyring,
)
from .providers import (
    MemoryKeyring as MemoryKeyring,
)
