"""Password-protected PDF export (AES-256, revision 6) through pikepdf.

For customers who open statements in their PDF reader. The PDF standard's
own encryption protects the file; sealdoc's format is not involved.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

from .exceptions import FormatError


def _pikepdf() -> Any:
    try:
        import pikepdf  # noqa: PLC0415 - an optional extra
    except ImportError as exc:
        raise ImportError("the PDF export needs pikepdf: pip install 'sealdoc[pdf]'") from exc
    return pikepdf


def export_pdf(data: bytes, *, password: str) -> bytes:
    """``data`` (a PDF) encrypted with AES-256 (PDF 2.0, security handler revision 6).

    It opens in any PDF reader with ``password``, and with nothing else: the
    owner password is random and not kept (an empty owner password would let
    some readers open the file with none). A document that is not a PDF
    raises FormatError; nothing is returned for it.
    """
    if not isinstance(password, str) or not password:
        raise ValueError("the PDF password must be a non-empty str")
    data = bytes(data)
    if b"%PDF-" not in data[:1024]:  # readers accept the header within the first 1 KiB
        raise FormatError("not a PDF document (no %PDF- header): the PDF export takes PDFs only")
    pikepdf = _pikepdf()
    try:
        pdf = pikepdf.Pdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise FormatError("the PDF is already encrypted: export its decrypted form") from None
    except pikepdf.PdfError as exc:
        raise FormatError(f"not a readable PDF document ({type(exc).__name__})") from None
    out = io.BytesIO()
    try:
        with pdf:
            if pdf.is_encrypted:
                raise FormatError("the PDF is already encrypted: export its decrypted form")
            # pikepdf's Encryption repr shows the passwords: it never leaves this call.
            pdf.save(
                out,
                encryption=pikepdf.Encryption(
                    user=password, owner=secrets.token_urlsafe(32), R=6, aes=True
                ),
            )
    except pikepdf.PdfError as exc:
        raise FormatError(f"the PDF cannot be rewritten ({type(exc).__name__})") from None
    return out.getvalue()
