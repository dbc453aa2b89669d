"""A worker pool fed by a listing as it streams: work starts before the listing ends.

The lister (the calling thread) hands items to ``workers`` threads through a
bounded window, so memory does not grow with the store, and stops handing
them out once ``stop`` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_pool(
    items: Iterable[T],
    work: Callable[[T], None],
    *,
    workers: int,
    stop: threading.Event | None,
    admit: Callable[[T], bool] = lambda _: True,
) -> bool:
    """Run ``work`` on every admitted item; True if ``stop`` cut the listing short.

    ``admit`` runs in the lister's thread, in listing order, before the item
    is queued; returning False means it was dealt with there (resumed).
    ``work`` must not raise: it records its own outcome. The first error it
    does raise is re-raised here once the pool is drained.
    """
    window = threading.BoundedSemaphore(workers * 2 + 4)
    errors: list[BaseException] = []

    def done(future: Future[None]) -> None:
        window.release()
        exc = future.exception()
        if exc is not None:
            errors.append(exc)

    interrupted = False
    with ThreadPoolExecutor(workers, thread_name_prefix="sealdoc-bulk") as pool:
        for item in items:
            if (stop is not None and stop.is_set()) or errors:
                interrupted = True
                break
            if not admit(item):
                continue
            while not window.acquire(timeout=0.2):
                if stop is not None and stop.is_set():
                    break
            else:
                pool.submit(work, item).add_done_callback(done)
                continue
            work(item)  # stop was set while it waited for room: work abandons it at once
            interrupted = True
            break
    if errors:
        raise errors[0]
    return interrupted or (stop is not None and stop.is_set())
