"""Opening a Vault for a store command: URL, storage options, opaque names, keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._vault import Vault
from .options import F, name_key, packed
from .options import storage_options as parse_storage_options


def open_vault(
    url: str,
    *,
    keys: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    name_key: bytes | None = None,
) -> Vault:
    """A Vault over ``url``; with ``keys=None`` it can list and inspect, not open or write."""
    return Vault(
        url,
        keys=keys,
        storage_options=dict(storage_options or {}),
        name_key=name_key,
    )


@attrs.frozen
class StoreFlags:
    """STORE_URL, --storage-option and --name-key-file: how a command reaches one store."""

    url: str
    storage_options: tuple[str, ...]
    name_key_file: str | None

    def open(self, keys: Any = None) -> Vault:
        """The Vault (``keys=None``: it lists and inspects; keys are needed to open and write)."""
        return open_vault(
            self.url,
            keys=keys,
            storage_options=parse_storage_options(self.storage_options),
            name_key=name_key(self.name_key_file),
        )


def _store_flags(
    store_url: str, storage_options: tuple[str, ...], name_key_file: str | None
) -> StoreFlags:
    return StoreFlags(store_url, storage_options, name_key_file)


def store_flags(command: F) -> F:
    """Hand the command ``store=StoreFlags`` for its STORE_URL argument and store options."""
    return packed("store", _store_flags, "store_url", "storage_options", "name_key_file")(command)


__all__ = ["StoreFlags", "open_vault", "store_flags"]
