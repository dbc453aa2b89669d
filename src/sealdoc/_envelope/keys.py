"""What a ``keys=`` argument may be, and turning it into providers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from .._uri import KeysOrUris, key_from_uri
from ..providers._base import KeyProvider

#: What every ``keys=``, ``to=`` and ``add=`` takes: a provider, a key URI, or a mix of them.
Keys = KeysOrUris

# Types already seen to have wrap/unwrap/handles. A runtime_checkable
# Protocol isinstance() costs about 4 us, as much as sealing 1 KiB.
_PROVIDER_TYPES: set[type] = set()
_PROVIDER_METHODS = ("wrap", "unwrap", "handles")


def is_provider(obj: object) -> bool:
    """Whether ``obj`` has the ``KeyProvider`` methods (remembered per type)."""
    kind = type(obj)
    if kind in _PROVIDER_TYPES:
        return True
    if all(callable(getattr(obj, name, None)) for name in _PROVIDER_METHODS):
        _PROVIDER_TYPES.add(kind)
        return True
    return False


def providers_of(keys: object) -> tuple[KeyProvider, ...]:
    """``keys`` as providers: the one place key-URI strings are resolved (``key_from_uri``).

    A str is always a key URI here; labels such as ``local:ring#2`` (``drop=``)
    never come this way.
    """
    if is_provider(keys):
        return (cast(KeyProvider, keys),)
    if isinstance(keys, str):
        return (key_from_uri(keys),)
    if isinstance(keys, Sequence) and not isinstance(keys, bytes):
        result = tuple(key_from_uri(k) if isinstance(k, str) else k for k in keys)
        if not result:
            raise ValueError("keys is empty: give at least one key provider or key URI")
        for p in result:
            if not is_provider(p):
                raise TypeError(
                    "keys must be a key provider, a key URI or a sequence of them; got a "
                    f"{type(p).__name__} in the sequence"
                )
        return cast(tuple[KeyProvider, ...], result)
    raise TypeError(
        f"keys must be a key provider, a key URI or a sequence of them, not {type(keys).__name__}"
    )
