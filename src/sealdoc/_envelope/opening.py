"""Opening and inspecting a sealed document, over bytes and streams (docs/usage.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import cast

from .. import _format as fmt
from .._buffers import build_bytes
from .._format import Header, ParsedHeader
from .._provider_api import KeyProvider
from .._reader import SealedReader, read_header
from .._stream import plaintext_length
from .._types import BytesLike, ReadableStream, SeekableStream
from ..exceptions import DecryptionError
from .arguments import as_buffer, checked_map
from .keys import Keys, providers_of
from .unlocking import unlock


def parse_bytes(sealed: object) -> tuple[ParsedHeader, memoryview]:
    """A sealed document in memory: its parsed header and a view of its body."""
    view = as_buffer(sealed, "sealed")
    parsed = fmt.parse_header(view)
    return parsed, view[len(parsed.raw) :]


def open(
    sealed: BytesLike,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> bytes:
    """Open a sealed document; every pair in ``context`` must match the document's."""
    parsed, body = parse_bytes(sealed)
    providers = providers_of(keys)
    size = parsed.core.segment_size
    total = plaintext_length(len(body), size)
    unlocked = unlock(
        parsed, providers, checked_map(context, "context"), checked_map(binding, "binding")
    )
    cipher = unlocked.cipher()

    def fill(out: memoryview) -> None:
        cipher.open_run(0, body, out, size, final=True)

    return build_bytes(total, fill)


def inspect(sealed: BytesLike | ReadableStream) -> Header:
    """Read a document's header without any key. Nothing in it is secret."""
    if isinstance(sealed, bytes | bytearray | memoryview):
        parsed, body = parse_bytes(sealed)
        try:
            length: int | None = plaintext_length(len(body), parsed.core.segment_size)
        except DecryptionError:
            length = None
        return parsed.public(length)
    if not hasattr(sealed, "read"):
        raise TypeError(
            f"inspect() takes bytes or a binary file object, not {type(sealed).__name__}"
        )
    start = tell(sealed)
    parsed = read_header(sealed)
    length = None
    if start is not None:
        seekable = cast(SeekableStream, sealed)
        end = seekable.seek(0, os.SEEK_END)
        try:
            length = plaintext_length(end - start - len(parsed.raw), parsed.core.segment_size)
        except DecryptionError:
            length = None
        seekable.seek(start)
    return parsed.public(length)


def tell(stream: ReadableStream) -> int | None:
    """The stream's position, or None if it cannot seek."""
    try:
        seekable = cast(SeekableStream, stream)
        if not seekable.seekable():
            return None
        return seekable.tell()
    except (AttributeError, OSError, ValueError):
        return None


def open_stream(
    src: ReadableStream,
    *,
    keys: Keys,
    context: Mapping[str, str] | None = None,
    binding: Mapping[str, str] | None = None,
) -> SealedReader:
    """A readable binary file object over the plaintext of a sealed stream.

    Seekable when ``src`` is: ``seek()`` then reads and authenticates only
    the segments it needs. No byte is returned before its segment has been
    authenticated; truncation and extension are detected when the end is
    read (or, on a seekable source, when the length is asked for). ``src``
    is not closed with the reader.
    """
    if not hasattr(src, "read"):
        raise TypeError(f"src must be a readable binary file object, not {type(src).__name__}")
    providers = providers_of(keys)
    ctx = checked_map(context, "context")
    bnd = checked_map(binding, "binding")
    return open_parsed(src, read_header(src), providers, ctx, bnd)


def open_parsed(
    src: ReadableStream,
    parsed: ParsedHeader,
    providers: Sequence[KeyProvider],
    context: Mapping[str, str],
    binding: Mapping[str, str],
) -> SealedReader:
    """open_stream for a source whose header has already been read."""
    cipher = unlock(parsed, providers, context, binding).cipher()
    return SealedReader(src, parsed, cipher)
