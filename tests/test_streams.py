"""seal_stream and open_stream: constant memory, pipes, random access."""

from __future__ import annotations

import io
import os
import threading

import pytest

import sealdoc
from sealdoc import DecryptionError, MemoryKeyring

from .test_envelope import payload

SEG = 256


class OneWay(io.RawIOBase):
    """An unseekable stream that hands out at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int = 97) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._step, len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 5 * SEG, 5 * SEG + 3, 3_000_000])
def test_stream_round_trip_matches_bytes_api(ring: MemoryKeyring, size: int) -> None:
    data = payload(size)
    out = io.BytesIO()
    written = sealdoc.seal_stream(io.BytesIO(data), out, keys=ring, segment_size=SEG)
    sealed = out.getvalue()
    assert written == len(sealed)
    assert sealdoc.open(sealed, keys=ring) == data
    reader = sealdoc.open_stream(io.BytesIO(sealed), keys=ring)
    assert reader.seekable()
    assert reader.length == size
    assert reader.read() == data
    unseekable = sealdoc.open_stream(OneWay(sealed), keys=ring)
    assert not unseekable.seekable()
    assert unseekable.read() == data


def test_seal_stream_into_a_pipe(ring: MemoryKeyring) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    read_fd, write_fd = os.pipe()
    received: list[bytes] = []

    def drain() -> None:
        with os.fdopen(read_fd, "rb") as fh:
            received.append(fh.read())

    thread = threading.Thread(target=drain)
    thread.start()
    with os.fdopen(write_fd, "wb", buffering=0) as pipe:
        sealdoc.seal_stream(io.BytesIO(data), pipe, keys=ring)
    thread.join()
    assert sealdoc.open(received[0], keys=ring) == data


def test_open_stream_from_a_pipe(ring: MemoryKeyring) -> None:
    data = os.urandom(700_000)
    sealed = sealdoc.seal(data, keys=ring, segment_size=4096)
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(sealed)

    thread = threading.Thread(target=feed)
    thread.start()
    with os.fdopen(read_fd, "rb") as pipe:
        reader = sealdoc.open_stream(pipe, keys=ring)
        chunks = []
        while chunk := reader.read(5000):
            chunks.append(chunk)
    thread.join()
    assert b"".join(chunks) == data


def test_seek_and_read_in_a_file(ring: MemoryKeyring, tmp_path: object) -> None:
    data = payload(10 * SEG + 7)
    path = os.path.join(str(tmp_path), "doc.sdoc")
    with open(path, "wb") as out:
        sealdoc.seal_stream(io.BytesIO(data), out, keys=ring, segment_size=SEG)
    with open(path, "rb") as src, sealdoc.open_stream(src, keys=ring) as reader:
        assert reader.seek(3 * SEG + 5) == 3 * SEG + 5
        assert reader.read(SEG) == data[3 * SEG + 5 : 4 * SEG + 5]
        assert reader.seek(-10, os.SEEK_END) == len(data) - 10
        assert reader.read() == data[-10:]
        assert reader.read() == b""
        reader.seek(0)
        assert reader.read(1) == data[:1]
        reader.seek(5, os.SEEK_CUR)
        assert reader.tell() == 6
        assert reader.read(3) == data[6:9]
        reader.seek(len(data) + 100)
        assert reader.read(10) == b""


class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n: int | None = -1) -> bytes:
        chunk = super().read(n)
        self.bytes_read += len(chunk)
        return chunk


def test_random_access_reads_only_the_segments_it_needs(ring: MemoryKeyring) -> None:
    data = payload(1000 * SEG)
    sealed = sealdoc.seal(data, keys=ring, segment_size=SEG)
    src = CountingReader(sealed)
    reader = sealdoc.open_stream(src, keys=ring)
    header = src.bytes_read
    assert header == sealdoc.inspect(sealed).header_length
    reader.seek(500 * SEG + 10)
    assert reader.read(100) == data[500 * SEG + 10 : 500 * SEG + 110]
    assert src.bytes_read - header == SEG + 16  # one segment, nothing else
    assert reader.length == len(data)  # authenticates the last segment
    assert src.bytes_read - header == 2 * (SEG + 16)


def test_truncation_at_a_segment_boundary_is_caught(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(payload(4 * SEG), keys=ring, segment_size=SEG)
    truncated = sealed[: len(sealed) - (SEG + 16)]
    for ask in (
        lambda r: r.length,
        lambda r: r.seek(-1, os.SEEK_END),
        lambda r: r.read(),
        lambda r: (r.seek(2 * SEG), r.read(SEG)),
    ):
        reader = sealdoc.open_stream(io.BytesIO(truncated), keys=ring)
        assert reader.read(SEG) == payload(SEG)  # the middle is authentic
        with pytest.raises(DecryptionError):
            ask(reader)
    reader = sealdoc.open_stream(OneWay(truncated), keys=ring)
    first = reader.read(SEG)
    assert first == payload(SEG)  # earlier segments are authentic and released
    with pytest.raises(DecryptionError):
        reader.read()


def test_extension_is_caught(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(payload(2 * SEG), keys=ring, segment_size=SEG)
    extended = sealed + os.urandom(SEG + 16)
    with pytest.raises(DecryptionError):
        sealdoc.open_stream(io.BytesIO(extended), keys=ring).read()
    with pytest.raises(DecryptionError):
        _ = sealdoc.open_stream(io.BytesIO(extended), keys=ring).length
    with pytest.raises(DecryptionError):
        sealdoc.open_stream(OneWay(extended), keys=ring).read()


def test_a_tampered_segment_releases_nothing_of_it(ring: MemoryKeyring) -> None:
    data = payload(3 * SEG)
    sealed = bytearray(sealdoc.seal(data, keys=ring, segment_size=SEG))
    header_len = sealdoc.inspect(bytes(sealed)).header_length
    sealed[header_len + (SEG + 16) + 3] ^= 1  # segment 1
    reader = sealdoc.open_stream(io.BytesIO(bytes(sealed)), keys=ring)
    buf = bytearray(3 * SEG)
    with pytest.raises(DecryptionError):
        reader.readinto(buf)
    assert bytes(buf[SEG:]) == bytes(2 * SEG)  # nothing of segment 1 or 2 was written
    reader.seek(0)
    assert reader.read(SEG) == data[:SEG]


def test_open_stream_starts_at_the_current_position(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"inside a container", keys=ring)
    src = io.BytesIO(b"PREFIX" + sealed)
    src.seek(6)
    assert sealdoc.open_stream(src, keys=ring).read() == b"inside a container"


def test_inspect_a_stream_restores_its_position(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"abc", keys=ring, context={"k": "v"})
    src = io.BytesIO(sealed)
    header = sealdoc.inspect(src)
    assert header.context == {"k": "v"}
    assert header.plaintext_length == 3
    assert src.tell() == 0
    assert sealdoc.inspect(OneWay(sealed)).plaintext_length is None


def test_closed_reader_refuses_reads(ring: MemoryKeyring) -> None:
    reader = sealdoc.open_stream(io.BytesIO(sealdoc.seal(b"abc", keys=ring)), keys=ring)
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read()


def test_reader_works_with_buffered_and_text_wrappers(ring: MemoryKeyring) -> None:
    text = "Kontoauszug für Frau Müller\n" * 1000
    sealed = sealdoc.seal(text.encode(), keys=ring, segment_size=SEG)
    reader = sealdoc.open_stream(io.BytesIO(sealed), keys=ring)
    wrapped = io.TextIOWrapper(io.BufferedReader(reader), encoding="utf-8")
    assert wrapped.readline() == "Kontoauszug für Frau Müller\n"
    assert wrapped.read() == text[len(text.splitlines(True)[0]) :]
