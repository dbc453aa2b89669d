"""Harness: the header parser (format.md section 3), on raw bytes.

Beyond the invariant it checks that every header the parser accepts has
exactly one encoding: re-encoding the parsed fields gives the same bytes.
"""

from __future__ import annotations

import io

from _common import atheris, main, sealdoc

with atheris.instrument_imports(include=["sealdoc"]):
    from sealdoc import _format as fmt
    from sealdoc._reader import read_header


def test(data: bytes) -> None:
    try:
        parsed = fmt.parse_header(data)
    except sealdoc.FormatError:
        parsed = None
    if parsed is not None:
        again = fmt.build_unsigned_header(parsed.core.encode(), parsed.wrapped_keys)
        assert again + parsed.mac == parsed.raw, "a parsed header re-encodes differently"
        assert sealdoc.inspect(data).header_length == len(parsed.raw)
    # The stream parser must agree with the bytes parser.
    try:
        streamed = read_header(io.BytesIO(data))
    except sealdoc.FormatError:
        assert parsed is None, "the stream parser refused a header the bytes parser took"
        return
    assert parsed is not None
    assert streamed.raw == parsed.raw


if __name__ == "__main__":
    main(test)
