"""KeyStore races found in review: a cancelled destroy, a stale cache entry, a false alarm.

Each test puts the other writer exactly in the window the race needs, by
wrapping one of the store's own steps, so it fails on the old code every time.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import sealdoc
from sealdoc.exceptions import KeyProviderError

SECRET = bytes(range(32))


def master() -> sealdoc.MemoryKeyring:
    return sealdoc.MemoryKeyring._from_secret(SECRET, key_id="master")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/keys.db"


def test_erase_due_keeps_a_version_enabled_after_the_due_list_was_read(url: str) -> None:
    here = sealdoc.KeyStore(url, master=master())
    there = sealdoc.KeyStore(url, master=master())  # another process's operator
    old = sealdoc.seal(b"old", keys=here.key("C-1"))
    here.rotate("C-1")
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    here.destroy("C-1", 1, after=timedelta(days=1), now=now)
    read = here._db.read

    @contextlib.contextmanager
    def read_then_cancel(what: str) -> Iterator[Any]:
        with read(what) as cur:
            yield cur
        if what == "find versions due":
            there.enable("C-1", 1)  # cancels the scheduled destroy

    here._db.read = read_then_cancel  # type: ignore[method-assign]
    report = here.erase_due(now=now + timedelta(days=2))
    assert report.versions == ()
    assert [v.state for v in there.info("C-1").versions] == ["enabled", "enabled"]
    assert sealdoc.open(old, keys=there) == b"old"


def test_an_entry_read_before_a_destroy_here_is_not_cached_after_it(url: str) -> None:
    store = sealdoc.KeyStore(url, master=master())
    sealed = sealdoc.seal(b"x", keys=store.key("C-1"))
    store._cache.clear()
    read = store._read

    def read_then_destroy(subject: str) -> Any:
        entry = read(subject)
        # another thread of this process erases the subject between the read and the cache
        store.destroy(subject, confirm=True)
        return entry

    store._read = read_then_destroy  # type: ignore[method-assign]
    with contextlib.suppress(sealdoc.DecryptionError):
        sealdoc.open(sealed, keys=store)  # the read that raced: either answer is fair
    store._read = read  # type: ignore[method-assign]
    with pytest.raises(sealdoc.DecryptionError):  # at once, not after cache_ttl
        sealdoc.open(sealed, keys=store)
    with pytest.raises(KeyProviderError, match="no key to seal under"):
        sealdoc.seal(b"x", keys=store.key("C-1"))


def test_reads_overtaken_by_another_thread_are_not_a_restored_backup(url: str) -> None:
    here = sealdoc.KeyStore(url, master=master())
    there = sealdoc.KeyStore(url, master=master())
    for subject in ("C-1", "C-2", "C-3"):
        here.add(subject)
    here._cache.clear()
    fetch = here._db.fetch
    overtaken = threading.Event()
    slow: list[str] = []

    def read_c3() -> None:
        here._entry("C-3", create=False)
        overtaken.set()

    def slow_fetch(what: str, text: str, params: Any = (), **kw: Any) -> Any:
        rows = fetch(what, text, params, **kw)
        if params == ("C-1",) and not slow:
            slow.append("C-1")
            # another process destroys C-3, and another thread here reads it,
            # all before this read is checked
            there.destroy("C-3", confirm=True)
            threading.Thread(target=read_c3).start()
            overtaken.wait(1.0)
        return rows

    here._db.fetch = slow_fetch  # type: ignore[method-assign]
    assert here._entry("C-1", create=False) is not None  # no "the database went back"
    assert overtaken.wait(5.0)


def test_a_subject_id_cannot_name_another_subjects_key(url: str) -> None:
    # The store id is in every document's header, so a customer who reads
    # their own statement can sign up as "<victim>@<store id>"; a service that
    # erases "their" subject on account deletion must not erase the victim.
    store = sealdoc.KeyStore(url, master=master())
    victims = sealdoc.seal(b"victim's statement", keys=store.key("C-1"))
    chosen = f"C-1@{store.store_id}"
    for attempt in (
        lambda: store.key(chosen),
        lambda: store.add(chosen),
        lambda: store.destroy(chosen, confirm=True),
        lambda: store.destroy_many([chosen], confirm=True),
        lambda: store.add_many([chosen]),
    ):
        with pytest.raises(ValueError, match="key id"):
            attempt()
    assert sealdoc.open(victims, keys=store) == b"victim's statement"
    assert store.subjects() == ["C-1"]


class _CommitFails:
    """A connection whose next COMMIT fails, as a full disk or a lost server makes it."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.armed = True

    def execute(self, text: str, *args: Any) -> Any:
        if text == "COMMIT" and self.armed:
            self.armed = False
            raise sqlite3.OperationalError("disk I/O error")
        return self._conn.execute(text, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_a_destroy_whose_commit_failed_leaves_no_false_backup_alarm(url: str) -> None:
    store = sealdoc.KeyStore(url, master=master())
    sealed = sealdoc.seal(b"x", keys=store.key("C-1"))
    store._db._conn = _CommitFails(store._db._connection())
    with pytest.raises(KeyProviderError, match="cannot destroy"):
        store.destroy("C-1", confirm=True)
    store._cache.clear()
    # nothing was destroyed: the database did not go back, the document opens
    assert sealdoc.open(sealed, keys=store) == b"x"
    store.destroy("C-1", confirm=True)
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(sealed, keys=store)
