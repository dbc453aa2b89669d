"""Property tests: round trips at every boundary, random access, every single-bit flip."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sealdoc
from sealdoc import MemoryKeyring, SealdocError, Suite

RING = MemoryKeyring()


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, int]:
    segment_size = draw(st.sampled_from([64, 65, 100, 128, 1000]))
    segments = draw(st.integers(0, 6))
    # lengths cluster around segment boundaries, where off-by-one bugs live
    delta = draw(st.integers(-2, 2))
    length = max(0, segments * segment_size + delta)
    length = draw(st.one_of(st.just(length), st.integers(0, 7 * segment_size)))
    data = draw(st.binary(min_size=length, max_size=length))
    return data, segment_size


@given(documents(), st.sampled_from(list(Suite)))
def test_round_trip_bytes_and_streams(doc: tuple[bytes, int], suite: Suite) -> None:
    data, segment_size = doc
    sealed = sealdoc.seal(data, keys=RING, segment_size=segment_size, suite=suite)
    assert sealdoc.open(sealed, keys=RING) == data
    out = io.BytesIO()
    sealdoc.seal_stream(io.BytesIO(data), out, keys=RING, segment_size=segment_size, suite=suite)
    assert len(out.getvalue()) == len(sealed)
    assert sealdoc.open(out.getvalue(), keys=RING) == data
    assert sealdoc.open_stream(io.BytesIO(sealed), keys=RING).read() == data


@given(documents(), st.lists(st.tuples(st.integers(0, 8000), st.integers(0, 3000)), max_size=8))
def test_seek_and_read_equals_slicing(doc: tuple[bytes, int], reads: list[tuple[int, int]]) -> None:
    data, segment_size = doc
    sealed = sealdoc.seal(data, keys=RING, segment_size=segment_size)
    reader = sealdoc.open_stream(io.BytesIO(sealed), keys=RING)
    for offset, size in reads:
        reader.seek(offset)
        chunk = reader.read(size)
        assert chunk == data[offset : offset + size]
        assert reader.tell() == offset + len(chunk)


@pytest.mark.parametrize("suite", list(Suite))
def test_every_single_bit_flip_is_rejected(suite: Suite) -> None:
    """Exhaustive: every bit of a multi-segment document under 1 KiB."""
    sealed = sealdoc.seal(
        bytes(range(200)),
        keys=RING,
        context={"t": "a"},
        binding={"c": "1"},
        segment_size=64,
        suite=suite,
    )
    assert len(sealed) < 1024
    flipped = bytearray(sealed)
    for i in range(len(sealed)):
        for bit in range(8):
            flipped[i] ^= 1 << bit
            with pytest.raises(SealdocError):
                sealdoc.open(bytes(flipped), keys=RING, binding={"c": "1"})
            flipped[i] ^= 1 << bit
    assert sealdoc.open(bytes(flipped), keys=RING, binding={"c": "1"}) == bytes(range(200))


@settings(max_examples=50)
@given(st.binary(max_size=300), st.integers(0, 2**16))
def test_every_single_bit_flip_is_rejected_by_the_stream_reader(data: bytes, where: int) -> None:
    sealed = bytearray(sealdoc.seal(data, keys=RING, segment_size=64))
    i = where % (len(sealed) * 8)
    sealed[i // 8] ^= 1 << (i % 8)
    with pytest.raises(SealdocError):
        sealdoc.open_stream(io.BytesIO(bytes(sealed)), keys=RING).read()
