"""Opening a Vault for a store command: URL, storage options, opaque names, keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._vault import Vault
from ..exceptions import KeyProviderError


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
        keys=keys if keys is not None else [_NoKeys()],
        storage_options=dict(storage_options or {}),
        name_key=name_key,
    )


# TODO(store branch): delete once Vault(url) takes no keys for listing and
# inspecting (issue 14.4). Until then it is the only stand-in, used only here.
class _NoKeys:
    """Stands in for keys where only headers are read: it opens nothing."""

    kind = "none"

    def wrap(self, dek: bytes, ad: object) -> Any:
        raise KeyProviderError("no key was given (--key URI, or the local keyring)")

    def unwrap(self, wrapped: object, ad: object) -> bytes:
        raise KeyProviderError("no key was given (--key URI, or the local keyring)")

    def handles(self, wrapped: object) -> bool:
        return False


__all__ = ["open_vault"]
