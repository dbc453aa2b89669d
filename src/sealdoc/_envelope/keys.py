"""What a ``keys=`` argument may be, and turning it into providers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from .._provider_api import KeyProvider, is_provider
from .._uri import KeysOrUris, key_from_uri

#: What every ``keys=``, ``to=`` and ``add=`` takes: a provider, a key URI, or a mix of them.
Keys = KeysOrUris


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
