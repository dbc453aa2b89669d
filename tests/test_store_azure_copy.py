"""A header replace of a large blob on Azure: the service copies the body (Put Block From URL).

Against Azurite, through a counting proxy: the client uploads the new
header, not the body; a write between the job's read and its replace is
refused, and the other writer's blob stays.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from sealdoc import DocumentChangedError, MemoryKeyring, Vault

from .azurite import ACCOUNT, azure_options, new_container
from .proxy import CountingProxy

BIG = 12 << 20  # over the 5 MiB under which a blob is rewritten whole


def _vault(endpoint: str, ring: Any) -> Vault:
    url = f"az://{new_container(endpoint)}/v"
    return Vault(url, keys=ring, storage_options=azure_options(endpoint))


def test_a_rewrap_of_a_large_blob_uploads_the_header_not_the_body(azurite_endpoint: str) -> None:
    ring = MemoryKeyring()
    server = azurite_endpoint.rsplit("/", 1)[0]
    with CountingProxy(server) as proxy:
        vault = _vault(f"{proxy.endpoint}/{ACCOUNT}", ring)
        assert type(vault.store).__name__ == "AzureBlobStore"
        data = os.urandom(BIG)
        vault.put("big", data)
        ring.rotate()
        proxy.reset()
        report = vault.rewrap_all()
        assert report.rewritten == 1, report.failed
        assert proxy.sent < 256 * 1024  # the client sent the header and the requests only
        assert proxy.count("PUT", "comp=block") >= 2  # the header, then the copied body
    assert vault.get("big") == data
    assert vault.inspect("big").wrapped_keys[0].version == 2  # under the rotated key


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
