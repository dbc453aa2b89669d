"""Harness: ``sealdoc.sealed_from_html``, the reader of self-decrypting pages.

A page is untrusted text: whatever it holds, the reader returns the sealed
document inside (which must then parse or be refused) or raises FormatError.
"""

from __future__ import annotations

from _common import main, sealdoc


def test(data: bytes) -> None:
    sealed = sealdoc.sealed_from_html(data)
    assert sealed.startswith(b"SDOC")
    sealdoc.inspect(sealed)


if __name__ == "__main__":
    main(test)
