"""Opening a Vault for a store command: URL, storage options, opaque names, keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._vault import Vault


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


__all__ = ["open_vault"]
