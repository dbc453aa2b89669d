"""DocumentApp's mobile and email channels, chosen by the grant (docs/serving.md, Channels)."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pikepdf
import pytest
from starlette.requests import Request

import sealdoc
import sealdoc._html
from sealdoc.providers import Password, X25519Identity, X25519Recipient
from sealdoc.serve import DocumentApp, Grant
from tests.serving import serving, tracebacks

PASSWORD = "correct horse battery staple 93"


def a_pdf() -> bytes:
    out = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.docinfo["/Title"] = "Statement 2026-11"
        pdf.save(out)
    return out.getvalue()


@pytest.fixture
def vault(tmp_path: Path, ring: sealdoc.MemoryKeyring) -> sealdoc.Vault:
    v = sealdoc.Vault(f"file://{tmp_path}/vault", keys=ring)
    v.put("C-1/2026-11", a_pdf(), context={"customer": "C-1", "filename": "2026-11.pdf"})
    return v


def test_mobile_gets_a_copy_sealed_for_its_device(
    vault: sealdoc.Vault, events: list[sealdoc.AuditEvent]
) -> None:
    phone = X25519Identity.generate()
    other = X25519Identity.generate()

    def authorize(request: Request, doc_id: str, header: Any) -> Grant:
        return Grant(subject="C-1", channel="mobile", recipients=[X25519Recipient(phone.recipient)])

    with serving(DocumentApp(vault, authorize=authorize)) as (url, records):
        r = httpx.get(f"{url}/C-1/2026-11", headers={"range": "bytes=0-99"})
    assert r.status_code == 200  # a copy is whole: no ranges
    assert r.headers["content-type"] == "application/vnd.sealdoc"
    assert r.headers["content-disposition"] == 'attachment; filename="2026-11.sdoc"'
    assert r.headers["cache-control"] == "private, no-store"
    copy = r.content
    header = sealdoc.inspect(copy)
    assert [w.kind for w in header.wrapped_keys] == ["x25519"]  # no wrap under the bank's keys
    assert sealdoc.open(copy, keys=phone) == vault.get("C-1/2026-11")
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(copy, keys=other)
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(copy, keys=vault.providers)
    served = [e for e in events if e.operation == "serve"]
    assert [(e.channel, e.subject, e.outcome) for e in served] == [("mobile", "C-1", "ok")]
    assert not tracebacks(records)


@pytest.mark.parametrize("email_format", ["pdf", "html"])
def test_email_gets_a_password_copy(vault: sealdoc.Vault, email_format: str) -> None:
    asked: list[tuple[str, str]] = []

    def authorize(request: Request, doc_id: str, header: Any) -> Grant:
        return Grant(subject="C-1", channel="email", email_format=email_format)

    async def password(request: Request, doc_id: str, grant: Grant) -> str:
        asked.append((doc_id, grant.subject))
        return PASSWORD

    app = DocumentApp(vault, authorize=authorize, email_password=password)
    with serving(app) as (url, records):
        r = httpx.get(f"{url}/C-1/2026-11")
    assert r.status_code == 200
    assert asked == [("C-1/2026-11", "C-1")]
    plain = vault.get("C-1/2026-11")
    if email_format == "pdf":
        assert r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"] == 'attachment; filename="2026-11.pdf"'
        with pytest.raises(pikepdf.PasswordError):
            pikepdf.open(io.BytesIO(r.content))
        with pikepdf.open(io.BytesIO(r.content), password=PASSWORD) as pdf:
            assert pdf.is_encrypted
            assert str(pdf.docinfo["/Title"]) == "Statement 2026-11"
    else:
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["content-disposition"] == 'attachment; filename="2026-11.html"'
        sealed = sealdoc.sealed_from_html(r.content)
        assert sealdoc.open(sealed, keys=Password(PASSWORD)) == plain
    assert plain not in r.content
    assert not tracebacks(records)


def test_email_without_a_password_callable_fails_cleanly(
    vault: sealdoc.Vault, events: list[sealdoc.AuditEvent]
) -> None:
    app = DocumentApp(vault, authorize=lambda *_: Grant(channel="email"))
    with serving(app) as (url, records):
        r = httpx.get(f"{url}/C-1/2026-11")
    assert r.status_code == 500
    assert b"%PDF" not in r.content
    assert [e.outcome for e in events if e.operation == "serve"] == ["failed"]
    assert not tracebacks(records)


def test_a_mobile_copy_is_sealed_as_it_is_sent(tmp_path: Path, ring: sealdoc.MemoryKeyring) -> None:
    big = sealdoc.Vault(f"file://{tmp_path}/big", keys=ring, segment_size=64 * 1024)
    data = bytes(range(256)) * (16 * 1024)  # 4 MiB, 64 segments
    big.put("C-1/archive", data, context={"customer": "C-1"})
    phone = X25519Identity.generate()
    grant = Grant(channel="mobile", recipients=[X25519Recipient(phone.recipient)])
    with serving(DocumentApp(big, authorize=lambda *_: grant)) as (url, records):
        with httpx.Client() as client:
            whole = client.get(f"{url}/C-1/archive")
            assert "content-length" not in whole.headers  # chunked: made while it is sent
            assert sealdoc.open(whole.content, keys=phone) == data
            with client.stream("GET", f"{url}/C-1/archive") as r:
                next(r.iter_raw(64 * 1024))  # then the client goes
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _copying():
            time.sleep(0.1)
        assert not _copying()  # the sealing thread stopped with the client
    assert not tracebacks(records)


def _copying() -> bool:
    return any(t.name == "sealdoc-serve-copy" for t in threading.enumerate())


def test_an_html_email_copy_over_the_page_limit_fails_cleanly_before_reading(
    tmp_path: Path,
    ring: sealdoc.MemoryKeyring,
    events: list[sealdoc.AuditEvent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The HTML page's size limit applies before the document is read whole, and is a
    clean 500 with one log line, not a ValueError traceback (review of the serve merge)."""
    monkeypatch.setattr(sealdoc._html, "MAX_HTML_PLAINTEXT", 1000)  # 64 MiB in the suite is slow
    v = sealdoc.Vault(f"file://{tmp_path}/v", keys=ring, segment_size=1024)
    v.put("C-1/big", b"x" * 5000)
    app = DocumentApp(
        v,
        authorize=lambda *_: Grant(channel="email", email_format="html"),
        email_password=lambda *_: PASSWORD,
    )
    with serving(app) as (url, records):
        r = httpx.get(f"{url}/C-1/big")
    assert (r.status_code, r.content) == (500, b"Internal Server Error")
    assert not tracebacks(records)
    warnings = [x.getMessage() for x in records if x.name == "sealdoc.serve"]
    assert len(warnings) == 1
    assert "over the HTML export's limit" in warnings[0]
    assert [e.outcome for e in events if e.operation == "serve"] == ["failed"]


@pytest.mark.parametrize("bad", ["not-a-key-uri", "the vault's own key"])
def test_a_mobile_grant_with_bad_recipients_is_a_clean_500_not_an_empty_200(
    vault: sealdoc.Vault, ring: sealdoc.MemoryKeyring, bad: str
) -> None:
    """The recipients are checked before the response starts: after it, the client got
    200 and an empty .sdoc (review of the serve merge)."""
    recipient = ring if bad == "the vault's own key" else bad
    app = DocumentApp(vault, authorize=lambda *_: Grant(channel="mobile", recipients=[recipient]))
    with serving(app) as (url, records):
        r = httpx.get(f"{url}/C-1/2026-11")
    assert (r.status_code, r.content) == (500, b"Internal Server Error")
    assert not tracebacks(records)
