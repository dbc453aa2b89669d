"""The interface between the bulk engine and a store of sealed objects.

The engine never reaches into a Vault's private members: it lists, reads a
head, opens a body range and replaces conditionally, through this interface
alone. Each backend (local folder, memory, S3, any other fsspec store)
implements it in its own small module.

Paths are relative to the store's root, with ``/`` separators. A
``version`` is an opaque token naming one stored version of one object
(an S3 ETag; a local file's device, inode, size and mtime; a memory
counter): a conditional replace succeeds only while the object is still
that version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol, runtime_checkable

import attrs

from .versions import Versioning


@attrs.frozen
class Entry:
    """One object found by a listing."""

    path: str
    size: int | None = None
    version: str | None = None  # when the listing gives it (S3 ETags); else None


@attrs.frozen
class Head:
    """The first bytes of one object, and which version they came from."""

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    size: int
    version: str


@runtime_checkable
class DocumentStore(Protocol):
    """What a backend offers the bulk engine and the Vault."""

    @property
    def url(self) -> str:
        """The store's root URL, as given (for reports and job identities)."""
        ...

    @property
    def conditional(self) -> bool:
        """Whether ``replace*`` truly refuses a changed object on this backend.

        False for backends with no compare-and-swap; bulk jobs then refuse to
        run unless the caller opts out explicitly.
        """
        ...

    def list(self, prefix: str = "") -> Iterator[Entry]:
        """Objects whose path starts with ``prefix``, in path order, streamed.

        The prefix is pushed down to the backend's own listing, and results
        come page by page: memory does not grow with the store. "Path order"
        is the order of the paths' UTF-8 bytes (S3's own listing order; for a
        ``str`` it is the same as Python's ``<``), identical on every run, so
        a checkpoint may record finished ranges of it. Temporary files of
        writers are never listed.
        """
        ...

    def read_head(self, path: str, length: int) -> Head:
        """At most ``length`` bytes from the start of ``path``, in one ranged read.

        ``Head.size`` is the whole object's size: when it is no more than
        ``len(Head.data)`` the head holds the whole object, and a caller may
        rewrite it with :meth:`replace` without reading it again (on S3 that
        saves the ranged read a :meth:`replace_header` makes). The version is
        the one to pass to ``open_range`` and ``replace*``; a listing's
        ``Entry.version``, where given, is the same token. DocumentNotFoundError
        if there is no such object.
        """
        ...

    def open_range(self, path: str, start: int, version: str) -> BinaryIO:
        """A reader of ``path`` from byte ``start`` to its end, of ``version`` only.

        DocumentChangedError, at open or on read, if the object is no longer
        that version (where the backend can tell).
        """
        ...

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        """Make ``path`` hold ``header`` followed by its old bytes from ``body_offset``.

        Conditional on ``version``; the body bytes move without passing
        through Python where the backend allows it (a kernel copy locally, a
        server-side part copy on S3). Returns the new version.
        DocumentChangedError if the object changed, DocumentNotFoundError if
        it is gone; StoreError for anything else (a timeout, a store that
        refuses conditional requests); on any failure the old version stays
        as it was.
        """
        ...

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        """Make ``path`` hold what ``write`` writes, conditional on ``version``.

        ``write`` streams the new content into the file it is given; nothing
        is visible until it returns and the swap succeeds. Returns the new
        version; errors as for :meth:`replace_header`.
        """
        ...

    def clean_partials(self, prefix: str, before: float) -> int:
        """Remove temporary files of killed writers under ``prefix``; return how many.

        Only files older than ``before`` (a Unix time) that no live writer
        holds are removed; a concurrent writer's file is never touched.
        """
        ...


@runtime_checkable
class VersionedStore(Protocol):
    """A backend that may keep old versions of what it replaces (S3 with versioning on).

    Optional. Bulk jobs report it, and on request remove the versions they
    replaced (``BulkOptions.remove_replaced_versions``).
    """

    def versioning(self) -> Versioning:
        """Whether old versions are kept, and whether Object Lock forbids removing them."""
        ...

    def remove_replaced(self, path: str, version: str) -> int:
        """Remove the noncurrent versions of ``path`` that are ``version``; how many."""
        ...

    def remove_versions(self, path: str) -> int:
        """Remove every version of ``path`` (after a delete); how many."""
        ...


def versioning_of(store: object) -> Versioning | None:
    """The store's versioning if it has the power and keeps old versions, else None."""
    if not isinstance(store, VersionedStore):
        return None
    found = store.versioning()
    return found if found.keeps_old_versions else None


@runtime_checkable
class VaultStore(DocumentStore, Protocol):
    """What the Vault needs on top of the engine's seam: plain writes and deletes.

    Added beside :class:`DocumentStore` (which the bulk engine uses) so that
    a ``Vault.put`` takes the same per-document lock or condition as a
    ``replace``: a put that returned is never reverted by a replace that read
    the version before it.
    """

    def put(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        """Make ``path`` hold what ``write`` writes, whatever it held; the new version.

        Atomic: nothing is visible until ``write`` returns; on any failure the
        previous version stays.
        """
        ...

    def create(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        """Make ``path`` hold what ``write`` writes only if there is no ``path``; the version.

        Exclusive at publish time, not only when asked: of two creators, one
        wins and the other gets DocumentExistsError, and nothing it wrote is
        visible. UnsafeStoreError on a backend that cannot refuse an existing
        object atomically (the ``sealdoc::`` protocol's ``xb`` mode then refuses).
        """
        ...

    def delete(self, path: str) -> None:
        """Remove ``path``; DocumentNotFoundError if there is none."""
        ...
