"""Bytes a blocking writer produces in a thread, as an async iterator, in bounded memory."""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Callable

import anyio.to_thread

_DEPTH = 2  # chunks in flight between the thread and the response: memory stays bounded
_POLL = 0.5  # seconds a blocked side waits before it looks whether the other one left
_DONE = object()


class ReaderGoneError(Exception):
    """The response stopped reading (the client left): the writing thread gives up."""


class _Channel:
    """A bounded queue that either side can abandon (``stop``) without the other hanging."""

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue(_DEPTH)
        self.stop = threading.Event()

    def put(self, item: object) -> None:
        """Blocks while full; ReaderGoneError once the reader has stopped."""
        while not self.stop.is_set():
            if self._offer(item):
                return
        raise ReaderGoneError

    def _offer(self, item: object) -> bool:
        try:
            self._queue.put(item, timeout=_POLL)
        except queue.Full:
            return False
        return True

    def take(self) -> object:
        """The next item; _DONE once the channel was stopped."""
        while not self.stop.is_set():
            item = self._poll()
            if item is not None:
                return item
        return _DONE

    def _poll(self) -> object | None:
        try:
            return self._queue.get(timeout=_POLL)
        except queue.Empty:
            return None


class _Writer:
    """A write-only file object whose writes go to the channel (copied: callers reuse buffers)."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    def write(self, data: bytes | bytearray | memoryview) -> int:
        chunk = bytes(data)
        self._channel.put(chunk)
        return len(chunk)


async def piped(work: Callable[[_Writer], object]) -> AsyncIterator[bytes]:
    """What ``work(writer)`` writes, chunk by chunk; its exception is raised here, in order.

    ``work`` runs in a thread of its own (it holds it for the whole copy);
    when the iteration stops early, the thread stops at its next write, and
    the iteration ends only once the thread has (so ``work``'s reader can be
    closed after).
    """
    channel = _Channel()

    def run() -> None:
        try:
            work(_Writer(channel))
            end: object = _DONE
        except ReaderGoneError:
            return
        except BaseException as exc:  # handed to the reader, which raises it
            end = exc
        try:
            channel.put(end)
        except ReaderGoneError:
            return

    thread = threading.Thread(target=run, name="sealdoc-serve-copy", daemon=True)
    thread.start()
    try:
        while True:
            item = await anyio.to_thread.run_sync(channel.take, abandon_on_cancel=True)
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        channel.stop.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(thread.join)
