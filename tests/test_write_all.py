"""The one write loop: short writes continue, a stream that takes nothing fails clearly."""

from __future__ import annotations

import array
import io
from collections.abc import Callable

import pytest

import sealdoc
from sealdoc import MemoryKeyring, StoreError
from sealdoc._buffers import write_all
from sealdoc._envelope import new_sealer
from sealdoc._writer import SealedWriter

SEG = 256
DATA = bytes(range(256)) * 11  # several segments and a partial one


class Trickle(io.RawIOBase):
    """A blocking stream that takes at most ``step`` bytes per write, as a pipe may."""

    def __init__(self, step: int = 3) -> None:
        self.step = step
        self.got = bytearray()
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        self.calls += 1
        view = memoryview(b).cast("B")  # type: ignore[arg-type]
        n = min(self.step, len(view))
        self.got += view[:n]
        return n


class Stuck(Trickle):
    """A stream that accepts ``before`` bytes, then 0 bytes for every write."""

    def __init__(self, before: int = 0) -> None:
        super().__init__(step=before)
        self.left = before

    def write(self, b: object) -> int:
        self.calls += 1
        view = memoryview(b).cast("B")  # type: ignore[arg-type]
        n = min(self.left, len(view))
        self.got += view[:n]
        self.left -= n
        return n


class Sink:
    """A plain object whose write returns nothing, as many hand-written sinks do."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, b: memoryview) -> None:
        self.parts.append(bytes(b))


def test_a_short_write_continues_until_every_byte_is_written() -> None:
    dst = Trickle(step=3)
    assert write_all(dst, b"0123456789") == 10
    assert bytes(dst.got) == b"0123456789"
    assert dst.calls == 4


def test_a_write_returning_none_took_everything() -> None:
    sink = Sink()
    assert write_all(sink, b"abc") == 3
    assert sink.parts == [b"abc"]


def test_an_empty_buffer_calls_write_not_at_all() -> None:
    dst = Stuck()
    assert write_all(dst, b"") == 0
    assert dst.calls == 0


def test_a_view_of_wider_items_is_written_and_counted_in_bytes() -> None:
    dst = Trickle(step=5)
    data = array.array("I", [1, 2, 3])
    assert write_all(dst, memoryview(data)) == data.itemsize * 3
    assert bytes(dst.got) == data.tobytes()


@pytest.mark.parametrize("before", [0, 7])
def test_a_stream_that_accepts_no_bytes_raises_a_sealdoc_error_at_once(before: int) -> None:
    dst = Stuck(before)
    with pytest.raises(StoreError, match=rf"accepted no bytes \({before} of 20 written\)") as info:
        write_all(dst, b"x" * 20)
    assert isinstance(info.value, sealdoc.SealdocError)
    assert isinstance(info.value, OSError)  # callers catching OSError still do
    assert "incomplete" in str(info.value)
    assert dst.calls == (1 if before == 0 else 2)  # no loop: the first 0 ends it


def test_seal_stream_through_a_trickling_stream_opens(ring: MemoryKeyring) -> None:
    dst = Trickle(step=7)
    written = sealdoc.seal_stream(io.BytesIO(DATA), dst, keys=ring, segment_size=SEG)
    assert written == len(dst.got)
    assert sealdoc.open(bytes(dst.got), keys=ring) == DATA


def test_seal_stream_into_a_stuck_stream_raises_store_error(ring: MemoryKeyring) -> None:
    with pytest.raises(StoreError, match="accepted no bytes"):
        sealdoc.seal_stream(io.BytesIO(DATA), Stuck(before=10), keys=ring, segment_size=SEG)


def test_rewrap_and_rotate_streams_write_through_short_writes(ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(DATA, keys=ring, segment_size=SEG)
    for verb in (sealdoc.rewrap_stream, sealdoc.rotate_stream):
        dst = Trickle(step=11)
        verb(io.BytesIO(sealed), dst, keys=ring)
        assert sealdoc.open(bytes(dst.got), keys=ring) == DATA


@pytest.mark.parametrize("verb", [sealdoc.rewrap_stream, sealdoc.rotate_stream])
def test_rewrap_and_rotate_streams_refuse_a_stuck_stream(ring: MemoryKeyring, verb: object) -> None:
    sealed = sealdoc.seal(DATA, keys=ring, segment_size=SEG)
    with pytest.raises(StoreError, match="accepted no bytes"):
        verb(io.BytesIO(sealed), Stuck(before=0), keys=ring)  # type: ignore[operator]


def _writer(
    ring: MemoryKeyring, dst: object, commit: Callable[[], None] = lambda: None
) -> SealedWriter:
    sealer = new_sealer(
        ring,
        context=None,
        binding=None,
        suite=sealdoc.Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
        segment_size=SEG,
    )
    return SealedWriter(dst, sealer.header, sealer.cipher(), SEG, commit=commit)  # type: ignore[arg-type]


def test_the_sealed_writer_writes_through_short_writes(ring: MemoryKeyring) -> None:
    dst = Trickle(step=5)
    with _writer(ring, dst) as f:
        f.write(DATA)
    assert sealdoc.open(bytes(dst.got), keys=ring) == DATA


def test_the_sealed_writer_refuses_a_stuck_stream_and_commits_nothing(
    ring: MemoryKeyring,
) -> None:
    committed: list[bool] = []
    # the header fits; the first sealed segment does not
    f = _writer(ring, Stuck(before=SEG), commit=lambda: committed.append(True))
    with pytest.raises(StoreError, match="accepted no bytes"):
        f.write(DATA)
    f.discard()
    assert committed == []
