"""Chromium's own PDF viewer reads a statement from DocumentApp with range requests.

The system's Chromium (never a downloaded browser), with its PDF viewer's
partial loading switched on (PdfIncrementalLoading, PdfPartialLoading: the
viewer then asks for the byte ranges it needs, as it does in Chrome). The
portal page is served by the test, beside the mounted app.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

import sealdoc
from sealdoc.serve import DocumentApp, Grant
from tests.browser import FLAGS
from tests.serving import serving, tracebacks

PAGE = (
    '<!DOCTYPE html><html><body style="margin:0">'
    '<iframe src="/docs/C-1/statement.pdf" style="width:100%;height:96vh;border:0"></iframe>'
    "</body></html>"
)


def statement_pdf(pages: int) -> bytes:
    """A linearized PDF of ``pages`` pages, each a title and a blue block, about 120 KiB a page."""
    out = io.BytesIO()
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
    )
    with pikepdf.new() as pdf:
        for i in range(pages):
            pdf.add_blank_page(page_size=(612, 792))
            page = pdf.pages[-1]
            text = b"BT /F1 36 Tf 72 700 Td (Statement page %d) Tj ET " % (i + 1)
            block = b"0 0 1 rg 72 100 400 500 re f "
            page.Contents = pikepdf.Stream(pdf, text + block + b"% filler\n" * 12000)
            page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        pdf.save(out, linearize=True, compress_streams=False)
    return out.getvalue()


def test_chromium_pdf_viewer_reads_ranges(tmp_path: Path, ring: sealdoc.MemoryKeyring) -> None:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("no chromium on PATH: run scripts/system-packages.sh (nox -s tests does)")
    from playwright.sync_api import sync_playwright

    data = statement_pdf(20)
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=ring, segment_size=64 * 1024)
    vault.put("C-1/statement.pdf", data, context={"customer": "C-1"})
    answers: list[tuple[int, str, str]] = []  # status, Range asked, Content-Range answered
    docs = DocumentApp(vault, authorize=lambda request, doc_id, header: Grant(subject="C-1"))

    async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
        asked = dict(scope["headers"]).get(b"range", b"").decode()

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message["headers"])
                answered = headers.get(b"content-range", b"").decode()
                answers.append((message["status"], asked, answered))
            await send(message)

        await docs(scope, receive, send_and_record)

    async def portal(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)

    app = Starlette(routes=[Route("/", portal), Mount("/docs", app=recorded)])
    features = "--enable-features=PdfIncrementalLoading,PdfPartialLoading"
    with serving(app) as (url, records), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=[*FLAGS, features]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.goto(f"{url}/")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(s == 206 for s, _, _ in answers):
                time.sleep(0.2)
            time.sleep(2)  # let the viewer draw the first page
            shot = page.screenshot()
        finally:
            browser.close()
    ranged = [(asked, answered) for status, asked, answered in answers if status == 206]
    assert ranged, answers
    size = len(data)
    for asked, answered in ranged:
        first, last = asked.removeprefix("bytes=").split("-")
        assert answered == f"bytes {first}-{last}/{size}"
    assert {status for status, _, _ in answers} <= {200, 206}
    assert not tracebacks(records)
    # The first page is on screen: its blue block, many pixels of it, not a blank frame.
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    raw = image.tobytes()
    blue = sum(
        1 for i in range(0, len(raw), 3) if raw[i + 2] > 200 and raw[i] < 60 and raw[i + 1] < 60
    )
    assert blue > 5000, blue
