"""Sending a document's body: segment by segment, stopping when the client goes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from starlette.types import Receive, Scope, Send

from .._text import safe
from ..exceptions import SealdocError

logger = logging.getLogger("sealdoc.serve")


class BodySender:
    """An ASGI response whose body comes from ``parts()``; ``done(outcome)`` runs once at the end.

    A client that disconnects cancels the reading between two segments (the
    watch on ``receive`` below, as Starlette's FileResponse does for older
    servers; a failed ``send`` stops it on newer ones). A segment that fails
    to authenticate, or a store that fails mid-body, ends the response where
    it is: the status line is gone, so the client sees a short body, and the
    log gets one line, not a traceback.
    """

    def __init__(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        parts: Callable[[], AsyncIterator[bytes]] | None,
        done: Callable[[str], Awaitable[None]],
    ) -> None:
        self.status = status
        self.headers = headers
        self._parts = parts
        self._done = done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outcome = "disconnected"  # unless _send finishes
        try:
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                outcome = await self._send(send)
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._done(outcome)

    async def _send(self, send: Send) -> str:
        try:
            await send(
                {"type": "http.response.start", "status": self.status, "headers": self.headers}
            )
            if self._parts is not None:
                async for part in self._parts():
                    await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except SealdocError as exc:
            logger.warning("serving stopped mid-body: %s", safe(exc))
            return "failed"
        except OSError:  # the client went away while we were sending (ASGI 2.4 servers)
            return "disconnected"
        return "ok"
