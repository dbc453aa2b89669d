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
from sealdoc._store.base import Head

from .azurite import azure_options, new_container

BIG = 12 << 20  # over the 5 MiB under which a blob is rewritten whole


def _read_then_overwritten(endpoint: str, theirs: bytes) -> tuple[Vault, str, Head, int]:
    """A big blob read as a job reads it (path, head, header length), then another writer's put."""
    vault = Vault(
        f"az://{new_container(endpoint)}/v",
        keys=MemoryKeyring(),
        storage_options=azure_options(endpoint),
    )
    vault.put("big", os.urandom(BIG))
    path = vault.path_of("big")
    head = vault.store.read_head(path, 4096)
    offset = vault.inspect("big").header_length
    vault.put("big", theirs)
    return vault, path, head, offset


def test_a_write_between_the_read_and_the_replace_is_refused(azurite_endpoint: str) -> None:
    vault, path, head, offset = _read_then_overwritten(azurite_endpoint, b"another version")
    with pytest.raises(DocumentChangedError):
        vault.store.replace_header(path, head.version, head.data[:offset], offset)
    assert vault.get("big") == b"another version"


def test_a_write_during_the_copy_is_refused_by_the_service(azurite_endpoint: str) -> None:
    """The copy itself is conditional: a version that moved on after the check is not copied."""
    # another writer, after the store's own version check: the copier is called directly
    vault, path, head, offset = _read_then_overwritten(azurite_endpoint, os.urandom(BIG))
    copier: Any = vault.store._copier  # type: ignore[attr-defined]
    theirs = vault.get("big")
    with pytest.raises(DocumentChangedError):
        copier.replace_header(
            f"v/{path}", path, head.version, head.data[:offset], body=(offset, head.size)
        )
    assert vault.get("big") == theirs
