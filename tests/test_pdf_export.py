"""The password-protected PDF export, checked with qpdf and poppler (independent readers)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest

import sealdoc

PW = "plum-orbit-kettle-91"


def statement_pdf(text: str = "Statement 2026-11 balance 1204.17") -> bytes:
    """A one-page PDF with real text on it, so pdftotext has something to find."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    content = pdf.make_stream(f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode())
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 612, 792],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=content,
    )
    pdf.pages.append(pikepdf.Page(page))
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: run scripts/system-packages.sh (nox -s tests does)")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    path = tmp_path / "statement.pdf"
    path.write_bytes(sealdoc.export_pdf(statement_pdf(), password=PW))
    return path


def test_qpdf_opens_it_with_the_password_only(exported: Path) -> None:
    qpdf = tool("qpdf")
    assert run(qpdf, "--check", f"--password={PW}", str(exported)).returncode == 0
    assert run(qpdf, "--check", str(exported)).returncode == 2  # no password
    assert run(qpdf, "--check", "--password=", str(exported)).returncode == 2  # empty owner
    assert run(qpdf, "--check", "--password=plum-orbit-kettle-19", str(exported)).returncode == 2
    shown = run(qpdf, f"--password={PW}", "--show-encryption", str(exported)).stdout
    assert "R = 6" in shown
    assert "AESv3" in shown  # AES-256


def test_poppler_reads_the_text_with_the_password_only(exported: Path) -> None:
    pdftotext = tool("pdftotext")
    good = run(pdftotext, "-upw", PW, str(exported), "-")
    assert good.returncode == 0
    assert "Statement 2026-11 balance 1204.17" in good.stdout
    bad = run(pdftotext, str(exported), "-")
    assert bad.returncode != 0
    assert "Statement" not in bad.stdout
    assert "Statement" not in run(pdftotext, "-upw", "wrong-password-1", str(exported), "-").stdout


def test_the_text_is_not_in_the_file(exported: Path) -> None:
    assert b"Statement 2026-11" not in exported.read_bytes()


def test_a_non_pdf_is_refused() -> None:
    with pytest.raises(sealdoc.FormatError, match="not a PDF"):
        sealdoc.export_pdf(b"Statement 2026-11 as plain text", password=PW)
    with pytest.raises(sealdoc.FormatError, match="not a readable PDF"):
        sealdoc.export_pdf(b"%PDF-1.7\nthis is no PDF at all", password=PW)
    with pytest.raises(ValueError, match="non-empty"):
        sealdoc.export_pdf(statement_pdf(), password="")


def test_an_encrypted_pdf_is_refused() -> None:
    once = sealdoc.export_pdf(statement_pdf(), password=PW)
    with pytest.raises(sealdoc.FormatError):
        sealdoc.export_pdf(once, password=PW)


def test_a_vault_statement_round_trips_as_a_pdf(
    tmp_path: Path, ring: sealdoc.MemoryKeyring
) -> None:
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=ring)
    vault.put("C-1029/2026-11.pdf", statement_pdf("Customer C-1029 owes nothing"))
    delivered = sealdoc.export_pdf(vault.get("C-1029/2026-11.pdf"), password=PW)
    with pikepdf.open(io.BytesIO(delivered), password=PW) as pdf:
        assert pdf.is_encrypted
        assert len(pdf.pages) == 1
    path = tmp_path / "delivered.pdf"
    path.write_bytes(delivered)
    text = run(tool("pdftotext"), "-upw", PW, str(path), "-").stdout
    assert "Customer C-1029 owes nothing" in text
