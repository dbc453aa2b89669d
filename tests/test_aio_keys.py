"""sealdoc.aio puts under a named key, as Vault.put(key=...) and Vault(key_for=...) do.

Found in review: AsyncVault took neither, so a service moving to the async
face could not put a document under its customer's KeyStore subject.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import sealdoc
from sealdoc.aio import AsyncVault
from tests.stores import new_bucket, s3_options


@pytest.fixture(params=["file", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    if request.param == "file":
        return f"file://{tmp_path}/docs", {}
    endpoint = request.getfixturevalue("moto_endpoint")
    return f"s3://{new_bucket(endpoint)}/docs", s3_options(endpoint)


async def chunks() -> AsyncIterator[bytes]:
    yield b"str"
    yield b"eam"


def test_async_put_under_a_subject_and_key_for(
    where: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, options = where
    store = sealdoc.KeyStore(f"sqlite:///{tmp_path}/keys.db", master=sealdoc.MemoryKeyring())
    vault = AsyncVault(
        url,
        keys=store,
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
    sync = sealdoc.Vault(url, keys=store, storage_options=options)
    assert sync.get("C-9/a") == b"bytes"
