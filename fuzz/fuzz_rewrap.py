"""Harness: ``sealdoc.rewrap`` (and ``rewrap_stream``), on raw and on built documents.

Raw input is a document (mutated vectors) rewrapped three ways. Built input
(first byte 0) chooses a plaintext and a rewrap (add, drop, replace, bring
up to date); the rewrapped document must open to the same plaintext under
the keys it should, and not under a key that was dropped.
"""

from __future__ import annotations

import io

from _common import OTHER, RING, X25519, atheris, main, sealdoc

from sealdoc.providers import KeyProvider


def _raw(data: bytes) -> None:
    for how in range(3):
        try:
            if how == 0:
                sealdoc.rewrap(data, keys=RING)
            elif how == 1:
                sealdoc.rewrap(data, keys=[RING, X25519], add=OTHER, verify=True)
            else:
                out = io.BytesIO()
                sealdoc.rewrap_stream(io.BytesIO(data), out, keys=RING, to=OTHER)
        except sealdoc.SealdocError:
            continue


def _built(fdp: atheris.FuzzedDataProvider) -> None:
    plaintext = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 600))
    how = fdp.ConsumeIntInRange(0, 3)
    sealed = sealdoc.seal(plaintext, keys=[RING, X25519], segment_size=64)
    readers: list[KeyProvider]
    dropped: list[KeyProvider]
    if how == 0:
        new = sealdoc.rewrap(sealed, keys=RING, add=OTHER)
        readers, dropped = [RING, X25519, OTHER], []
    elif how == 1:
        new = sealdoc.rewrap(sealed, keys=RING, drop=X25519)
        readers, dropped = [RING], [X25519]
    elif how == 2:
        new = sealdoc.rewrap(sealed, keys=X25519, to=OTHER)
        readers, dropped = [OTHER], [RING, X25519]
    else:
        new = sealdoc.rewrap(sealed, keys=RING)
        assert new == sealed, "a current document changed on bring-up-to-date"
        readers, dropped = [RING, X25519], []
    assert new[-len(plaintext) - 16 :] == sealed[-len(plaintext) - 16 :], "the body changed"
    for key in readers:
        assert sealdoc.open(new, keys=key) == plaintext
    for key in dropped:
        try:
            sealdoc.open(new, keys=key)
        except sealdoc.DecryptionError:
            continue
        raise AssertionError("a dropped key still opens the document")


def test(data: bytes) -> None:
    if data[:1] == b"\x00":
        _built(atheris.FuzzedDataProvider(data[1:]))
    else:
        _raw(data)


if __name__ == "__main__":
    main(test)
