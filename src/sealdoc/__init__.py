"""sealdoc: every customer document sealed under its own key.

The public API is what this module exports; everything in a module whose
name starts with ``_`` is private.

Importing the package is cheap: the public names are imported from
``_public`` when one is first used, so ``import sealdoc._cli`` (the command
line's ``--help``) or a single private module pays only for what it uses
(docs/performance.md, "CLI start-up").
"""

# ruff: noqa: F405 - __all__ names what the star import below gives type checkers

import typing as _typing

if _typing.TYPE_CHECKING:
    from ._public import *  # noqa: F403 - the names and their types; at run time __getattr__


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


if not _typing.TYPE_CHECKING:  # type checkers see the star import, and so catch a misspelt name
    from ._lazy import exports as _exports

    __getattr__, __dir__ = _exports(globals(), "._public")
