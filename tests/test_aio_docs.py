"""docs/async.md's FastAPI example, run as written against real stores."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx

import sealdoc
from tests.stores import Store

DOC = Path(__file__).resolve().parent.parent / "docs" / "async.md"


def example(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- example: {name} -->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, f"no example {name!r} in {DOC.name}"
    return found.group(1)


async def exercise(app: Any, data: bytes) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        put = await client.put("/docs/C-1007/statement", content=data)
        assert put.status_code == 204
        got = await client.get("/docs/C-1007/statement")
        assert got.status_code == 200
        assert got.headers["content-length"] == str(len(data))
        assert got.content == data
        part = await client.get("/docs/C-1007/statement/range?start=70000&length=100")
        assert part.content == data[70000:70100]
        assert (await client.get("/docs/nobody")).status_code == 404


def test_the_fastapi_example_serves_sealed_documents(store: Store, ring: Any) -> None:
    import asyncio

    namespace: dict[str, Any] = {}
    exec(compile(example("fastapi"), str(DOC), "exec"), namespace)
    app = namespace["make_app"](store.url, ring, store.storage_options)
    data = os.urandom(300_000)
    asyncio.run(exercise(app, data))
    # what the service stored is a sealed document the sync Vault opens
    vault = sealdoc.Vault(store.url, keys=ring, storage_options=store.storage_options)
    assert vault.get("C-1007/statement") == data
    assert vault.inspect("C-1007/statement").plaintext_length == len(data)
