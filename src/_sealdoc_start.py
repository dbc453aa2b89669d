"""The ``sealdoc`` console script's first module: Ctrl-C during start-up exits 130, quietly.

Importing sealdoc takes a good part of a second, and Python's own SIGINT
handler would end a Ctrl-C there with a ``KeyboardInterrupt`` traceback.
This module lives outside the ``sealdoc`` package so that it runs before
that import, and it imports nothing but ``signal`` and ``sys``.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

INTERRUPTED = 128 + int(signal.SIGINT)  # 130, the shell's code; sealdoc._cli.exit_codes too


def _interrupted(signum: int, frame: FrameType | None) -> None:
    # SystemExit, not KeyboardInterrupt: cleanup (finally, context managers)
    # still runs, click does not turn it into "Aborted!" and exit 1, and
    # Python prints no traceback for it
    raise SystemExit(INTERRUPTED)


def quiet_interrupts() -> None:
    """From now on, SIGINT ends the process with exit 130 and no traceback.

    A store job replaces this handler with its own clean stop while it runs
    (``sealdoc._cli.signals``) and puts it back after.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted)


def main() -> None:
    quiet_interrupts()
    from sealdoc._cli_entry import main as run  # noqa: PLC0415 - after the handler, on purpose

    run()  # click exits by itself
    sys.exit(0)


__all__ = ["INTERRUPTED", "main", "quiet_interrupts"]
