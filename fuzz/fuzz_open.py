"""Harness: ``sealdoc.open`` and ``open_stream``, on seekable and non-seekable sources.

Two kinds of input, chosen by the first byte:

* raw: the bytes are a document (mutated vectors); opened three ways, and
  the three must agree (same plaintext, or all refuse);
* built: the bytes choose a plaintext, segment size, suite and context; the
  harness seals them under the vector key, applies one chosen change to the
  sealed bytes (truncate, extend, flip a bit, swap two segments) and opens
  the result. Unchanged, it must give back the plaintext; changed, it must
  refuse. The MAC stops a mutated raw document at the header, so this is how
  the fuzzer reaches the segment logic.
"""

from __future__ import annotations

import io

from _common import KEYS, RING, atheris, main, sealdoc


class Pipe(io.RawIOBase):
    """A source that can only be read forward, in small uneven pieces, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0
        self._step = 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self._step = self._step * 7 % 4093 + 1
        n = min(len(buffer), self._step, len(self._data) - self._at)
        buffer[:n] = self._data[self._at : self._at + n]
        self._at += n
        return n


def _three_ways(sealed: bytes, **kwargs: object) -> bytes | None:
    outcomes: list[bytes | None] = []
    for how in ("bytes", "seekable", "pipe"):
        try:
            if how == "bytes":
                outcomes.append(sealdoc.open(sealed, keys=KEYS, **kwargs))  # type: ignore[arg-type]
            else:
                src = io.BytesIO(sealed) if how == "seekable" else Pipe(sealed)
                with sealdoc.open_stream(src, keys=KEYS, **kwargs) as reader:  # type: ignore[arg-type]
                    outcomes.append(reader.read())
        except sealdoc.SealdocError:
            outcomes.append(None)
    assert outcomes[0] == outcomes[1] == outcomes[2], "the three openers disagree"
    return outcomes[0]


def _seekable_reads(sealed: bytes, fdp: atheris.FuzzedDataProvider) -> None:
    """Random seeks and reads: each read is a slice of the plaintext or a refusal."""
    with sealdoc.open_stream(io.BytesIO(sealed), keys=KEYS) as reader:
        for _ in range(fdp.ConsumeIntInRange(0, 4)):
            reader.seek(fdp.ConsumeIntInRange(0, 1 << 20), fdp.ConsumeIntInRange(0, 2))
            reader.read(fdp.ConsumeIntInRange(-1, 1 << 16))


def _built(fdp: atheris.FuzzedDataProvider) -> None:
    suite = fdp.PickValueInList(list(sealdoc.Suite))
    size = fdp.ConsumeIntInRange(64, 300)
    context = {}
    if fdp.ConsumeBool():
        context[fdp.ConsumeUnicodeNoSurrogates(8) or "k"] = fdp.ConsumeUnicodeNoSurrogates(16)
    change = fdp.ConsumeIntInRange(0, 4)
    where = fdp.ConsumeIntInRange(0, 1 << 16)
    plaintext = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 2000))
    try:
        sealed = bytearray(
            sealdoc.seal(plaintext, keys=RING, context=context, suite=suite, segment_size=size)
        )
    except ValueError:  # a context the caller may not give: refused before sealing
        return
    header_len = int.from_bytes(sealed[5:9], "big")
    body = len(sealed) - header_len
    if change == 1 and where % (body + 1) < body:
        del sealed[header_len + where % (body + 1) :]
    elif change == 2:
        sealed += bytes([where & 255]) * (1 + where % 40)
    elif change == 3:
        sealed[where % len(sealed)] ^= 1 << (where >> 8) % 8
    elif change == 4 and body > 2 * (size + 16):
        a = sealed[header_len : header_len + size + 16]
        b = sealed[header_len + size + 16 : header_len + 2 * (size + 16)]
        sealed[header_len : header_len + 2 * (size + 16)] = b + a
    else:
        change = 0
    if change == 0 and sealed and fdp.ConsumeBool():
        _seekable_reads(bytes(sealed), fdp)
    got = _three_ways(bytes(sealed), context=context)
    if change == 0:
        assert got == plaintext, "an unchanged document did not open to its plaintext"
    else:
        assert got is None, "a changed document opened"


def test(data: bytes) -> None:
    if data[:1] == b"\x00":
        _built(atheris.FuzzedDataProvider(data[1:]))
        return
    opened = _three_ways(data)
    if opened is None and len(data) > 11 and data[11] & 1:  # the binding flag
        _three_ways(data, binding={"customer": "C-1029"})
    if opened is not None:
        _seekable_reads(data, atheris.FuzzedDataProvider(data[-16:]))


if __name__ == "__main__":
    main(test)
