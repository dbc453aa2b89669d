"""The HTTP rules of a served document: names, types, conditions and ranges.

Ranges are parsed by Starlette's own ``FileResponse`` parser, so a sealed
document answers a Range header exactly as ``FileResponse`` answers it for
the same plaintext file (the tests compare the two), with one exception:
more than ``MAX_RANGES`` ranges is a 400 here, where ``FileResponse``
ignores the header and sends the whole file.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from urllib.parse import quote

import attrs
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable

from .._text import ESCAPED_CLASS

MAX_RANGES = FileResponse.max_ranges
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*/[A-Za-z0-9][A-Za-z0-9.+-]*\Z")
# Kept out of a filename: what ends a path or a quoted string, and every character
# format.md 3.6 forbids or shows escaped (controls, bidi, invisible fillers), which
# would spoof the name a save dialog shows.
_UNSAFE_NAME = re.compile(f'[/\\\\"{ESCAPED_CLASS}]')
_MAX_NAME = 128


def filename_of(context: Mapping[str, str], doc_id: str) -> str:
    """The name the client saves the document under: from the context, else the doc id's tail."""
    name = context.get("filename") or doc_id.rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .") or "document"
    return name[:_MAX_NAME]


def media_type_of(context: Mapping[str, str], filename: str) -> str:
    """The context's media type when it is well formed, else one guessed from the name."""
    for key in ("media_type", "content_type"):
        value = context.get(key, "")
        if _MEDIA_TYPE.match(value):
            return value.lower()
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


# Types a browser runs scripts in when it shows them: served as the portal's own
# origin, a document's author (its context names the type) could script the portal.
_ACTIVE_TYPE = re.compile(r"html|xml|xsl|javascript|ecmascript", re.IGNORECASE)
#: What an active type is also sent with: no script, no request, a unique origin.
SANDBOX = "sandbox; default-src 'none'"


def is_active(media_type: str) -> bool:
    """Whether a browser would run script in ``media_type`` (HTML, SVG, XML...)."""
    return _ACTIVE_TYPE.search(media_type) is not None


def content_type(media_type: str) -> str:
    """As Starlette's Response writes it: text types get a charset."""
    if media_type.startswith("text/") and "charset=" not in media_type:
        return media_type + "; charset=utf-8"
    return media_type


def content_disposition(disposition: str, filename: str) -> str:
    """As FileResponse writes it: RFC 6266, with ``filename*`` when the name is not plain."""
    quoted = quote(filename)
    if quoted != filename:
        return f"{disposition}; filename*=utf-8''{quoted}"
    return f'{disposition}; filename="{filename}"'


def _etags(value: str) -> list[str]:
    return [tag.strip() for tag in value.split(",") if tag.strip()]


def _weak_equal(a: str, b: str) -> bool:
    return a.removeprefix("W/") == b.removeprefix("W/")


def if_match_fails(value: str | None, etag: str) -> bool:
    """If-Match (RFC 9110 13.1.1): strong comparison; ``*`` matches any current document."""
    if value is None:
        return False
    tags = _etags(value)
    return "*" not in tags and etag not in tags


def not_modified(value: str | None, etag: str) -> bool:
    """If-None-Match (RFC 9110 13.1.2): weak comparison; a match is a 304 for GET and HEAD."""
    if value is None:
        return False
    tags = _etags(value)
    return "*" in tags or any(_weak_equal(tag, etag) for tag in tags)


def use_range(if_range: str | None, etag: str) -> bool:
    """If-Range (RFC 9110 13.1.5): the range applies only to this exact, strong ETag.

    A date is never equal: served documents have no Last-Modified.
    """
    return if_range is None or (not if_range.startswith("W/") and if_range == etag)


@attrs.frozen
class RangeAnswer:
    """What a Range header asks for: the ranges (empty: the whole) or an error status."""

    ranges: tuple[tuple[int, int], ...] = ()
    status: int = 200
    message: str = ""


def parse_range(value: str, size: int) -> RangeAnswer:
    """The ranges ``[start, end)`` a Range header asks of ``size`` bytes, sorted and merged."""
    if value.count(",") + 1 > MAX_RANGES:
        return RangeAnswer(status=400, message=f"Range header: at most {MAX_RANGES} ranges")
    try:
        # Starlette's parser, so the answer is FileResponse's for the same bytes.
        ranges = FileResponse._parse_range_header(value, size)
    except MalformedRangeHeader as exc:
        return RangeAnswer(status=400, message=str(exc.content))
    except RangeNotSatisfiable:
        return RangeAnswer(status=416)
    return RangeAnswer(ranges=tuple(ranges), status=206 if ranges else 200)


def multipart_part_header(boundary: str, media_type: str, start: int, end: int, size: int) -> bytes:
    """The header of one part of a multipart/byteranges body, as FileResponse writes it."""
    return (
        f"--{boundary}\r\nContent-Type: {media_type}\r\n"
        f"Content-Range: bytes {start}-{end - 1}/{size}\r\n\r\n"
    ).encode("latin-1")


def multipart_length(
    ranges: tuple[tuple[int, int], ...], boundary: str, media_type: str, size: int
) -> int:
    parts = sum(
        len(multipart_part_header(boundary, media_type, start, end, size)) + (end - start) + 2
        for start, end in ranges
    )
    return parts + len(boundary) + 4
