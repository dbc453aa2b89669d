"""What the bulk engine needs of a vault: its store, keys, and how names map to doc ids.

The engine works on the store seam alone (``sealdoc._store.base``); a
``Source`` carries the few vault facts it needs besides, so it never
reaches into a Vault's private members.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._provider_api import KeyProvider
from .._store.base import DocumentStore
from .checkpoint import fingerprint


@attrs.frozen
class Source:
    """One vault as the engine sees it: a store, keys, and how names map to doc ids."""

    url: str
    store: DocumentStore
    keys: tuple[KeyProvider, ...]
    doc_id_of: Callable[[str], str | None]
    binding_for: Callable[[str], Mapping[str, str]]
    opaque: bool  # names are encrypted: a doc-id prefix cannot be pushed down to the listing
    name_key: str | None  # fingerprint only

    def list_prefix(self, prefix: str) -> str:
        return "" if self.opaque else prefix


def source_of(vault: Any, keys: tuple[KeyProvider, ...], name_key: bytes | None) -> Source:
    return Source(
        url=vault.url,
        store=vault.store,
        keys=keys,
        doc_id_of=vault.doc_id_of,
        binding_for=vault.binding_for,
        opaque=name_key is not None,
        name_key=fingerprint(name_key),
    )
