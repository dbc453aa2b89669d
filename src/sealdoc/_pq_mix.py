"""The mixing rule: a copy for a post-quantum recipient carries no classical public-key wrap.

A copy wrapped for both a hybrid and an X25519 recipient opens with either,
so it is only as strong as X25519 against a quantum adversary (age's rule,
C2SP age: "SHOULD NOT be encrypted to both"). Symmetric wraps (keyring,
KMS, HSM, password) are AES-256 and may stay. A caller who knows what the
mix costs (a migration window) says so with ``allow_classical=True``.
"""

from __future__ import annotations

from collections.abc import Iterable

POST_QUANTUM = frozenset({"mlkem768x25519"})
CLASSICAL = frozenset({"x25519"})


def check_mix(kinds: Iterable[str], *, allow_classical: bool) -> None:
    """ValueError if ``kinds`` mixes a post-quantum and a classical public-key wrap."""
    found = set(kinds)
    if allow_classical or not (found & POST_QUANTUM and found & CLASSICAL):
        return
    raise ValueError(
        "a copy for a post-quantum (age1pq1) recipient would also carry an X25519 wrap, "
        "which makes it only as strong as X25519: drop the X25519 wrap "
        "(--drop x25519:device), or pass allow_classical=True (--allow-classical)"
    )
