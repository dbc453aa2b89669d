"""A real uvicorn server on 127.0.0.1 (a free port), in a thread, for the serving tests.

Also the ``events`` fixture: the audit events a test caused.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

import sealdoc


class _Records(logging.Handler):
    """Every log record the server and the app write while it runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[tuple[str, list[logging.LogRecord]]]:
    """``(base URL, log records)`` of ``app`` under uvicorn until the block ends."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="info", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    handler = _Records()
    # uvicorn.error propagates to "uvicorn" (which stops there); sealdoc.serve to the root
    loggers = [logging.getLogger(name) for name in ("uvicorn", "")]
    for logger in loggers:
        logger.addHandler(handler)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", handler.records
    finally:
        server.should_exit = True
        thread.join(10)
        for logger in loggers:
            logger.removeHandler(handler)


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """The records that carry a traceback or say the app failed."""
    return [
        record.getMessage()
        for record in records
        if record.exc_info or "Exception in ASGI" in record.getMessage()
    ]


@pytest.fixture
def events() -> Iterator[list[sealdoc.AuditEvent]]:
    """Every audit event emitted during the test."""
    seen: list[sealdoc.AuditEvent] = []
    remove = sealdoc.add_audit_hook(seen.append)
    yield seen
    remove()
