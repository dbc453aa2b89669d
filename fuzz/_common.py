"""What every harness shares: the invariant, the keys, and the libFuzzer entry.

The invariant (docs/fuzzing.md): whatever bytes come in, sealdoc either
returns or raises a ``SealdocError`` subclass. Anything else escaping
(IndexError, struct.error, UnicodeDecodeError, RecursionError, MemoryError,
a bare ValueError) is a finding, and atheris reports it as a crash with the
input that caused it. Time and memory are bounded by libFuzzer's
``-timeout`` and ``-rss_limit_mb``, which the runner (fuzz/runner.py) always sets.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

import atheris

# No harness may reach a real service: any AWS client points at a closed port.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "fuzz")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fuzz")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

with atheris.instrument_imports(include=["sealdoc"]):
    import sealdoc

    # sealdoc's public names load on first use (PEP 562): load them all here,
    # or the modules behind them would run uninstrumented
    import sealdoc._public

    # the key-URI schemes' modules load through entry points: import them
    # here so that they are instrumented too
    import sealdoc.providers._aws_kms
    import sealdoc.providers._pkcs11
    import sealdoc.providers._public
    import sealdoc.providers._x25519
    from sealdoc.exceptions import SealdocError
    from sealdoc.providers import KeyProvider, MemoryKeyring, X25519Identity

# The vectors' keys (tests/vectors/*.json): mutated vectors reach the unwrap.
VECTOR_KEK = bytes.fromhex("e4a49e82dc27c64454d706330181404237deda7d098e0dda8f7989039f87ac1f")
RING = MemoryKeyring._from_secret(VECTOR_KEK, key_id="default", version=1)
OTHER = MemoryKeyring(key_id="other")
X25519 = X25519Identity.from_private_bytes(bytes(range(1, 33)))
# Password wraps are left out on purpose: the KDF floors (600,000 PBKDF2
# iterations, Argon2id at 64 MiB) make one execution take a second, so the
# fuzzer would test nothing else. Their payload parser runs before the KDF
# and is reached all the same: a malformed payload is declined without it.
KEYS: list[KeyProvider] = [RING, X25519]


def guarded(test: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """``test`` with the invariant applied: a SealdocError is an expected outcome."""

    def one(data: bytes) -> None:
        with contextlib.suppress(SealdocError):
            test(data)

    return one


def main(test: Callable[[bytes], None]) -> None:
    atheris.Setup(sys.argv, guarded(test))
    atheris.Fuzz()


__all__ = ["KEYS", "OTHER", "RING", "X25519", "atheris", "main", "sealdoc"]
