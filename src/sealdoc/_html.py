"""The self-decrypting HTML attachment (docs/delivery.md, format.md 8.2).

One .html file: a sealed document (format v1, suite 1, one PBKDF2 password
wrap) embedded as base64, and a decoder of the format written against
WebCrypto. A Content-Security-Policy made of the hashes of the page's own
script and style forbids every network request.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import mimetypes
import re
from collections.abc import Mapping
from importlib import resources

from ._codec import std_b64decode, std_b64encode
from ._envelope import seal
from ._format import MAGIC, Suite, with_reserved
from ._text import FORBIDDEN_RANGES, forbidden_char
from .exceptions import FormatError
from .providers._password import DEFAULT_PBKDF2_ITERATIONS, Password

#: The largest document the page is made for: the browser holds the whole
#: file, its base64 and the plaintext in memory at once.
MAX_HTML_PLAINTEXT = 64 * 1024 * 1024
FILENAME_KEY = "sealdoc:filename"
MEDIA_TYPE_KEY = "sealdoc:media_type"
_BLOCK = re.compile(
    rb'<script type="application/vnd\.sealdoc\+base64" id="sealed">([A-Za-z0-9+/=\s]*)</script>'
)
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*\Z")
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sealdoc">
<title>Protected document: {title}</title>
<style>{style}</style>
</head>
<body>
<main>
<h1>A protected document: {title}</h1>
<p>This file holds an encrypted document. Enter the password you were given to
open it. It is decrypted here, on this device: nothing is sent anywhere.</p>
<form id="unlock" autocomplete="off">
<label for="password">Password</label>
<input id="password" type="password" autocomplete="off" spellcheck="false" autofocus>
<button id="open" type="submit">Open</button>
</form>
<p id="status" role="status" aria-live="polite" data-kind="idle"></p>
<section id="document" hidden>
<p><a id="download" href="#">Download</a></p>
<pre id="text" hidden></pre>
<img id="image" alt="the document" hidden>
<iframe id="frame" title="the document" hidden></iframe>
</section>
<p><small>Sealed with sealdoc: AES-256-GCM, password key derived with PBKDF2-HMAC-SHA256
({iterations} iterations). If this page asks for anything but the password, or
sends you elsewhere, do not use it.</small></p>
</main>
<script type="application/vnd.sealdoc+base64" id="sealed">
{sealed}
</script>
<script>{script}</script>
</body>
</html>
"""


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + std_b64encode(digest) + "'"


_FORBIDDEN_MARK = "[/* FORBIDDEN_RANGES */]"


def forbidden_table_js() -> str:
    """format.md 3.6's table as a JS array literal, from the one the Python parser uses."""
    return "[" + ", ".join(f"[0x{a:04x}, 0x{b:04x}]" for a, b in FORBIDDEN_RANGES) + "]"


@functools.cache
def _page_parts() -> tuple[str, str, str]:
    """The page's script, style and Content-Security-Policy: read and hashed once."""
    folder = resources.files("sealdoc") / "_html_assets"
    template = (folder / "open.js").read_text("utf-8")
    if template.count(_FORBIDDEN_MARK) != 1:  # a broken asset must not make pages
        raise RuntimeError("open.js has lost its FORBIDDEN_RANGES mark")
    # one table for both decoders (format.md 3.6), written in before the CSP hash
    script = template.replace(_FORBIDDEN_MARK, forbidden_table_js())
    style = (folder / "page.css").read_text("utf-8")
    csp = (
        f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(style)}; "
        "img-src blob:; frame-src blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'"
    )
    return script, style, csp


def _media_type(data: bytes, filename: str, media_type: str | None) -> str:
    if media_type is None:
        if data.startswith(b"%PDF-"):
            return "application/pdf"
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        media_type = guessed or "application/octet-stream"
    if not _MEDIA_TYPE.match(media_type):
        raise ValueError(f"{media_type!r} is not a media type (type/subtype, lower case)")
    return media_type


def check_filename(filename: str) -> str:
    if isinstance(filename, str) and (_BAD_NAME.search(filename) or forbidden_char(filename)):
        raise ValueError(
            "a filename has no path separator, control, bidi or other format character"
        )
    if not isinstance(filename, str) or not filename or len(filename.encode("utf-8")) > 255:
        raise ValueError("a filename is 1 to 255 UTF-8 bytes")
    if filename in (".", ".."):
        raise ValueError("a filename cannot be '.' or '..'")
    return filename


# Public keyword signature: it shares only its shape with rotate_stream's
# (duplicates pairs them); there is nothing to fold.
def html_size_problem(size: int) -> str | None:
    """Why ``size`` bytes of plaintext cannot go into an HTML page; None if they can.

    For callers that know the size before they read the document whole.
    """
    if size > MAX_HTML_PLAINTEXT:
        return (
            f"{size} bytes is over the HTML export's limit of {MAX_HTML_PLAINTEXT}: "
            "deliver a sealed file instead"
        )
    return None


def export_html(
    data: bytes,
    *,
    password: str,
    filename: str,
    media_type: str | None = None,
    context: Mapping[str, str] | None = None,
    iterations: int = DEFAULT_PBKDF2_ITERATIONS,
) -> bytes:
    """A self-decrypting HTML page holding ``data``, sealed under ``password``.

    The customer opens the page in any current browser, types the password,
    and sees the document (text, images and PDFs inline) or downloads it.
    The page makes no network request. ``data`` is sealed (suite 1) with one
    password wrap using PBKDF2-HMAC-SHA256 at ``iterations`` (600,000 to
    10,000,000), since WebCrypto has no Argon2; ``filename`` and
    ``media_type`` (guessed when not given) are kept, authenticated, in the
    context. Python opens the page too: :func:`sealed_from_html` gives the
    sealed document inside.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    too_large = html_size_problem(len(data))
    if too_large is not None:
        raise ValueError(too_large)
    check_filename(filename)
    kind = _media_type(data, filename, media_type)
    reserved = {FILENAME_KEY: filename, MEDIA_TYPE_KEY: kind}
    full_context = with_reserved(context, reserved, what="context")
    recipient = Password(password, kdf="pbkdf2-sha256", iterations=iterations)
    suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT  # the one WebCrypto has
    sealed = seal(data, keys=recipient, context=full_context, suite=suite)
    script, style, csp = _page_parts()
    encoded = base64.encodebytes(sealed).decode("ascii").rstrip("\n")
    page = _PAGE.format(
        csp=csp,
        title=html.escape(filename),
        style=style,
        script=script,
        sealed=encoded,
        iterations=f"{iterations:,}",
    )
    return page.encode("utf-8")


def sealed_from_html(page: bytes) -> bytes:
    """The sealed document inside a page made by :func:`export_html`.

    Open it with ``sealdoc.open(..., keys=Password(...))``.
    """
    found = _BLOCK.search(bytes(page))
    if found is None:
        raise FormatError("not a sealdoc HTML attachment (no sealed document in it)")
    try:
        sealed = std_b64decode(b"".join(found.group(1).split()))
    except ValueError:  # binascii.Error is one
        raise FormatError("the sealed document in this page is not valid base64") from None
    if not sealed.startswith(MAGIC):
        raise FormatError("the page's embedded data is not a sealed document")
    return sealed
