"""Write the seed corpus under fuzz/corpus/<harness>/ from tests/vectors.

``python fuzz/make_corpus.py`` adds the seeds (named by their SHA-1, so a
second run adds nothing but a fresh HTML page, whose salts are random). It
removes nothing: the folders also hold what a campaign found and kept
(``-merge=1``, docs/fuzzing.md). The committed corpus is what CI starts from.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import sealdoc  # noqa: E402
from sealdoc.providers import _local  # noqa: E402

CORPUS = ROOT / "fuzz" / "corpus"
HARNESSES = ("header", "open", "rewrap", "html", "keyring", "key_uri")
URIS = (
    b"local:///nonexistent/keyring.json#default",
    b"local:///etc/hostname",
    b"local://host/path",
    b"aws-kms://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    b"aws-kms://alias/statements?region=eu-west-1",
    b"aws-kms://alias/x",
    b"pkcs11:token=T;object=kek?module-path=/nonexistent/lib.so&pin-source=file:/nonexistent/pin",
    b"pkcs11:token=T;object",
    b"x25519:sdoc-x25519-1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
    b"memory:default",
    b"",
    # what the campaign found (docs/fuzzing.md), kept so that CI replays them
    b"aws-kms://alias/statements?region=eu-west-;",
    b"local:///etc\x00\x00\x00\x00hostname",
    b"pkcs11:token=T;object=kek?module-path=/nonexistent/l\x8fb.so&pin-source=file:/nonexistent/pin",
    b"aws-kms://alia[s/statements?region=eu-west-1",
)


def _vectors() -> list[bytes]:
    paths = sorted((ROOT / "tests" / "vectors").glob("*.json"))
    return [base64.b64decode(json.loads(p.read_text())["sealed"]) for p in paths]


def _page(sealed: bytes) -> bytes:
    text = base64.encodebytes(sealed).decode("ascii")
    return (
        f'<html><script type="application/vnd.sealdoc+base64" id="sealed">\n{text}</script></html>'
    ).encode()


def seeds() -> dict[str, list[bytes]]:
    vectors = _vectors()
    built = [b"\x00" + bytes(range(i, i + 40)) * (i + 1) for i in range(0, 200, 40)]
    ring = sealdoc.MemoryKeyring()
    inner = json.dumps(_local._encode_keys(ring._keys), sort_keys=True).encode()
    page = sealdoc.export_html(b"seed", password="correct horse battery", filename="a.txt")
    return {
        "header": [v[: int.from_bytes(v[5:9], "big")] for v in vectors if len(v) >= 9],
        "open": vectors + built,
        "rewrap": vectors + built,
        "html": [page] + [_page(v) for v in vectors[:8]],
        "keyring": [b"\x00" + inner, b"\x00{}", b"\x00" + json.dumps({"keys": {}}).encode()],
        "key_uri": list(URIS),
        "age": _age_files(),
    }


def _age_files() -> list[bytes]:
    """The age files of the vendored CCTV vectors (tests/age_vectors/cctv), uncompressed."""
    import zlib

    found = []
    for path in sorted((ROOT / "tests" / "age_vectors" / "cctv").iterdir()):
        if path.name in ("LICENSE", "SOURCE.md"):
            continue
        head, body = path.read_bytes().split(b"\n\n", 1)
        found.append(zlib.decompress(body) if b"compressed: zlib" in head else body)
    return [f for f in found if len(f) <= 16384]


def main() -> None:
    for name, items in seeds().items():
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for item in items:
            (folder / hashlib.sha1(item).hexdigest()).write_bytes(item)  # a file name
        print(f"{name}: {len(items)} seeds")


if __name__ == "__main__":
    main()
