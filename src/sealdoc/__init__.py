"""sealdoc: every customer document sealed under its own key.

The public API is what this module exports; everything in a module whose
name starts with ``_`` is private.
"""

from . import exceptions, providers
from ._envelope import inspect, open, open_stream, seal, seal_stream
from ._format import Header, Suite, WrappedKey
from ._reader import SealedReader
from .exceptions import (
    DecryptionError,
    FormatError,
    KeyProviderError,
    KeyringError,
    SealdocError,
)
from .providers import KeyProvider, LocalKeyring, MemoryKeyring

__version__ = "0.1.0.dev0"

__all__ = [
    "DecryptionError",
    "FormatError",
    "Header",
    "KeyProvider",
    "KeyProviderError",
    "KeyringError",
    "LocalKeyring",
    "MemoryKeyring",
    "SealdocError",
    "SealedReader",
    "Suite",
    "WrappedKey",
    "exceptions",
    "inspect",
    "open",
    "open_stream",
    "providers",
    "seal",
    "seal_stream",
]
