"""DocumentApp over sealdoc.aio.AsyncVault, on a folder and on S3 (moto's server, obstore).

The same answers as over the sync Vault: ranges, refusals decided from the
header before any key is unwrapped, the same 404 for refused and missing,
one audit event per access, and a client that leaves stops the reading.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import sealdoc
from sealdoc.aio import AsyncVault
from sealdoc.providers import Password, X25519Identity, X25519Recipient
from sealdoc.serve import DocumentApp, Grant
from tests.serving import serving, tracebacks
from tests.stores import new_bucket, s3_options

PLAIN = bytes(range(256)) * 64 + b"Zq-s3cr3t"  # 16 full segments of 1 KiB and a short one
SEGMENT = 1024
PASSWORD = "correct horse battery staple 93"


@pytest.fixture(params=["file", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    if request.param == "file":
        return f"file://{tmp_path}/vault", {}
    endpoint = request.getfixturevalue("moto_endpoint")
    return f"s3://{new_bucket(endpoint)}/vault", s3_options(endpoint)


@pytest.fixture
def vault(where: tuple[str, dict[str, Any]], ring: sealdoc.MemoryKeyring) -> sealdoc.Vault:
    """The sync Vault the documents are put with (and the reference answers come from)."""
    url, options = where
    v = sealdoc.Vault(url, keys=ring, segment_size=SEGMENT, storage_options=options)
    v.put("C-1/s", PLAIN, context={"customer": "C-1"})
    v.put("C-2/s", b"other customer", context={"customer": "C-2"})
    return v


@pytest.fixture
def async_vault(where: tuple[str, dict[str, Any]], ring: sealdoc.MemoryKeyring) -> AsyncVault:
    url, options = where
    return AsyncVault(url, keys=ring, storage_options=options)


def test_an_async_vault_serves_like_the_sync_one(
    vault: sealdoc.Vault, async_vault: AsyncVault
) -> None:
    phone = X25519Identity.generate()

    async def authorize(request: Any, doc_id: str, header: Any) -> Grant | None:
        if header.context.get("customer") != "C-1":
            return None
        if request.headers.get("x-app") == "mobile":
            return Grant(channel="mobile", recipients=X25519Recipient(phone.recipient))
        if request.headers.get("x-app") == "email":
            return Grant(channel="email", email_format="html")
        return Grant(subject="C-1")

    app = DocumentApp(async_vault, authorize=authorize, email_password=lambda *_: PASSWORD)
    with (
        serving(app) as (url, records),
        serving(DocumentApp(vault, authorize=authorize)) as (sync_url, _),
        httpx.Client() as client,
    ):
        for headers in (
            {},
            {"range": "bytes=5-9,2000-3000"},
            {"range": "bytes=-10"},
            {"range": "bytes=1000-1100"},
            {"range": "bytes=999999-"},
        ):
            ours = client.get(f"{url}/C-1/s", headers=headers)
            sync = client.get(f"{sync_url}/C-1/s", headers=headers)
            assert ours.status_code == sync.status_code
            assert ours.headers.get("etag") == sync.headers.get("etag")
            assert ours.headers.get("content-range") == sync.headers.get("content-range")
            if "multipart" not in ours.headers.get("content-type", ""):
                assert ours.content == sync.content
        assert client.get(f"{url}/C-1/s").content == PLAIN
        assert client.get(f"{url}/C-1/s", headers={"range": "bytes=-10"}).content == PLAIN[-10:]
        copy = client.get(f"{url}/C-1/s", headers={"x-app": "mobile"}).content
        assert sealdoc.open(copy, keys=phone) == PLAIN
        page = client.get(f"{url}/C-1/s", headers={"x-app": "email"}).content
        assert sealdoc.open(sealdoc.sealed_from_html(page), keys=Password(PASSWORD)) == PLAIN
    assert not tracebacks(records)


def test_refused_and_missing_are_one_404_and_no_key_is_unwrapped(
    async_vault: AsyncVault, vault: sealdoc.Vault, events: list[sealdoc.AuditEvent]
) -> None:
    async def only_c1(request: Any, doc_id: str, header: Any) -> Grant | None:
        return Grant(subject="C-1") if header.context.get("customer") == "C-1" else None

    with (
        serving(DocumentApp(async_vault, authorize=only_c1)) as (url, records),
        httpx.Client() as client,
    ):
        hers = client.get(f"{url}/C-2/s")
        missing = client.get(f"{url}/C-9/s")
        refused = [(e.operation, e.outcome) for e in events]
        own = client.get(f"{url}/C-1/s", headers={"range": "bytes=0-9"})
    assert hers.status_code == missing.status_code == 404
    assert (hers.content, dict(hers.headers)) == (missing.content, dict(missing.headers))
    # authorize said no from the header: no key was unwrapped for the refusal
    assert refused == [("serve", "denied"), ("serve", "missing")]
    assert own.content == PLAIN[:10]
    served = [e for e in events if e.operation == "serve"]
    assert [(e.doc_id, e.outcome, e.subject, e.byte_range) for e in served] == [
        ("C-2/s", "denied", "", ""),
        ("C-9/s", "missing", "", ""),
        ("C-1/s", "ok", "C-1", "0-9"),
    ]
    assert ("unwrap", "ok") in [(e.operation, e.outcome) for e in events]
    text = repr([e.as_dict() for e in events])
    assert "Zq-s3cr3t" not in text
    assert PLAIN[:16].hex() not in text
    assert not tracebacks(records)


def test_a_client_that_goes_stops_the_reading(
    tmp_path: Path, ring: sealdoc.MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sealdoc.aio import _reader

    read: list[int] = []
    real = _reader.AsyncReader._segments

    async def spy(self: Any, first: int, count: int) -> tuple[bytes, int]:
        read.append(count)
        return await real(self, first, count)

    monkeypatch.setattr(_reader.AsyncReader, "_segments", spy)
    url = f"file://{tmp_path}/big"
    sealdoc.Vault(url, keys=ring, segment_size=64 * 1024).put("big", bytes(64 * 1024 * 1024))
    allow = lambda *_: Grant(subject="x")  # noqa: E731
    with serving(DocumentApp(AsyncVault(url, keys=ring), authorize=allow)) as (base, records):
        with httpx.Client() as client, client.stream("GET", f"{base}/big") as r:
            assert r.status_code == 200
            next(r.iter_raw(64 * 1024))
        deadline, seen = time.monotonic() + 20, -1
        while len(read) != seen and time.monotonic() < deadline:
            seen = len(read)
            time.sleep(1)
        assert len(read) == seen  # stopped, not still reading
        assert sum(read) < 512  # of 1,024 segments: the rest was never read
    assert not tracebacks(records)


def test_what_is_not_a_vault_is_refused() -> None:
    with pytest.raises(TypeError, match="AsyncVault"):
        DocumentApp(object(), authorize=lambda *_: True)
