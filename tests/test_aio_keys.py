"""sealdoc.aio puts under a named key, as Vault.put(key=...) and Vault(key_for=...) do.

Found in review: AsyncVault took neither, so a service moving to the async
face could not put a document under its customer's KeyStore subject.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import sealdoc
from sealdoc.aio import AsyncVault
from tests.stores import Store
from tests.test_aio import store as store_fixture

store = store_fixture  # test_aio's fixture: a folder, memory, S3 on moto, Azure on Azurite


async def chunks() -> AsyncIterator[bytes]:
    yield b"str"
    yield b"eam"


def test_async_put_under_a_subject_and_key_for(store: Store, tmp_path: Path) -> None:
    url, options = store.url, store.storage_options
    keys = sealdoc.KeyStore(f"sqlite:///{tmp_path}/keys.db", master=sealdoc.MemoryKeyring())
    vault = AsyncVault(
        url,
        keys=keys,
        storage_options=options,
        key_for=lambda doc_id, ctx: doc_id.split("/")[0],
    )

    async def main() -> None:
        await vault.put("C-9/a", b"bytes")
        await vault.put("C-9/b", chunks(), key="C-8")
        await vault.put("C-7/c", b"named", key="C-7")
        for doc_id, subject in (("C-9/a", "C-9"), ("C-9/b", "C-8"), ("C-7/c", "C-7")):
            header = await vault.inspect(doc_id)
            assert header.wrapped_keys[0].key_id.startswith(f"{subject}@")
        assert await vault.get("C-9/b") == b"stream"

    asyncio.run(main())
    if store.name != "az":  # the sync Vault reaches Azure through adlfs, not installed
        sync = sealdoc.Vault(url, keys=keys, storage_options=options)
        assert sync.get("C-9/a") == b"bytes"
