"""The in-process cache of subject keys: bounded in entries and in age.

An entry is what one database read said about a subject (its versions, their
states and master-wrapped material); a version's key is unwrapped by the
master only when first used, then kept with the entry. An entry older than
the time-to-live is read again, so a change made by another process is seen
within ``ttl`` seconds; the process that makes a change drops the entry at
once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import attrs
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._format import WrappedKey


@attrs.frozen
class VersionRow:
    """A version as the database holds it; ``wrapped`` is None once destroyed."""

    state: str
    wrapped: WrappedKey | None = attrs.field(repr=False)


@attrs.define(repr=False)
class Entry:
    """One subject as last read: primary version, versions, and keys unwrapped so far."""

    primary: int | None
    versions: dict[int, VersionRow]
    read_at: float
    ciphers: dict[int, AESGCM] = attrs.field(factory=dict)


class SubjectCache:
    """Subject -> Entry, least recently used first out, each entry kept ``ttl`` seconds."""

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        # Counts drops: an entry read before a drop is never put back after it.
        self._epoch = 0

    def now(self) -> float:
        return self._clock()

    def get(self, subject: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(subject)
            if entry is None:
                return None
            if self._clock() - entry.read_at >= self.ttl:
                del self._entries[subject]
                return None
            self._entries.move_to_end(subject)
            return entry

    def epoch(self) -> int:
        """Taken before a database read; :meth:`put` skips the entry if a drop came since."""
        with self._lock:
            return self._epoch

    def put(self, subject: str, entry: Entry, epoch: int) -> None:
        if self.max_entries <= 0 or self.ttl <= 0:
            return
        with self._lock:
            if epoch != self._epoch:
                # A change committed while this entry was read: it may predate the change.
                return
            self._entries[subject] = entry
            self._entries.move_to_end(subject)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def drop(self, subject: str) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.pop(subject, None)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
