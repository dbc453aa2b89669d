"""The quick start: seal customer documents into a local folder with a local keyring.

Run it through ``python3 -m nox -s demo`` (which installs sealdoc), or
directly: ``python examples/quickstart.py [FOLDER]``. The keyring file comes
from $SEALDOC_KEYRING and its passphrase from $SEALDOC_PASSPHRASE; without
them a throwaway keyring is made in FOLDER.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import sealdoc

DOCUMENTS = {
    "statement-2026-11.txt": (
        b"ACME Bank - statement for November 2026\nOpening balance 1,204.17\n...\n",
        {"tenant": "acme-bank", "doc_type": "statement", "period": "2026-11"},
    ),
    "claim-88412.txt": (
        b"Claim 88412: water damage, kitchen ceiling. Estimate 3,900.00\n",
        {"tenant": "acme-insurance", "doc_type": "claim"},
    ),
    "medical-form.txt": (
        b"Pre-authorisation request, patient file 55-102 ...\n",
        {"tenant": "acme-health", "doc_type": "medical_form"},
    ),
}


def keyring(folder: Path) -> sealdoc.LocalKeyring:
    path = Path(os.environ.get("SEALDOC_KEYRING", folder / "keyring.json"))
    passphrase = os.environ.get("SEALDOC_PASSPHRASE", "example passphrase, not for real use")
    if path.exists():
        return sealdoc.LocalKeyring.load(path, passphrase=passphrase)
    path.parent.mkdir(parents=True, exist_ok=True)
    return sealdoc.LocalKeyring.create(path, passphrase=passphrase)


def main(folder: Path) -> None:
    ring = keyring(folder)
    vault = folder / "vault"
    vault.mkdir(parents=True, exist_ok=True)
    print(f"keyring: {ring.path}")

    for name, (body, context) in DOCUMENTS.items():
        target = vault / (name + ".sdoc")
        # Each document gets its own fresh key, wrapped by the keyring's KEK.
        target.write_bytes(sealdoc.seal(body, keys=ring, context=context))
        header = sealdoc.inspect(target.read_bytes())  # no key needed
        keys = ", ".join(w.label for w in header.wrapped_keys)
        print(f"sealed {name:24s} -> {target.name}  context={header.context}  keys={keys}")

    # Opening checks the pairs of context you give.
    sealed = (vault / "claim-88412.txt.sdoc").read_bytes()
    plain = sealdoc.open(sealed, keys=ring, context={"tenant": "acme-insurance"})
    assert plain == DOCUMENTS["claim-88412.txt"][0]
    print(f"opened claim-88412: {plain.decode().strip()}")

    # The wrong tenant gets one opaque error, whatever the reason.
    try:
        sealdoc.open(sealed, keys=ring, context={"tenant": "acme-bank"})
    except sealdoc.DecryptionError as exc:
        print(f"as expected, another tenant cannot open it: {exc}")
    else:
        raise SystemExit("a wrong context opened the document")

    # Streams: constant memory, and random access when the source can seek.
    big = bytes(range(256)) * 40_000  # about 10 MB
    out = io.BytesIO()
    sealdoc.seal_stream(io.BytesIO(big), out, keys=ring, context={"doc_type": "archive"})
    out.seek(0)
    reader = sealdoc.open_stream(out, keys=ring)
    reader.seek(5_000_000)
    assert reader.read(16) == big[5_000_000:5_000_016]
    print("stream: sealed 10 MB, then read 16 bytes from the middle (one segment decrypted)")

    # Delivery: a copy for the customer alone, as a page any browser opens.
    password = sealdoc.generate_password()  # sent to the customer by another channel
    statement = (vault / "statement-2026-11.txt.sdoc").read_bytes()
    page = sealdoc.export_html(
        sealdoc.open(statement, keys=ring), password=password, filename="statement-2026-11.txt"
    )
    (folder / "statement-2026-11.html").write_bytes(page)
    secret = folder / "statement-2026-11.password"  # a stand-in for the SMS
    secret.touch(mode=0o600)
    secret.write_text(password + "\n")
    print(
        f"delivered: {folder / 'statement-2026-11.html'} opens in any browser with the "
        f"password in {secret.name}"
    )
    print(f"done: {len(DOCUMENTS)} documents sealed in {vault}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory(dir=os.environ.get("SEALDOC_EXAMPLE_TMP")) as tmp:
            main(Path(tmp))
