"""MemoryKeyring: the keyring behaviour with no file, for tests and examples."""

from __future__ import annotations

import os
from collections.abc import Callable

from ._keyring import KeyringBase, check_key_name
from ._keyring_model import (
    DEFAULT_KEY_ID,
    KEK_LEN,
    KeyVersion,
    NamedKey,
    RingMeta,
    _now,
    check_ring_id,
    check_version,
    new_named_key,
    new_ring_id,
)

_NEW = "new"  # the default for ring_id: a fresh random id


class MemoryKeyring(KeyringBase):
    """A keyring whose KEKs live only in this process.

    Like a LocalKeyring it has a random keyring id (``ring_id``), which its
    wraps carry (``default@kr-...``), so two memory keyrings never look
    alike. ``ring_id="kr-..."`` gives a known one; ``ring_id=None`` makes a
    keyring without an id, whose wraps carry the plain name (as before ids).

    >>> import sealdoc
    >>> ring = sealdoc.MemoryKeyring()
    >>> sealdoc.open(sealdoc.seal(b"hi", keys=ring), keys=ring)
    b'hi'
    """

    kind = "memory"

    def __init__(self, *, key_id: str = DEFAULT_KEY_ID, ring_id: str | None = _NEW) -> None:
        check_key_name(key_id)
        if ring_id == _NEW:
            meta = RingMeta(ring_id=new_ring_id(), plain_ids=False)
        elif ring_id is None:
            meta = RingMeta(ring_id=None, plain_ids=True)
        else:
            meta = RingMeta(ring_id=check_ring_id(ring_id), plain_ids=False)
        super().__init__({key_id: new_named_key(_now())}, key_id=key_id, meta=meta)

    @classmethod
    def _from_secret(
        cls,
        secret: bytes,
        *,
        key_id: str = DEFAULT_KEY_ID,
        version: int = 1,
        randbytes: Callable[[int], bytes] = os.urandom,
    ) -> MemoryKeyring:
        """A keyring holding one known KEK, with no keyring id: for test vectors only."""
        if len(secret) != KEK_LEN:
            raise ValueError(f"a KEK is {KEK_LEN} bytes")
        check_version(version)
        ring = cls.__new__(cls)
        named = NamedKey(primary=version, versions={version: KeyVersion(secret=secret)})
        KeyringBase.__init__(ring, {key_id: named}, key_id=key_id, _randbytes=randbytes)
        return ring

    def __repr__(self) -> str:
        return f"MemoryKeyring(key_id={self._key_id!r}, ring_id={self._meta.ring_id!r})"
