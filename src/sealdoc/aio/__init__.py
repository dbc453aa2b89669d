"""sealdoc for asyncio services: the same rules, an async face (docs/async.md).

``AsyncVault`` is :class:`sealdoc.Vault` for an event loop; ``seal_stream``
and ``open_stream`` are the stream verbs over async byte streams. Nothing
here blocks the loop for long: key providers and the crypto of large inputs
run in a bounded thread pool. Imported on demand (``import sealdoc.aio``).
"""

from __future__ import annotations

from ._reader import AsyncReader
from ._streams import AsyncStreamReader, open_stream, seal_stream
from ._vault import AsyncVault

__all__ = ["AsyncReader", "AsyncStreamReader", "AsyncVault", "open_stream", "seal_stream"]
