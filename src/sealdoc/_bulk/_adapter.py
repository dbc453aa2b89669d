"""TEMPORARY: what the bulk engine needs of a Vault, until the store branch lands.

# DELETE THE FALLBACKS AT MERGE: once ``Vault.store``, ``Vault.doc_id_of``
# and ``Vault.binding_for`` exist, ``source_of`` uses them and ``_FsStore``
# below (a whole-object, check-then-write stand-in over the vault's
# fsspec file system, NOT a true compare-and-swap) goes away.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

import attrs

from .._storage import pending_write, protocols
from .._store.base import DocumentStore, Entry, Head
from ..exceptions import DocumentChangedError, DocumentNotFoundError, SealdocError, StoreError
from ..providers._base import KeyProvider
from .checkpoint import fingerprint

_SUFFIX = ".sdoc"


@attrs.frozen
class Source:
    """One vault as the engine sees it: a store, keys, and how names map to doc ids."""

    url: str
    store: DocumentStore
    keys: tuple[KeyProvider, ...]
    doc_id_of: Callable[[str], str | None]
    binding_for: Callable[[str], Mapping[str, str]]
    opaque: bool  # names are encrypted: a doc-id prefix cannot be pushed down to the listing
    name_key: str | None  # fingerprint only

    def list_prefix(self, prefix: str) -> str:
        return "" if self.opaque else prefix


def source_of(vault: Any, keys: tuple[KeyProvider, ...], name_key: bytes | None) -> Source:
    store = getattr(vault, "store", None)
    if store is None:
        store = _FsStore(vault._fs, vault._root, vault.url, fsync=vault._durable)
    doc_id_of = getattr(vault, "doc_id_of", None) or (lambda path: _doc_id_of(vault, path))
    binding_for = getattr(vault, "binding_for", None) or vault._binding
    return Source(
        url=vault.url,
        store=store,
        keys=keys,
        doc_id_of=doc_id_of,
        binding_for=binding_for,
        opaque=name_key is not None,
        name_key=fingerprint(name_key),
    )


def _doc_id_of(vault: Any, path: str) -> str | None:
    if vault._names is not None:
        return vault._names.decode(path)  # type: ignore[no-any-return]
    return path[: -len(_SUFFIX)] if path.endswith(_SUFFIX) else None


@contextlib.contextmanager
def _errors(path: str) -> Iterator[None]:
    try:
        yield
    except SealdocError:
        raise
    except FileNotFoundError as exc:
        raise DocumentNotFoundError(f"no object {path!r}") from exc
    except Exception as exc:
        raise StoreError(f"the store failed on {path!r}: {type(exc).__name__}: {exc}") from exc


class _FsStore:
    """A DocumentStore over any fsspec file system (stand-in; see the module docstring)."""

    conditional = True  # claimed, for the tests to run before the real backends land

    def __init__(self, fs: Any, root: str, url: str, *, fsync: bool) -> None:
        self._fs, self._root, self.url, self._fsync = fs, root, url, fsync

    def _full(self, path: str) -> str:
        return f"{self._root}/{path}" if self._root else path

    def list(self, prefix: str = "") -> Iterator[Entry]:
        with _errors(self._root):
            found = self._fs.find(self._root, detail=True) if self._fs.exists(self._root) else {}
        start = len(self._root) + 1 if self._root else 0
        for full in sorted(found):
            relative = full[start:] if full.startswith(self._root) else full
            if any(part.startswith(".") for part in relative.split("/")):
                continue  # a writer's temporary file
            if relative.startswith(prefix):
                yield Entry(relative, found[full].get("size"))

    def _version(self, path: str) -> str:
        info = self._fs.info(self._full(path))
        if "memory" in protocols(self._fs):
            held = id(self._fs.store.get(info["name"]))
            return f"{held}:{info.get('size')}:{info.get('created')}"
        tag = info.get("ETag") or info.get("etag")
        if tag:
            return str(tag)
        return f"{info.get('ino')}:{info.get('size')}:{info.get('mtime') or info.get('created')}"

    def read_head(self, path: str, length: int) -> Head:
        with (
            _errors(path),
            self._fs._open(self._full(path), "rb", cache_type="none", block_size=0) as f,
        ):
            details = getattr(f, "details", None) or {}
            tag = details.get("ETag")  # s3fs looked it up to open the file
            version = str(tag) if tag else self._version(path)
            size = f.size
            data = f.read(length)
        return Head(data=data, size=size, version=version)

    def _check(self, path: str, version: str) -> None:
        if self._version(path) != version:
            raise DocumentChangedError(f"{path!r} changed since it was read")

    def open_range(self, path: str, start: int, version: str) -> BinaryIO:
        with _errors(path):
            self._check(path, version)
            f = self._fs._open(self._full(path), "rb", cache_type="none", block_size=0)
            f.seek(start)
        return f  # type: ignore[no-any-return]

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        def write(out: BinaryIO) -> None:
            out.write(header)
            with self.open_range(path, body_offset, version) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)

        return self.replace(path, version, write)

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        with _errors(path):
            pending = pending_write(self._fs, self._full(path), fsync=self._fsync)
            try:
                write(pending.file)
                self._check(path, version)  # narrows the race; a true CAS is the store branch's
                pending.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    pending.discard()
                raise
            return self._version(path)

    def clean_partials(self, prefix: str, before: float) -> int:
        return 0
