"""How many store requests one HTTP request makes, DocumentApp over an AsyncVault.

Counted at the async store seam (each call is one GET or HEAD on S3), on a
folder and on moto's S3 server: a repeat request makes one store request (its
cached header checked by the body GET's If-Match, or by a HEAD); a first one
fetches the last segment alongside the body; a changed, refused or deleted
document is never answered from the cache.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

import sealdoc
from sealdoc.aio import AsyncVault
from sealdoc.serve import DocumentApp, Grant
from tests.serving import serving, tracebacks
from tests.stores import new_bucket, s3_options

PLAIN = bytes(range(256)) * 64 + b"Zq-s3cr3t"  # 16 full segments of 1 KiB and a short one
SEGMENT = 1024


class Counting:
    """The vault's real async store, each head and ranged read recorded (and held briefly,
    so reads made together overlap and reads made in turn do not)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.flying = 0
        self.peak = 0

    async def _timed(self, what: str, call: Any) -> Any:
        self.calls.append(what)
        self.flying += 1
        self.peak = max(self.peak, self.flying)
        try:
            await asyncio.sleep(0.05)
            return await call
        finally:
            self.flying -= 1

    async def head(self, path: str, length: int) -> Any:
        return await self._timed("head" if length else "head0", self.inner.head(path, length))

    async def read_range(self, path: str, start: int, end: int, version: str) -> bytes:
        data: bytes = await self._timed("read", self.inner.read_range(path, start, end, version))
        return data

    def take(self) -> tuple[list[str], int]:
        taken = self.calls, self.peak
        self.calls, self.peak = [], 0
        return taken

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(params=["file", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    if request.param == "file":
        return f"file://{tmp_path}/vault", {}
    endpoint = request.getfixturevalue("moto_endpoint")
    return f"s3://{new_bucket(endpoint)}/vault", s3_options(endpoint)


@pytest.fixture
def vault(where: tuple[str, dict[str, Any]], ring: sealdoc.MemoryKeyring) -> sealdoc.Vault:
    url, options = where
    v = sealdoc.Vault(url, keys=ring, segment_size=SEGMENT, storage_options=options)
    v.put("C-1/s", PLAIN, context={"customer": "C-1"})
    return v


def _counted(where: tuple[str, dict[str, Any]], ring: sealdoc.MemoryKeyring) -> tuple[Any, Any]:
    url, options = where
    async_vault = AsyncVault(url, keys=ring, storage_options=options)
    counting = Counting(async_vault._store)
    async_vault._store = counting
    return async_vault, counting


def test_a_repeat_request_makes_one_store_request(
    vault: sealdoc.Vault, where: tuple[str, dict[str, Any]], ring: sealdoc.MemoryKeyring
) -> None:
    async_vault, store = _counted(where, ring)
    allow = lambda *_: Grant(subject="C-1")  # noqa: E731
    with serving(DocumentApp(async_vault, authorize=allow)) as (url, records), httpx.Client() as c:
        first = c.get(f"{url}/C-1/s")
        # the header, then the body, whose last segment authenticates the length
        assert store.take() == (["head", "read"], 1)
        again = c.get(f"{url}/C-1/s")
        assert store.take()[0] == ["read"]  # If-Match on the cached version
        ranged = c.get(f"{url}/C-1/s", headers={"range": "bytes=1000-1100"})
        assert store.take()[0] == ["read"]
        head = c.head(f"{url}/C-1/s")
        assert store.take()[0] == ["head0"]  # no body: a HEAD compares the version
        etag = first.headers["etag"]
        unchanged = c.get(f"{url}/C-1/s", headers={"if-none-match": etag})
        assert store.take()[0] == ["head0"]
    assert first.status_code == again.status_code == 200
    assert first.content == again.content == PLAIN
    assert first.headers["content-length"] == head.headers["content-length"] == str(len(PLAIN))
    assert (ranged.status_code, ranged.content) == (206, PLAIN[1000:1101])
    assert unchanged.status_code == 304
    assert not tracebacks(records)


def test_a_first_ranged_request_fetches_the_last_segment_alongside(
    vault: sealdoc.Vault, where: tuple[str, dict[str, Any]], ring: sealdoc.MemoryKeyring
) -> None:
    async_vault, store = _counted(where, ring)
    allow = lambda *_: Grant(subject="C-1")  # noqa: E731
    with serving(DocumentApp(async_vault, authorize=allow)) as (url, _), httpx.Client() as c:
        r = c.get(f"{url}/C-1/s", headers={"range": "bytes=10-20"})
        calls, peak = store.take()
    assert (r.status_code, r.content) == (206, PLAIN[10:21])
    # the body's first segment and the last one (the length) in flight together
    assert calls == ["head", "read", "read"]
    assert peak == 2


def test_a_changed_document_is_never_answered_from_the_cache(
    vault: sealdoc.Vault,
    where: tuple[str, dict[str, Any]],
    ring: sealdoc.MemoryKeyring,
    events: list[sealdoc.AuditEvent],
) -> None:
    async_vault, store = _counted(where, ring)
    seen: list[str] = []

    def only_c1(request: Any, doc_id: str, header: Any) -> Grant | None:
        seen.append(header.context["customer"])
        return Grant(subject="C-1") if header.context["customer"] == "C-1" else None

    other = bytes(reversed(PLAIN))  # the same length: only the version tells them apart
    with (
        serving(DocumentApp(async_vault, authorize=only_c1)) as (url, records),
        httpx.Client() as c,
    ):
        old = c.get(f"{url}/C-1/s", headers={"range": "bytes=0-99"})
        vault.put("C-1/s", other, context={"customer": "C-1"})
        store.take()
        new = c.get(f"{url}/C-1/s", headers={"range": "bytes=0-99"})
        # the cached version's GET failed its If-Match; then afresh
        assert store.take()[0][0] == "read"
        longer = PLAIN + b"more"
        vault.put("C-1/s", longer, context={"customer": "C-1"})
        c.get(f"{url}/C-1/s")  # cached again
        vault.put("C-1/s", longer[::-1], context={"customer": "C-1"})
        head = c.head(f"{url}/C-1/s")
        whole = c.get(f"{url}/C-1/s")
        vault.put("C-1/s", PLAIN, context={"customer": "C-2"})
        seen.clear()
        refused = c.get(f"{url}/C-1/s")
        vault.delete("C-1/s")
        gone = c.get(f"{url}/C-1/s")
    assert old.content == PLAIN[:100]
    assert (new.status_code, new.content) == (206, other[:100])
    assert new.headers["etag"] != old.headers["etag"]
    assert head.headers["etag"] == whole.headers["etag"]
    assert head.headers["content-length"] == str(len(longer))
    assert whole.content == longer[::-1]
    # authorized again on the new header (its context), and refused: a 404
    assert seen == ["C-1", "C-2"]
    assert refused.status_code == gone.status_code == 404
    assert refused.content == gone.content
    served = [e.outcome for e in events if e.operation == "serve"]
    assert served[-2:] == ["denied", "missing"]
    assert len(served) == 7  # one event per request, a retried one included
    assert not tracebacks(records)


def test_a_bad_last_segment_fetched_alongside_releases_nothing(
    tmp_path: Path, ring: sealdoc.MemoryKeyring
) -> None:
    url = f"file://{tmp_path}/vault"
    sealdoc.Vault(url, keys=ring, segment_size=SEGMENT).put("C-1/s", PLAIN)
    (stored,) = (p for p in (tmp_path / "vault").rglob("*") if p.is_file())
    data = bytearray(stored.read_bytes())
    data[-1] ^= 1  # the last segment's tag
    stored.write_bytes(bytes(data))
    allow = lambda *_: Grant(subject="C-1")  # noqa: E731
    app = DocumentApp(AsyncVault(url, keys=ring), authorize=allow)
    with serving(app) as (base, records), httpx.Client() as c:
        r = c.get(f"{base}/C-1/s", headers={"range": "bytes=0-9"})
        again = c.get(f"{base}/C-1/s", headers={"range": "bytes=0-9"})
    # the first segment authenticated, but the length did not: no 206, no byte of it
    assert r.status_code == again.status_code == 500
    assert PLAIN[:10] not in r.content + again.content
    assert not tracebacks(records)


def test_a_refusal_from_a_cached_header_is_checked_against_the_stored_one(
    vault: sealdoc.Vault, where: tuple[str, dict[str, Any]], ring: sealdoc.MemoryKeyring
) -> None:
    async_vault, store = _counted(where, ring)

    def own(request: Any, doc_id: str, header: Any) -> Grant | None:
        customer = request.headers["x-customer"]
        return Grant(subject=customer) if header.context["customer"] == customer else None

    app = DocumentApp(async_vault, authorize=own)
    with serving(app) as (url, records), httpx.Client() as c:
        assert c.get(f"{url}/C-1/s", headers={"x-customer": "C-1"}).status_code == 200
        store.take()
        refused = c.get(f"{url}/C-1/s", headers={"x-customer": "C-2"})
        assert store.take()[0] == ["head0"]  # a refusal from the cache looks at the store
        # the document now belongs to C-2: the cached header (C-1's) must not refuse her
        vault.put("C-1/s", PLAIN, context={"customer": "C-2"})
        hers = c.get(f"{url}/C-1/s", headers={"x-customer": "C-2"})
    assert refused.status_code == 404
    assert (hers.status_code, hers.content) == (200, PLAIN)
    assert not tracebacks(records)
