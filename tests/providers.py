"""Small key providers the tests share."""

from __future__ import annotations

import sealdoc


class Down:
    """A provider whose service is unreachable."""

    kind = "down"

    def wrap(self, dek: bytes, ad: object) -> sealdoc.WrappedKey:
        raise ConnectionError("connection refused")

    def unwrap(self, wrapped: object, ad: object) -> bytes:
        raise ConnectionError("connection refused")

    def handles(self, wrapped: object) -> bool:
        return False
