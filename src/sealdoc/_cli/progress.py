"""Progress of a store job: click's progress bar on a terminal, a log line otherwise.

click's ``progressbar`` draws the bar, the percentage and the ETA; what is
left here is the part it does not do: a job reports ``(done, total)`` from
worker threads, with ``total`` growing while the store is still being
listed, and a log (no terminal) wants a line every few seconds, not a bar.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import click

LOG_EVERY_S = 5.0


class Progress(Protocol):
    def __call__(self, done: int, total: int) -> None: ...


@contextmanager
def progress(label: str) -> Iterator[Progress]:
    """A ``progress(done, total)`` callback for the length of the block."""
    if sys.stderr.isatty():
        with click.progressbar(
            length=0, label=label, file=sys.stderr, show_eta=True, show_percent=True, show_pos=True
        ) as bar:
            yield _Bar(bar)
    else:
        log = _Log(label)
        yield log
        log.finish()


class _Bar:
    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:  # the job calls from its worker threads
            self._bar.length = max(total, 1)
            self._bar.update(done - self._bar.pos)


class _Log:
    """A line every LOG_EVERY_S seconds, and the last count when the job ends."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._shown: tuple[int, int] | None = None

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            self._seen = (done, total)
            now = time.monotonic()
            if now - self._last < LOG_EVERY_S:
                return
            self._last = now
            self._shown = self._seen
        click.echo(f"{self._label}: {done}/{total} documents", err=True)

    def finish(self) -> None:
        with self._lock:
            last = self._seen if self._seen != self._shown else None
        if last is not None:
            click.echo(f"{self._label}: {last[0]}/{last[1]} documents", err=True)


__all__ = ["Progress", "progress"]
