"""Structural types for the arguments sealdoc accepts."""

from __future__ import annotations

from typing import Protocol

BytesLike = bytes | bytearray | memoryview


class ReadableStream(Protocol):
    """Anything with a binary ``read``: a file, a socket file, a pipe, an fsspec file."""

    def read(self, size: int = ..., /) -> bytes | None: ...


class WritableStream(Protocol):
    """Anything with a binary ``write``."""

    def write(self, data: memoryview, /) -> int | None: ...


class SeekableStream(ReadableStream, Protocol):
    def seekable(self) -> bool: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def tell(self) -> int: ...
