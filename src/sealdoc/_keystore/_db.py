"""The database under a KeyStore: two DB-API drivers behind one small seam.

SQLite comes from the standard library (the embedded default); PostgreSQL
from psycopg 3. The SQL is written once, with ``?`` placeholders, and every
value travels as a bound parameter: the only text a dialect changes is the
placeholder style, fixed when the module loads, never built from input.
Another DB-API driver (oracledb, pyodbc for SQL Server) is another
:class:`Dialect` of the same shape.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ..exceptions import KeyProviderError

# Seconds a writer waits for another writer's lock before the call fails clearly.
BUSY_TIMEOUT_S = 10.0

# "subject IN a batch", one parameter (dialect.array) for the whole batch: a
# JSON array on SQLite, a PostgreSQL array (the dialect rewrites the text).
IN_BATCH = "IN (SELECT value FROM json_each(?))"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sealdoc_keystore_meta ("
    " name VARCHAR(64) PRIMARY KEY, value VARCHAR(1024) NOT NULL)",
    # One row a subject, kept for ever: after an erasure it is the tombstone
    # that stops first use from quietly making a new key.
    "CREATE TABLE IF NOT EXISTS sealdoc_keystore_subjects ("
    " subject VARCHAR(1024) PRIMARY KEY,"
    " primary_version INTEGER,"
    " created VARCHAR(40) NOT NULL,"
    " erased VARCHAR(40),"
    " hold_reason VARCHAR(1024),"
    " retain_until VARCHAR(40))",
    "CREATE INDEX IF NOT EXISTS sealdoc_keystore_retain"
    " ON sealdoc_keystore_subjects (retain_until)",
    # One row a version. A destroyed version keeps its row (state, times) with
    # no material: the tombstone that inventory and audit name.
    "CREATE TABLE IF NOT EXISTS sealdoc_keystore_versions ("
    " subject VARCHAR(1024) NOT NULL,"
    " version INTEGER NOT NULL,"
    " state VARCHAR(20) NOT NULL,"
    " created VARCHAR(40) NOT NULL,"
    " changed VARCHAR(40) NOT NULL,"
    " destroy_at VARCHAR(40),"
    " master_kind VARCHAR(64),"
    " master_key_id VARCHAR(1024),"
    " master_version BIGINT,"
    " wrapped BYTEA,"
    " PRIMARY KEY (subject, version))",
    "CREATE INDEX IF NOT EXISTS sealdoc_keystore_due ON sealdoc_keystore_versions (destroy_at)",
    # One row, counting destroys: a database that goes back (a restored
    # backup) shows a lower count than a process already saw.
    "CREATE TABLE IF NOT EXISTS sealdoc_keystore_generation ("
    " id INTEGER PRIMARY KEY, generation BIGINT NOT NULL)",
    "INSERT INTO sealdoc_keystore_generation (id, generation) VALUES (1, 0)"
    " ON CONFLICT (id) DO NOTHING",
)


class Dialect(Protocol):
    """What the store needs of a database driver."""

    name: str
    retryable: tuple[type[BaseException], ...]  # may be a lost race on a unique key

    def is_race(self, exc: BaseException) -> bool: ...

    def connect(self) -> Any: ...

    def sql(self, text: str) -> str: ...

    def begin(self, conn: Any) -> None: ...

    def array(self, values: Sequence[str]) -> Any: ...

    def describe(self, exc: BaseException) -> str: ...

    def errors(self) -> tuple[type[BaseException], ...]: ...


class SqliteDialect:
    """sqlite:///path/keys.db (stdlib sqlite3); the file is made 0600 before first use."""

    name = "sqlite"
    retryable: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)

    def is_race(self, exc: BaseException) -> bool:
        # Only a unique-key conflict is a lost race; a CHECK or trigger refusal is a failure.
        return getattr(exc, "sqlite_errorname", "") in (
            "SQLITE_CONSTRAINT_PRIMARYKEY",
            "SQLITE_CONSTRAINT_UNIQUE",
        )

    def __init__(self, path: str) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        if not os.path.exists(self.path):
            # Made here, not by sqlite3, so its mode is 0600 whatever the umask;
            # SQLite gives its journal and WAL files the database file's mode.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def sql(self, text: str) -> str:
        # SQLite locks the whole database in BEGIN IMMEDIATE: no row locks to ask for.
        return text.replace("BYTEA", "BLOB").replace(" FOR UPDATE", "")

    def array(self, values: Sequence[str]) -> Any:
        # one parameter for a whole batch, read back by json_each (IN_BATCH)
        return json.dumps(list(values))

    def begin(self, conn: Any) -> None:
        # IMMEDIATE: take the write lock now, so a read-then-write never
        # fails half-way on an upgrade to it.
        conn.execute("BEGIN IMMEDIATE")

    def describe(self, exc: BaseException) -> str:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return (
                f"the key store database is locked by another writer (waited {BUSY_TIMEOUT_S:g} s)"
            )
        if "readonly" in text or "read-only" in text:
            return "the key store database is read-only"
        if "unable to open" in text:
            return "the key store database cannot be opened"
        return f"the key store database failed ({type(exc).__name__})"

    def errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)


class PostgresDialect:
    """postgresql://user@host:port/db through psycopg 3 (the ``keystore-postgresql`` extra)."""

    name = "postgresql"

    def __init__(self, dsn: str) -> None:
        try:
            import psycopg  # noqa: PLC0415 - an optional extra, imported when used
        except ImportError as exc:
            raise KeyProviderError(
                "a PostgreSQL key store needs psycopg: pip install 'sealdoc[postgresql]'"
            ) from exc
        self._psycopg = psycopg
        self.dsn = dsn
        self.retryable: tuple[type[BaseException], ...] = (psycopg.errors.UniqueViolation,)

    def is_race(self, exc: BaseException) -> bool:
        return isinstance(exc, self.retryable)

    def connect(self) -> Any:
        return self._psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)

    def sql(self, text: str) -> str:
        return text.replace(IN_BATCH, "= ANY(?)").replace("?", "%s")

    def array(self, values: Sequence[str]) -> Any:
        return list(values)  # a text[] parameter

    def begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def describe(self, exc: BaseException) -> str:
        errors = self._psycopg.errors
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return "the key store database is read-only"
        if isinstance(exc, errors.LockNotAvailable | errors.QueryCanceled):
            return "the key store database is locked by another writer"
        if isinstance(exc, self._psycopg.OperationalError):
            return "the key store database is unreachable"
        return f"the key store database failed ({type(exc).__name__})"

    def errors(self) -> tuple[type[BaseException], ...]:
        return (self._psycopg.Error,)


def dialect_for(url: str) -> Dialect:
    """The dialect a store URL names: ``sqlite:///path`` or ``postgresql://...``."""
    if not isinstance(url, str):
        raise TypeError(f"a key store URL is a str, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path or parts.query or parts.fragment:
            raise KeyProviderError("a SQLite key store URL is sqlite:///path/to/keys.db")
        return SqliteDialect(unquote(parts.path))
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresDialect(url)
    raise KeyProviderError(
        "a key store URL is sqlite:///path/to/keys.db or postgresql://user@host/db"
    )


class Database:
    """One connection a process, used under a lock; transactions all or nothing."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        # Public so that a caller can keep statements and what it checks of them in order.
        self.lock = threading.RLock()
        self._conn: Any = None
        self._pid = 0
        self._sql: dict[str, str] = {}

    def _connection(self) -> Any:
        if self._conn is None or self._pid != os.getpid():
            # A forked child never shares its parent's connection.
            self._conn = self.dialect.connect()
            self._pid = os.getpid()
            # Closed when the store is dropped without close(), not left to the driver's warning.
            weakref.finalize(self, _close_quietly, self._conn)
        return self._conn

    def _text(self, text: str) -> str:
        found = self._sql.get(text)
        if found is None:
            found = self._sql[text] = self.dialect.sql(text)
        return found

    @contextlib.contextmanager
    def transaction(self, what: str) -> Iterator[Cursor]:
        """A transaction: committed if the block returns, rolled back if it raises."""
        with self.lock, self._failures(what):
            conn = self._connection()
            self.dialect.begin(conn)
            cursor = Cursor(self, conn)
            try:
                yield cursor
            except BaseException:
                with contextlib.suppress(*self.dialect.errors()):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            for done in cursor.committed:
                done()  # still under the lock: in the order the database committed

    @contextlib.contextmanager
    def read(self, what: str) -> Iterator[Cursor]:
        """Statements outside a transaction: each reads a consistent snapshot, takes no lock."""
        with self.lock, self._failures(what):
            yield Cursor(self, self._connection())

    def fetch(
        self, what: str, text: str, params: Sequence[Any] = (), *, retries: int = 2
    ) -> list[tuple[Any, ...]]:
        """One read statement, retried with backoff on a new connection if it fails.

        Safe because it changes nothing: a server restart, a failover or a
        connection the server closed costs a retry, not an error. Writes are
        never retried here (a lost answer to a COMMIT is not knowable).
        """
        for attempt in range(retries + 1):
            try:
                with self.read(what) as cur:
                    return cur.all(text, params)
            except KeyProviderError:  # noqa: PERF203 - a retry loop: the cost is the sleep
                if attempt == retries:
                    raise
                time.sleep(0.05 * 4**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _failures(self, what: str) -> Iterator[None]:
        try:
            yield
        except self.dialect.errors() as exc:
            if self.dialect.is_race(exc):
                raise  # the caller reads again and retries
            self._drop()
            raise KeyProviderError(f"cannot {what}: {self.dialect.describe(exc)}") from exc

    def _drop(self) -> None:
        # After a failure the connection may be broken (a server restart): make a new one.
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self.lock:
            self._drop()


def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()


class Cursor:
    """Statements inside one transaction; parameters only."""

    def __init__(self, db: Database, conn: Any) -> None:
        self._db = db
        self._conn = conn
        self.committed: list[Callable[[], object]] = []

    def on_commit(self, done: Callable[[], object]) -> None:
        """Run ``done`` once the transaction committed (never if it did not)."""
        self.committed.append(done)

    def run(self, text: str, params: Sequence[Any] = ()) -> int:
        cur = self._conn.execute(self._db._text(text), tuple(params))
        return int(cur.rowcount)

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run a statement once a row; return how many rows it changed in all."""
        if not rows:
            return 0
        cur = self._conn.cursor()
        cur.executemany(self._db._text(text), rows)
        return int(cur.rowcount)

    def all(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(self._db._text(text), tuple(params)).fetchall())

    def one(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._conn.execute(self._db._text(text), tuple(params)).fetchone()
        return None if row is None else tuple(row)
