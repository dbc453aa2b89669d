"""SIGINT and SIGTERM during a store job: stop cleanly, then exit 130 or 143.

The first signal sets the job's ``stop`` event: the job takes no new
document, finishes the ones in flight, flushes its checkpoint and returns
its report, which the command prints with a resume hint. A second signal
while it is stopping gives up at once (Ctrl-C twice), as an operator
expects.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from . import exit_codes

_CODES: dict[int, int] = {
    int(signal.SIGINT): exit_codes.INTERRUPTED_SIGINT,
    int(signal.SIGTERM): exit_codes.INTERRUPTED_SIGTERM,
}


class Stop:
    """The job's stop event, and which signal set it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    @property
    def exit_code(self) -> int:
        return _CODES.get(self.signum or 0, exit_codes.INTERRUPTED_SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "a signal"


@contextmanager
def stopping_on_signals() -> Iterator[Stop]:
    """Within the block, SIGINT and SIGTERM set ``Stop.event`` instead of killing the process."""
    stop = Stop()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.event.is_set():  # the second one: give up now
            raise SystemExit(_CODES.get(signum, exit_codes.INTERRUPTED_SIGINT))
        stop.signum = signum
        stop.event.set()
        click.echo(
            f"sealdoc: {signal.Signals(signum).name}: stopping after the documents in flight "
            "(send it again to quit at once)",
            err=True,
        )

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in _CODES:
            previous[number] = signal.signal(number, handle)
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


__all__ = ["Stop", "stopping_on_signals"]
