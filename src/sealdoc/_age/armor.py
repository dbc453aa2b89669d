"""age's ASCII armor (C2SP age, "ASCII armor"): strict PEM, label AGE ENCRYPTED FILE.

Reading accepts LF or CRLF and whitespace around the block, nothing else:
64-column lines, a last line of 1 to 64 columns, canonical padded base64,
no PEM headers. Both directions stream, one line at a time.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import BinaryIO

from ..exceptions import FormatError

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_LINE_BYTES = _COLUMNS * 3 // 4
_B64_PADDED = re.compile(rb"[A-Za-z0-9+/]*={0,2}\Z")
_SPACE = b" \t\r\n"


class ArmorWriter:
    """A writable stream that armors what is written to it into ``dst``."""

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._pending = bytearray()
        dst.write(BEGIN + b"\n")

    def write(self, data: bytes) -> int:
        self._pending += data
        whole = len(self._pending) // _LINE_BYTES * _LINE_BYTES
        if whole:
            block = base64.b64encode(bytes(self._pending[:whole]))
            self._dst.write(
                b"".join(block[i : i + _COLUMNS] + b"\n" for i in range(0, len(block), _COLUMNS))
            )
            del self._pending[:whole]
        return len(data)

    def close(self) -> None:
        if self._pending:
            self._dst.write(base64.b64encode(bytes(self._pending)) + b"\n")
        self._dst.write(END + b"\n")


class ArmorReader:
    """A readable stream of the bytes armored in ``src`` (from its first byte)."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._buffer = bytearray()
        self._done = False
        self._ended_short = False
        self._seen_data = False
        first = self._next_line(leading=True)
        if first != BEGIN:
            raise FormatError("age armor: no '-----BEGIN AGE ENCRYPTED FILE-----' line")

    def _next_line(self, *, leading: bool = False) -> bytes:
        while True:
            raw = self._src.readline(_COLUMNS + 3)
            if not raw:
                raise FormatError("age armor: no END line (cut short?)")
            if not raw.endswith(b"\n") and len(raw) > _COLUMNS + 1:
                raise FormatError("age armor: a line longer than 64 columns")
            line = raw[:-2] if raw.endswith(b"\r\n") else raw.rstrip(b"\n")
            if leading and not line.strip(_SPACE):
                continue  # whitespace before the block
            if leading:
                line = line.lstrip(_SPACE)
            if b"\r" in line:
                raise FormatError("age armor: a stray carriage return")
            return line

    def _fill(self) -> None:
        line = self._next_line()
        if line == END:
            if not self._seen_data:
                raise FormatError("age armor: an empty armored file")
            self._done = True
            self._only_space_follows()
            return
        if self._ended_short:
            raise FormatError("age armor: a short line before the last one")
        if not line or len(line) > _COLUMNS or not _B64_PADDED.match(line):
            raise FormatError("age armor: a line that is not 1 to 64 base64 columns")
        if len(line) < _COLUMNS:
            self._ended_short = True
        try:
            raw = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise FormatError("age armor: invalid base64") from None
        if base64.b64encode(raw) != line:
            raise FormatError("age armor: non-canonical base64")
        if b"=" in line:  # padding ends the data, whatever the line's length
            self._ended_short = True
        self._seen_data = True
        self._buffer += raw

    def _only_space_follows(self) -> None:
        """Whitespace may follow the END line (a bounded amount); nothing else."""
        for _ in range(64):
            rest = self._src.read(1024)
            if not rest:
                return
            if rest.strip(_SPACE):
                break
        raise FormatError("age armor: data after the END line")

    def readline(self, limit: int = -1) -> bytes:
        while not self._done and b"\n" not in self._buffer[: limit if limit > 0 else None]:
            if limit > 0 and len(self._buffer) >= limit:
                break
            self._fill()
        end = self._buffer.find(b"\n")
        n = len(self._buffer) if end < 0 else end + 1
        if limit > 0:
            n = min(n, limit)
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buffer) < n):
            self._fill()
        n = len(self._buffer) if n < 0 else min(n, len(self._buffer))
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out
