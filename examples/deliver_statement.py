"""Deliver one stored statement to its customer three ways: sealed, HTML and PDF.

Run: python examples/deliver_statement.py (the PDF part needs pikepdf:
pip install 'sealdoc[pdf]'). Writes into a temporary folder and prints
what each copy is and who can open it.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pikepdf

import sealdoc
from sealdoc.providers import Password, X25519Identity, X25519Recipient


def a_pdf_statement() -> bytes:
    out = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()  # a real statement has text; the export is the same
        pdf.docinfo["/Title"] = "Statement 2026-11"
        pdf.save(out)
    return out.getvalue()


def main(folder: Path) -> None:
    ring = sealdoc.MemoryKeyring()  # the bank's keys (a LocalKeyring, KMS or HSM in production)
    names = sealdoc.Vault.generate_name_key()  # opaque object names: a listing names no one
    vault = sealdoc.Vault(f"file://{folder}/vault", keys=ring, name_key=names)
    vault.put("C-1029/2026-11.pdf", a_pdf_statement(), context={"doc_type": "statement"})

    # 1. The mobile app: sealed for the device key the app registered.
    phone = X25519Identity.generate()  # made on the phone; only its recipient leaves it
    copy = vault.deliver("C-1029/2026-11.pdf", to=X25519Recipient(phone.recipient))
    (folder / "statement.sdoc").write_bytes(copy)
    keys = [w.label for w in sealdoc.inspect(copy).wrapped_keys]
    print(f"app copy: {len(copy)} bytes, wrapped for {keys}; opens on the phone:", end=" ")
    print(sealdoc.open(copy, keys=phone).startswith(b"%PDF-"))

    # 2. E-mail: a generated password, sent by SMS, never with the file.
    password = sealdoc.generate_password()
    sealdoc.check_password(password, personal=["C-1029", "1985-03-14"])
    page = sealdoc.export_html(
        vault.get("C-1029/2026-11.pdf"), password=password, filename="statement-2026-11.pdf"
    )
    (folder / "statement.html").write_bytes(page)
    inside = sealdoc.sealed_from_html(page)
    print(f"e-mail page: {len(page)} bytes; opens with the password:", end=" ")
    print(sealdoc.open(inside, keys=Password(password)).startswith(b"%PDF-"))

    # 3. The PDF reader: AES-256 with the same password.
    protected = sealdoc.export_pdf(vault.get("C-1029/2026-11.pdf"), password=password)
    (folder / "statement.pdf").write_bytes(protected)
    with pikepdf.open(io.BytesIO(protected), password=password) as pdf:
        print(f"protected PDF: {len(protected)} bytes, encrypted: {pdf.is_encrypted}")

    # What the check says about the password banks use today.
    try:
        sealdoc.check_password("850314-1234", personal=["850314-1234"])
    except sealdoc.WeakPasswordError as exc:
        print("an identity number as password is refused:")
        for reason in exc.reasons:
            print(f"  - {reason}")


if __name__ == "__main__":
    base = os.environ.get("SEALDOC_EXAMPLE_TMP")
    with tempfile.TemporaryDirectory(dir=base) as name:
        main(Path(name))
