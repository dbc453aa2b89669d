"""Harness: ``sealdoc.open_age``, on any bytes (an age file from a partner).

Binary and armored headers, every stanza type with keys that may match
(the CCTV identities, a passphrase) and the STREAM payload. The scrypt work
factor is capped low so that one execution stays fast; the cap itself is a
check before any scrypt runs.
"""

from __future__ import annotations

import atheris
from _common import main

# open_age is imported here, not reached as sealdoc.open_age: sealdoc's public
# names load on first use, and a module first loaded after this block would run
# uninstrumented (the harness then saw 3 edges)
with atheris.instrument_imports(include=["sealdoc"]):
    from sealdoc import open_age
    from sealdoc.providers import HybridIdentity, X25519Identity

# the identities of the CCTV vectors (tests/age_vectors/cctv): seeds reach the unwrap
KEYS = [
    X25519Identity.from_age_string(
        "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
    ),
    HybridIdentity.from_string(
        "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG"
    ),
]


def test(data: bytes) -> None:
    open_age(data, keys=KEYS, passphrase="password", max_work_factor=12)


if __name__ == "__main__":
    main(test)
