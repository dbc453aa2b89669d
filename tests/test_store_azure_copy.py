"""A header replace of a large blob on Azure (Put Block From URL) is conditional on the version.

Against Azurite: a write between the job's read and its replace is
refused, and the other writer's blob stays. (The bytes it moves:
tests/test_store_objects_large.py.)
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from sealdoc import DocumentChangedError, MemoryKeyring, Vault

from .azurite import azure_options, new_container

BIG = 12 << 20  # over the 5 MiB under which a blob is rewritten whole


def _vault(endpoint: str, ring: Any) -> Vault:
    url = f"az://{new_container(endpoint)}/v"
    return Vault(url, keys=ring, storage_options=azure_options(endpoint))


def test_a_write_between_the_read_and_the_replace_is_refused(azurite_endpoint: str) -> None:
    ring = MemoryKeyring()
    vault = _vault(azurite_endpoint, ring)
    vault.put("big", os.urandom(BIG))
    path = vault.path_of("big")
    head = vault.store.read_head(path, 4096)
    offset = vault.inspect("big").header_length
    vault.put("big", b"another writer's version")
    with pytest.raises(DocumentChangedError):
        vault.store.replace_header(path, head.version, head.data[:offset], offset)
    assert vault.get("big") == b"another writer's version"


def test_a_write_during_the_copy_is_refused_by_the_service(azurite_endpoint: str) -> None:
    """The copy itself is conditional: a version that moved on after the check is not copied."""
    ring = MemoryKeyring()
    vault = _vault(azurite_endpoint, ring)
    vault.put("big", os.urandom(BIG))
    path = vault.path_of("big")
    head = vault.store.read_head(path, 4096)
    offset = vault.inspect("big").header_length
    vault.put("big", os.urandom(BIG))  # another writer, after the store's own version check
    copier: Any = vault.store._copier  # type: ignore[attr-defined]
    theirs = vault.get("big")
    with pytest.raises(DocumentChangedError):
        copier.replace_header(
            f"v/{path}", path, head.version, head.data[:offset], body=(offset, head.size)
        )
    assert vault.get("big") == theirs
