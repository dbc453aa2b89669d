"""The bounded thread pool the async face offloads blocking work to.

Sync key providers (a keyring file, KMS through botocore, PKCS#11) and the
segment crypto of large inputs run here, never on the event loop:
cryptography releases the GIL for AEAD inputs of 2 KiB and more, so the loop
keeps answering while a 100 MiB document is sealed or opened.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from .. import _format as fmt

_P = ParamSpec("_P")
_T = TypeVar("_T")

# Up to this many bytes a segment run is opened or sealed on the loop itself:
# a thread hop costs about as much CPU as the AEAD of one default segment
# (80-100 us against 100-120 us for 256 KiB here), and stalls the loop far
# less than the 10 ms allowed. One whole default segment with its tag fits:
# a 16 KiB read inside one is then not sent to a thread (docs/performance.md).
INLINE_CRYPTO = fmt.DEFAULT_SEGMENT_SIZE + fmt.TAG_LEN

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def default_pool() -> ThreadPoolExecutor:
    """One process-wide pool, bounded like asyncio's default (at most 32 threads)."""
    global _pool  # noqa: PLW0603 - created on first use, then shared
    with _lock:
        if _pool is None:
            workers = min(32, (os.cpu_count() or 1) + 4)
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="sealdoc-aio")
        return _pool


async def offload(
    pool: ThreadPoolExecutor | None, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """``fn(*args, **kwargs)`` in the pool; context variables (audit sinks) go along."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(pool or default_pool(), call)
