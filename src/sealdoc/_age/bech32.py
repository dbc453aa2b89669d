"""Bech32 (BIP 173) without its 90-character limit, as age uses it.

age's recipient strings run to 1,900 characters (``age1pq1...``), so the
common bech32 packages, which enforce BIP 173's limit for Bitcoin addresses,
refuse them; ``bech32`` on PyPI (2020) does, and the one fork that lifts the
limit is a single release. The codec is small, and every failure names the
problem (``ValueError``), never an index error from deep inside.
"""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHECKSUM_LEN = 6


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(data: bytes | list[int], src: int, dst: int, *, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    mask = (1 << dst) - 1
    for value in data:
        acc = (acc << src) | value
        bits += src
        while bits >= dst:
            bits -= dst
            out.append((acc >> bits) & mask)
    if pad:
        if bits:
            out.append((acc << (dst - bits)) & mask)
    elif bits >= src or (acc << (dst - bits)) & mask:
        raise ValueError("its padding is not canonical")
    return out


def encode(hrp: str, data: bytes) -> str:
    """``hrp`` (lower case) + ``1`` + data + checksum, all lower case."""
    words = _regroup(data, 8, 5, pad=True)
    check = _polymod(_hrp_expand(hrp) + words + [0] * _CHECKSUM_LEN) ^ 1
    checksum = [(check >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LEN)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)


def decode(text: str) -> tuple[str, bytes]:
    """(human-readable part in lower case, data); ValueError naming the fault."""
    if not text.isascii():
        raise ValueError("it holds characters outside ASCII")
    if text.lower() != text and text.upper() != text:
        raise ValueError("it mixes upper and lower case")
    lowered = text.lower()
    pos = lowered.rfind("1")
    if pos < 1:
        raise ValueError("it has no human-readable part and separator '1'")
    if len(lowered) - pos - 1 < _CHECKSUM_LEN:
        raise ValueError("it is too short to hold a checksum (truncated?)")
    hrp, rest = lowered[:pos], lowered[pos + 1 :]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("its human-readable part has a character outside 33-126")
    try:
        words = [_VALUES[c] for c in rest]
    except KeyError as exc:
        raise ValueError(f"it has a character outside bech32's alphabet: {exc.args[0]!r}") from None
    if _polymod(_hrp_expand(hrp) + words) != 1:
        raise ValueError("its checksum is wrong (a typo, or truncated)")
    return hrp, bytes(_regroup(words[:-_CHECKSUM_LEN], 5, 8, pad=False))
