"""The self-decrypting HTML attachment, opened in a real headless Chromium."""

from __future__ import annotations

import base64
import http.server
import os
import re
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import sealdoc
from sealdoc import Suite, WrappedKey
from sealdoc._format import InternalMap
from sealdoc._schedule import derive, header_digest, header_mac
from sealdoc._stream import SegmentCipher
from sealdoc._text import FORBIDDEN_RANGES, forbidden_char
from sealdoc.providers import KdfLimits, Password
from sealdoc.providers._base import AssociatedData

PW = "plum-orbit-kettle-91"
STATEMENT = b"ACME BANK\nStatement 2026-11\nBalance: 1,204.17 EUR\n"
ALLOWED = ("file://", "blob:", "data:", "about:")


class Page:
    """One browser tab on one attachment, recording every request it makes."""

    def __init__(self, chromium: Any, path: Path) -> None:
        self.context = chromium.new_context(accept_downloads=True)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())

    def submit(self, password: str) -> tuple[str, str]:
        """Type the password and open; the status kind and message when done."""
        self.page.fill("#password", password)
        self.page.click("#open")
        self.page.wait_for_selector(
            '#status[data-kind="ok"], #status[data-kind="error"]', timeout=30_000
        )
        return (
            self.page.get_attribute("#status", "data-kind") or "",
            self.page.text_content("#status") or "",
        )

    def download(self) -> bytes:
        with self.page.expect_download() as info:
            self.page.click("#download")
        return Path(info.value.path()).read_bytes()

    def outside_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(ALLOWED)]


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    pages: list[Page] = []

    def make(path: Path) -> Page:
        pages.append(Page(chromium, path))
        return pages[-1]

    yield make
    for p in pages:
        p.context.close()


def write(tmp_path: Path, data: bytes, name: str = "statement.txt", **options: Any) -> Path:
    page = sealdoc.export_html(data, password=PW, filename=name, **options)
    path = tmp_path / (name + ".html")
    path.write_bytes(page)
    return path


def replace_document(path: Path, change: Any) -> None:
    """Rewrite the sealed document inside a page (an attacker's edit)."""
    text = path.read_text()
    found = re.search(r'(id="sealed">\s*)([A-Za-z0-9+/=\s]+)(</script>)', text)
    assert found is not None
    sealed = bytearray(base64.b64decode("".join(found.group(2).split())))
    changed = change(sealed)
    encoded = base64.b64encode(bytes(changed)).decode()
    path.write_text(text[: found.start(2)] + encoded + "\n" + text[found.end(2) :])


def test_the_right_password_shows_the_document(tmp_path: Path, tab: Any) -> None:
    page = tab(write(tmp_path, STATEMENT))
    assert page.submit(PW) == (
        "ok",
        "Opened. It was decrypted on this device; nothing was sent anywhere.",
    )
    assert page.page.text_content("#text") == STATEMENT.decode()
    assert page.page.is_visible("#text")
    assert page.page.get_attribute("#download", "download") == "statement.txt"
    assert page.download() == STATEMENT
    assert page.outside_requests() == []


def test_a_wrong_password_says_so_and_the_right_one_still_opens(tmp_path: Path, tab: Any) -> None:
    page = tab(write(tmp_path, STATEMENT))
    kind, message = page.submit("plum-orbit-kettle-19")
    assert kind == "error"
    assert message.startswith("Wrong password")
    assert not page.page.is_visible("#text")
    assert page.submit(PW)[0] == "ok"
    assert page.outside_requests() == []


@pytest.mark.parametrize(
    "where",
    ["last body byte", "first body byte", "context byte", "header mac", "truncated", "extended"],
)
def test_an_altered_file_is_reported_as_altered(tmp_path: Path, tab: Any, where: str) -> None:
    path = write(tmp_path, STATEMENT)
    header_len = sealdoc.inspect(sealdoc.sealed_from_html(path.read_bytes())).header_length

    def change(sealed: bytearray) -> bytearray:
        if where == "truncated":
            return sealed[:-20]
        if where == "extended":
            return sealed + bytes(17)
        index = {
            "last body byte": len(sealed) - 1,
            "first body byte": header_len,
            "context byte": sealed.index(b"statement.txt"),
            "header mac": header_len - 1,
        }[where]
        sealed[index] ^= 0x01
        return sealed

    replace_document(path, change)
    page = tab(path)
    kind, message = page.submit(PW)
    assert kind == "error"
    if where == "context byte":
        # The password wrap is bound to the header's core: an edit there fails
        # exactly as a wrong password does, and the message says both.
        assert message.startswith("Wrong password")
        assert "the file may have been altered" in message
    else:
        assert message.startswith("This file was altered or damaged")
    assert not page.page.is_visible("#text")
    assert page.page.text_content("#text") == ""  # no byte of it was shown


def test_a_large_binary_document_downloads_intact(tmp_path: Path, tab: Any) -> None:
    data = os.urandom(700_000)  # three 256 KiB segments
    page = tab(write(tmp_path, data, name="scan.bin"))
    assert page.submit(PW)[0] == "ok"
    assert not page.page.is_visible("#text")  # not shown inline: download only
    assert page.download() == data
    assert page.outside_requests() == []


def test_a_pdf_is_shown_inline(tmp_path: Path, tab: Any) -> None:
    pdf = b"%PDF-1.4\n% a tiny stand-in body is enough for the page's choice\n%%EOF\n"
    page = tab(write(tmp_path, pdf, name="statement.pdf"))
    assert page.submit(PW)[0] == "ok"
    src = page.page.get_attribute("#frame", "src") or ""
    assert src.startswith("blob:")
    assert page.page.is_visible("#frame")
    assert page.download() == pdf


def test_a_page_with_a_cheap_kdf_is_refused(tmp_path: Path, tab: Any) -> None:
    """A crafted attachment with 1,000 PBKDF2 iterations: the page will not use it."""
    lax = KdfLimits(pbkdf2_min_iterations=1000)
    cheap = Password(PW, kdf="pbkdf2-sha256", iterations=1000, limits=lax)
    path = write(tmp_path, STATEMENT)
    crafted = sealdoc.seal(
        STATEMENT,
        keys=cheap,
        # sealdoc's own reserved keys: callers' sealdoc: keys are refused (format.md 3.3)
        context=InternalMap(
            {"sealdoc:filename": "statement.txt", "sealdoc:media_type": "text/plain"}
        ),
    )
    replace_document(path, lambda _: bytearray(crafted))
    kind, message = tab(path).submit(PW)
    assert kind == "error"
    assert "no password wrap this page can use" in message


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


def test_no_request_can_leave_the_page(tmp_path: Path, tab: Any) -> None:
    """The page's Content-Security-Policy blocks even requests injected into it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = tab(write(tmp_path, STATEMENT))
        assert page.submit(PW)[0] == "ok"
        assert page.outside_requests() == []  # the page itself asks for nothing
        outcome = page.page.evaluate(
            """async (url) => {
                const tries = [];
                try { await fetch(url + "/fetch"); tries.push("fetch sent"); }
                catch (e) { tries.push("fetch blocked"); }
                const img = document.createElement("img");
                img.src = url + "/img";
                document.body.append(img);
                navigator.sendBeacon && navigator.sendBeacon(url + "/beacon", "x");
                await new Promise((r) => setTimeout(r, 500));
                return tries;
            }""",
            url,
        )
        assert outcome == ["fetch blocked"]
        # Chromium announces the injected image, then its CSP stops it: nothing arrives.
        assert _Counter.hits == []
    finally:
        server.shutdown()
        server.server_close()


def test_python_opens_the_page_too(tmp_path: Path) -> None:
    path = write(tmp_path, STATEMENT)
    sealed = sealdoc.sealed_from_html(path.read_bytes())
    header = sealdoc.inspect(sealed)
    assert header.context == {
        "sealdoc:filename": "statement.txt",
        "sealdoc:media_type": "text/plain",
    }
    assert [w.kind for w in header.wrapped_keys] == ["password"]
    assert sealdoc.open(sealed, keys=Password(PW)) == STATEMENT
    with pytest.raises(sealdoc.FormatError, match="not a sealdoc HTML attachment"):
        sealdoc.sealed_from_html(b"<!DOCTYPE html><p>hello</p>")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"filename": "../etc/passwd"}, "path separator"),
        ({"filename": ""}, "1 to 255"),
        ({"filename": "x.txt", "media_type": "Text/HTML; charset=x"}, "not a media type"),
        ({"filename": "x.txt", "iterations": 1000}, "outside"),
    ],
)
def test_export_refuses_bad_options(options: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        sealdoc.export_html(STATEMENT, password=PW, **options)


# -- the page's decoder enforces every limit of format.md section 3 (issue 13.10) ----------
#
# Each crafted document is valid in every other way: its commitment, header MAC,
# password wrap and segment are computed for the crafted header, so the page would
# open it if it skipped the limit. sealdoc's own parser refuses each one as well.

_FILE = (b"sealdoc:filename", b"statement.txt")
_TYPE = (b"sealdoc:media_type", b"text/plain")


def _pair(key: bytes, value: bytes) -> bytes:
    return struct.pack(">H", len(key)) + key + struct.pack(">H", len(value)) + value


def _map(*pairs: tuple[bytes, bytes], count: int | None = None) -> bytes:
    head = struct.pack(">H", len(pairs) if count is None else count)
    return head + b"".join(_pair(k, v) for k, v in pairs)


def _wrap(kind: bytes, key_id: bytes, payload: bytes, version: int = 1) -> bytes:
    return (
        bytes([len(kind)])
        + kind
        + struct.pack(">H", len(key_id))
        + key_id
        + struct.pack(">IH", version, len(payload))
        + payload
    )


_CRAFTED_WRAPS: dict[tuple[bytes, str], WrappedKey] = {}  # one PBKDF2 wrap per crafted core
_DEK, _SALT, _PREFIX = bytes(range(32)), bytes(32), bytes(7)
_KEYS = derive(_DEK, _SALT, Suite.AES_256_GCM_HKDF_SHA256_COMMIT)


def _core(context: bytes, segment_size: int) -> bytes:
    return struct.pack(">HBI", 1, 0, segment_size) + _SALT + _PREFIX + _KEYS.commitment + context


def craft(
    context: bytes = _map(_FILE, _TYPE),
    extra: bytes = b"",
    *,
    first: bytes = b"",
    trailing: bytes = b"",
    count: int | None = None,
    segment_size: int = 4096,
    password: str = PW,
) -> bytes:
    """A sealed document with exactly this context encoding and these extra wraps.

    ``first`` is one wrapped key put before the password wrap, ``extra`` one after it.
    """
    core = _core(context, segment_size)
    digest = header_digest(core, b"")
    if (core, password) not in _CRAFTED_WRAPS:
        recipient = Password(password, kdf="pbkdf2-sha256")
        _CRAFTED_WRAPS[core, password] = recipient.wrap(_DEK, AssociatedData(digest=digest))
    pw = _CRAFTED_WRAPS[core, password]
    count = (1 + bool(extra) + bool(first)) if count is None else count
    section = (
        bytes([count])
        + first
        + _wrap(pw.kind.encode(), pw.key_id.encode(), pw.payload, pw.version)
        + extra
        + trailing
    )
    header_len = 9 + len(core) + len(section) + 32
    unsigned = b"SDOC\x01" + struct.pack(">I", header_len) + core + section
    mac = header_mac(_KEYS.mac_key, digest, unsigned)
    body = SegmentCipher(Suite(1), _KEYS.payload_key, _PREFIX, digest).seal(0, True, STATEMENT)
    return unsigned + mac + body


def _page_with(tmp_path: Path, sealed: bytes) -> Path:
    path = write(tmp_path, STATEMENT)
    replace_document(path, lambda _: bytearray(sealed))
    return path


def test_a_crafted_document_within_the_limits_opens(tmp_path: Path, tab: Any) -> None:
    """The crafting is right: without a broken limit, both decoders open it."""
    # the neighbours of format.md 3.6's ranges, accents, emoji, other scripts: all allowed
    allowed = "\x20\xa0\xae\u2027\u2030\u2070\ufffc Zürich 🙂 東京 e\u0301 \U000e0080"
    context = _map(_FILE, _TYPE, (b"zz", allowed.encode()))
    sealed = craft(context, extra=_wrap(b"memory", "dépôt-🙂".encode(), b"\x01" * 60))
    assert sealdoc.open(sealed, keys=Password(PW)) == STATEMENT
    page = tab(_page_with(tmp_path, sealed))
    assert page.submit(PW)[0] == "ok"
    assert page.page.text_content("#text") == STATEMENT.decode()


_TOO_BIG = tuple((b"k%d" % n, b"v" * 4096) for n in range(4))
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    # format.md 3.3, the context map
    "keys out of order": ({"context": _map(_TYPE, _FILE)}, "keys are not unique and sorted"),
    "duplicate keys": (
        {"context": _map(_FILE, (b"sealdoc:filename", b"other.txt"), _TYPE)},
        "keys are not unique and sorted",
    ),
    "empty key": ({"context": _map((b"", b"x"), _FILE, _TYPE)}, "key length out of bounds"),
    "key over 255 bytes": (
        {"context": _map(_FILE, _TYPE, (b"z" * 256, b"x"))},
        "key length out of bounds",
    ),
    "value over 4096 bytes": (
        {"context": _map(_FILE, _TYPE, (b"zz", b"x" * 4097))},
        "value length over the limit",
    ),
    "map over 16384 bytes": (
        {"context": _map(*sorted((_FILE, _TYPE, *_TOO_BIG)))},
        "longer than 16384",
    ),
    "key not UTF-8": ({"context": _map(_FILE, _TYPE, (b"z\xff", b"x"))}, "not valid UTF-8"),
    "value not UTF-8": (
        {"context": _map(_FILE, _TYPE, (b"zz", b"\xc3\x28"))},
        "not valid UTF-8",
    ),
    "65 pairs": (
        {"context": _map(*sorted((b"k%02d" % n, b"") for n in range(65)))},
        "too many entries",
    ),
    # format.md 3.2, a wrapped key
    "kind pattern": ({"extra": _wrap(b"Memory", b"default", b"x")}, "outside [a-z0-9.+-]"),
    "kind with a newline": ({"extra": _wrap(b"memory\n", b"default", b"x")}, "outside"),
    "kind starting with a dot": ({"extra": _wrap(b".memory", b"default", b"x")}, "outside"),
    "empty kind": ({"extra": _wrap(b"", b"default", b"x")}, "kind length out of bounds"),
    "kind over 32 bytes": ({"extra": _wrap(b"k" * 33, b"default", b"x")}, "kind length"),
    "empty key id": ({"extra": _wrap(b"memory", b"", b"x")}, "key id length out of bounds"),
    "key id over 1024 bytes": ({"extra": _wrap(b"memory", b"d" * 1025, b"x")}, "key id length"),
    "key id not UTF-8": ({"extra": _wrap(b"memory", b"\xed\xa0\x80", b"x")}, "not valid UTF-8"),
    "empty payload": ({"extra": _wrap(b"memory", b"default", b"")}, "payload length out of"),
    "payload over 4096 bytes": (
        {"extra": _wrap(b"memory", b"default", b"p" * 4097)},
        "payload length out of bounds",
    ),
    # format.md 3.1
    "trailing header bytes": ({"trailing": b"\x00"}, "malformed header"),
    "33 wrapped keys": (
        {"extra": _wrap(b"memory", b"default", b"x") * 32, "count": 33},
        "impossible key count",
    ),
    "segment size 63": ({"segment_size": 63}, "impossible segment size"),
    "segment size over 16 MiB": ({"segment_size": 16 * 1024 * 1024 + 1}, "impossible segment"),
    # format.md 3.6, forbidden characters (issue 13.11): the code point, never the text
    "context value holding U+001B": (
        {"context": _map(_FILE, _TYPE, (b"zz", b"ok\x1b[2Jforged"))},
        "context value holds U+001B, a forbidden character",
    ),
    "context key holding U+202E": (
        {"context": _map(_FILE, _TYPE, ("z\u202etxt.exe".encode(), b"x"))},
        "context key holds U+202E, a forbidden character",
    ),
    "key id holding U+2066": (
        {"extra": _wrap(b"memory", "ops\u2066evil".encode(), b"x")},
        "key id holds U+2066, a forbidden character",
    ),
    # format.md 3.1, the order of the checks: the first that fails is the one shown
    "kind not ASCII": ({"extra": _wrap(b"mem\xff", b"default", b"x")}, "outside [a-z0-9.+-]"),
    "key character before key order": (
        {"context": _map(_FILE, _TYPE, (b"a\x1b", b"x"))},
        "context key holds U+001B",
    ),
    "map length before the next pair": (
        {"context": _map(*sorted((_FILE, _TYPE, *_TOO_BIG)), (b"z\xff", b"x"))},
        "longer than 16384",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_header_breaking_a_limit_is_refused(tmp_path: Path, tab: Any, case: str) -> None:
    options, reason = BROKEN[case]
    sealed = craft(**options)
    with pytest.raises(sealdoc.FormatError):
        sealdoc.open(sealed, keys=Password(PW))
    page = tab(_page_with(tmp_path, sealed))
    kind, message = page.submit(PW)
    assert kind == "error"
    assert message.startswith("This file was altered or damaged and cannot be opened safely.")
    assert reason in message
    assert forbidden_char(message) is None  # a crafted header's text never reaches the page
    assert page.page.text_content("#text") == ""
    assert page.outside_requests() == []


@pytest.mark.parametrize(
    ("document", "reason", "python"),
    [
        (b"", "not a sealed document", "no SDOC magic"),
        (b"%PDF-1.4", "not a sealed document", "no SDOC magic"),
        (b"SDO", "truncated header", "truncated header"),
        (b"SDOC\x02", "unsupported format version", "unsupported format version 2"),
        (b"SDOC\x01\x00\x00", "truncated header", "truncated header"),
        (b"SDOC\x01\x00\x00\x00\x85", "impossible header length", "header length 133 is"),
    ],
)
def test_a_short_document_fails_its_first_check(
    tmp_path: Path, tab: Any, document: bytes, reason: str, python: str
) -> None:
    """format.md 3.1 step 1, each check on the bytes there are, on both decoders."""
    with pytest.raises(sealdoc.FormatError, match=python):
        sealdoc.open(document, keys=Password(PW))
    kind, message = tab(_page_with(tmp_path, document)).submit(PW)
    assert kind == "error"
    assert message.endswith(f"({reason})")


def test_a_commitment_mismatch_tries_the_next_wrap(tmp_path: Path, tab: Any) -> None:
    """format.md 9: a wrap whose key fails the commitment is skipped, not fatal."""
    digest = header_digest(_core(_map(_FILE, _TYPE), 4096), b"")
    wrong = Password(PW, kdf="pbkdf2-sha256").wrap(bytes(32), AssociatedData(digest=digest))
    decoy = _wrap(b"password", wrong.key_id.encode(), wrong.payload, wrong.version)
    sealed = craft(first=decoy)
    assert sealdoc.open(sealed, keys=Password(PW)) == STATEMENT
    page = tab(_page_with(tmp_path, sealed))
    assert page.submit(PW)[0] == "ok"
    assert page.page.text_content("#text") == STATEMENT.decode()

    # The genuine wrap under another password: the decoy is the only wrap PW opens,
    # so the file is altered (not the password wrong), and neither decoder opens it.
    sealed = craft(first=decoy, password="velvet-harbor-quince-47")
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(sealed, keys=Password(PW))
    kind, message = tab(_page_with(tmp_path, sealed)).submit(PW)
    assert kind == "error"
    assert message.startswith("This file was altered or damaged")
    assert "key commitment mismatch" in message


def test_the_page_has_the_forbidden_table_of_the_python_parser(tmp_path: Path) -> None:
    """format.md 3.6: one table, written into the page from sealdoc._text."""
    asset = (Path(sealdoc.__file__).parent / "_html_assets" / "open.js").read_text()
    assert "const FORBIDDEN = [/* FORBIDDEN_RANGES */];" in asset  # no hand-kept copy
    page = write(tmp_path, STATEMENT).read_text()
    found = re.search(r"const FORBIDDEN = (\[.*?\]\]);", page)
    assert found is not None
    pairs = re.findall(r"\[0x([0-9a-f]+), 0x([0-9a-f]+)\]", found.group(1))
    assert tuple((int(a, 16), int(b, 16)) for a, b in pairs) == FORBIDDEN_RANGES
    assert len(pairs) == found.group(1).count("[") - 1  # nothing else in the array
