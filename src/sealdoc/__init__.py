"""sealdoc: every customer document sealed under its own key.

The public API is what this module exports; everything in a module whose
name starts with ``_`` is private.
"""

from . import exceptions, providers
from ._age.api import export_age, open_age
from ._audit import AuditEvent, add_audit_hook
from ._bulk import BulkOptions, BulkReport, Inventory
from ._deliver import deliver
from ._envelope import inspect, open, open_stream, seal, seal_stream
from ._format import Header, KeyRef, Suite, WrappedKey
from ._html import export_html, sealed_from_html
from ._keystore import KeyStore
from ._passwords import check_password, generate_password, password_problems
from ._pdf import export_pdf
from ._reader import SealedReader
from ._rekey import is_current, rewrap, rewrap_stream, rotate, rotate_stream
from ._uri import key_from_uri
from ._vault import Vault
from .exceptions import (
    CheckpointError,
    DecryptionError,
    DocumentChangedError,
    DocumentExistsError,
    DocumentNotFoundError,
    EmptyStoreError,
    FormatError,
    InvalidDocumentIdError,
    KdfBudgetError,
    KeyProviderError,
    KeyringError,
    KeyringExistsError,
    KeyringRollbackError,
    KeyStoreError,
    KeyUriError,
    RetentionError,
    SealdocError,
    StoreError,
    UnsafeStoreError,
    WeakPasswordError,
    WrapLossError,
    WrongRootError,
)
from .providers import KeyProvider, LocalKeyring, MemoryKeyring

__version__ = "0.1.0.dev0"

# The public names; the errors also stand in sealdoc.exceptions.__all__
# (duplicates pairs the two lists), where `from sealdoc.exceptions import *` finds them.
__all__ = [
    "AuditEvent",
    "BulkOptions",
    "BulkReport",
    "CheckpointError",
    "DecryptionError",
    "DocumentChangedError",
    "DocumentExistsError",
    "DocumentNotFoundError",
    "EmptyStoreError",
    "FormatError",
    "Header",
    "InvalidDocumentIdError",
    "Inventory",
    "KdfBudgetError",
    "KeyProvider",
    "KeyProviderError",
    "KeyRef",
    "KeyStore",
    "KeyStoreError",
    "KeyUriError",
    "KeyringError",
    "KeyringExistsError",
    "KeyringRollbackError",
    "LocalKeyring",
    "MemoryKeyring",
    "RetentionError",
    "SealdocError",
    "SealedReader",
    "StoreError",
    "Suite",
    "UnsafeStoreError",
    "Vault",
    "WeakPasswordError",
    "WrapLossError",
    "WrappedKey",
    "WrongRootError",
    "add_audit_hook",
    "check_password",
    "deliver",
    "exceptions",
    "export_age",
    "export_html",
    "export_pdf",
    "generate_password",
    "inspect",
    "is_current",
    "key_from_uri",
    "open",
    "open_age",
    "open_stream",
    "password_problems",
    "providers",
    "rewrap",
    "rewrap_stream",
    "rotate",
    "rotate_stream",
    "seal",
    "seal_stream",
    "sealed_from_html",
]
