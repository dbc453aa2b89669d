"""DocumentApp over an async vault: the duck-typed shape sealdoc.aio.AsyncVault is to have.

The async vault here is a thin test stand-in over the sync Vault's reader
(each call in a worker thread). It pins the shape the app relies on:
``await vault.open(doc_id)`` gives a reader with ``parsed_header``,
``length``, and async ``seek``, ``read`` and ``close``; ``await
vault.deliver(doc_id, to=...)`` makes a device copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

import sealdoc
from sealdoc.providers import X25519Identity, X25519Recipient
from sealdoc.serve import DocumentApp, Grant
from tests.serving import serving, tracebacks

PLAIN = bytes(range(256)) * 64


class _Reader:
    def __init__(self, reader: sealdoc.SealedReader, parsed: Any) -> None:
        self._reader = reader
        self.parsed_header = parsed
        self.closed = False

    @property
    def length(self) -> int:
        length = self._reader.length
        assert length is not None
        return length

    async def seek(self, offset: int) -> int:
        return await anyio.to_thread.run_sync(self._reader.seek, offset)

    async def read(self, n: int = -1) -> bytes:
        return await anyio.to_thread.run_sync(self._reader.read, n)

    async def close(self) -> None:
        self.closed = True
        await anyio.to_thread.run_sync(self._reader.close)


class AsyncVaultStandIn:
    def __init__(self, vault: sealdoc.Vault) -> None:
        self._vault = vault
        self.readers: list[_Reader] = []

    async def open(self, doc_id: str) -> _Reader:
        def opened() -> _Reader:
            f, parsed = self._vault._open_header(doc_id)
            reader = self._vault._reader(doc_id, f, parsed, self._vault.providers)
            return _Reader(reader, parsed)

        reader = await anyio.to_thread.run_sync(opened)
        self.readers.append(reader)
        return reader

    async def deliver(self, doc_id: str, *, to: Any) -> bytes:
        return await anyio.to_thread.run_sync(lambda: self._vault.deliver(doc_id, to=to))


@pytest.fixture
def vault(tmp_path: Path, ring: sealdoc.MemoryKeyring) -> sealdoc.Vault:
    v = sealdoc.Vault(f"file://{tmp_path}/vault", keys=ring, segment_size=1024)
    v.put("C-1/s", PLAIN, context={"customer": "C-1"})
    return v


def test_an_async_vault_serves_like_the_sync_one(vault: sealdoc.Vault) -> None:
    stand_in = AsyncVaultStandIn(vault)
    phone = X25519Identity.generate()

    async def authorize(request: Any, doc_id: str, header: Any) -> Grant | None:
        if header.context.get("customer") != "C-1":
            return None
        if request.headers.get("x-app") == "mobile":
            return Grant(channel="mobile", recipients=X25519Recipient(phone.recipient))
        return Grant(subject="C-1")

    with (
        serving(DocumentApp(stand_in, authorize=authorize)) as (url, records),
        serving(DocumentApp(vault, authorize=authorize)) as (sync_url, _),
        httpx.Client() as client,
    ):
        for headers in ({}, {"range": "bytes=5-9,2000-3000"}, {"range": "bytes=-10"}):
            ours = client.get(f"{url}/C-1/s", headers=headers)
            sync = client.get(f"{sync_url}/C-1/s", headers=headers)
            assert ours.status_code == sync.status_code
            assert ours.headers["etag"] == sync.headers["etag"]
            if "multipart" not in ours.headers["content-type"]:
                assert ours.content == sync.content
        assert client.get(f"{url}/C-1/s").content == PLAIN
        copy = client.get(f"{url}/C-1/s", headers={"x-app": "mobile"}).content
        assert sealdoc.open(copy, keys=phone) == PLAIN
        assert client.get(f"{url}/C-1/nothing").status_code == 404
    assert stand_in.readers
    assert all(reader.closed for reader in stand_in.readers)
    assert not tracebacks(records)


def test_what_is_not_a_vault_is_refused() -> None:
    with pytest.raises(TypeError, match="async open"):
        DocumentApp(object(), authorize=lambda *_: True)
