"""The exit codes of every ``sealdoc`` command: one table, shown in docs/cli.md.

A script can tell "nothing to do about it, look at the listed documents" (1)
from "you asked for something wrong" (2) and from "sealdoc refused, on
purpose, to do something unsafe" (3), and it can tell an interrupted job
(130/143, the shell's convention of 128 + signal number) from a failed one.
"""

from __future__ import annotations

import signal

OK = 0
"""Done: every document (or the one file) was handled."""
FAILED = 1
"""The operation, or some documents, failed; the reasons are on stderr.

Also a missing or unreadable secret (passphrase, password): the command was
right, the environment it ran in was not.
"""
USAGE = 2
"""A usage error: an unknown option, a bad value, a missing argument, a bad config file."""
REFUSED = 3
"""Refused on purpose: a checkpoint of another job, an empty or missing store,
a store without credentials, a key version that a store still depends on, an
output, keyring or identity that exists."""
INTERRUPTED_SIGINT = 128 + int(signal.SIGINT)  # 130
"""Stopped by SIGINT (Ctrl-C); a store job flushed its checkpoint first."""
INTERRUPTED_SIGTERM = 128 + int(signal.SIGTERM)  # 143
"""Stopped by SIGTERM (systemd, Kubernetes); a store job flushed its checkpoint first."""

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "done"),
    (FAILED, "the operation, or some documents, failed (listed on stderr); a missing secret"),
    (USAGE, "usage error: bad option or value, unknown config key"),
    (
        REFUSED,
        "refused: checkpoint of another job, empty store or no credentials, key still in use, "
        "output or keyring exists",
    ),
    (INTERRUPTED_SIGINT, "interrupted by SIGINT; checkpoint flushed, rerun with --resume"),
    (INTERRUPTED_SIGTERM, "interrupted by SIGTERM; checkpoint flushed, rerun with --resume"),
)

__all__ = [
    "FAILED",
    "INTERRUPTED_SIGINT",
    "INTERRUPTED_SIGTERM",
    "OK",
    "REFUSED",
    "TABLE",
    "USAGE",
]
