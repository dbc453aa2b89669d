"""The ``sealdoc::`` fsspec protocol: sealed files for any fsspec-aware tool.

``fsspec.open("sealdoc::s3://bucket/report.csv", "rb", sealdoc={"keys": ring})``
opens and ``"wb"`` seals; pandas, pyarrow and dask reach it through
``storage_options={"sealdoc": {"keys": ring}}``. Registered under the
``fsspec.specs`` entry point, so nothing needs importing first.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

import fsspec
from fsspec.implementations.chained import ChainedFileSystem

from . import _format as fmt
from ._envelope import new_sealer, open_stream, providers_of
from ._format import Suite
from ._provider_api import with_key
from ._reader import SealedReader
from ._storage import PendingWrite, pending_write
from ._store.common import copy_stream
from ._store.factory import store_for
from ._uri import KeysOrUris, resolve_keys
from ._writer import SealedWriter
from .exceptions import DocumentExistsError

# Sealed bytes (never plaintext) wait here for an exclusive create: memory up
# to this size, then a temporary file.
SPOOL = 8 << 20


def _exclusive_write(fs: Any, path: str) -> PendingWrite:
    """A write published only if ``path`` does not exist then: the store seam's ``create``.

    The check at open is a courtesy; the one that counts is the backend's
    create-only publish (a hard link locally, ``If-None-Match: *`` on S3),
    so of two ``xb`` writers exactly one wins. A backend that cannot do
    that refuses at open (UnsafeStoreError), before anything is sealed.
    The seam takes a writer callback, so the sealed stream is spooled first.
    """
    parent, _, name = path.rpartition("/")
    store = store_for(fs, parent)
    if not store.conditional:
        store.create(name, lambda out: None)  # refuses: nothing is written
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed below

    def commit() -> None:
        try:
            spool.seek(0)
            store.create(name, lambda out: copy_stream(spool, out))  # type: ignore[arg-type]
        finally:
            spool.close()

    return PendingWrite(spool, commit, spool.close)


class SealdocFileSystem(ChainedFileSystem):  # type: ignore[misc]
    """Reads and writes sealed files on another fsspec file system.

    Options (under the ``sealdoc`` key of ``storage_options`` when chained):
    ``keys`` (a provider, a key URI, or a sequence of them), ``context`` (written when sealing,
    checked when opening), ``binding``, ``suite``, ``segment_size``, and
    ``key``: writes seal under that key of the first provider (a KeyStore
    subject, a keyring key), as ``Vault.put(..., key=)`` does.
    Reads are seekable and fetch only the segments they need; a file opened
    for writing is committed only by a clean ``close()``.
    """

    protocol = "sealdoc"
    # fsspec caches instances by a token of their arguments; two keyrings
    # can print alike, and sharing one instance would share its keys.
    cachable = False

    def __init__(
        self,
        *,
        keys: KeysOrUris | None = None,
        target_protocol: str | None = None,
        target_options: Mapping[str, Any] | None = None,
        fo: str | None = None,
        fs: Any = None,
        context: Mapping[str, str] | None = None,
        binding: Mapping[str, str] | None = None,
        suite: Suite = Suite.AES_256_GCM_HKDF_SHA256_COMMIT,
        segment_size: int = fmt.DEFAULT_SEGMENT_SIZE,
        key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if keys is None:  # fsspec would say only "missing 'keys'"; say where they go
            raise ValueError(
                "the sealdoc:: protocol needs keys: give them under the 'sealdoc' key of the "
                "storage options, e.g. pandas.read_csv(url, storage_options={'sealdoc': "
                "{'keys': ring}}) or fsspec.open(url, sealdoc={'keys': ring}); a key URI "
                "such as 'local:///etc/sealdoc/keyring.json' works there too"
            )
        self.keys = providers_of(resolve_keys(keys))
        # writes seal under one named key of the first provider (a customer's subject)
        self.write_keys = with_key(list(self.keys), key) if key is not None else self.keys
        self.fs = (
            fs
            if fs is not None
            else fsspec.filesystem(target_protocol or "file", **dict(target_options or {}))
        )
        self.context = dict(context or {})
        self.binding = dict(binding or {})
        self.suite = suite
        self.segment_size = segment_size
        self.fo = fo

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> SealedReader | SealedWriter:
        if mode == "rb":
            # no read-ahead cache: the reader asks for exactly the segments it needs
            f = self.fs.open(path, "rb", cache_type="none")
            try:
                reader = open_stream(f, keys=self.keys, context=self.context, binding=self.binding)
            except BaseException:
                f.close()
                raise
            reader.close_source_on_close()
            return reader
        if mode in ("wb", "xb"):
            if mode == "xb" and self.fs.exists(path):  # early, cheap; the create decides
                raise DocumentExistsError(f"{path!r} already exists; nothing was written")
            sealer = new_sealer(
                self.write_keys,
                context=self.context,
                binding=self.binding,
                suite=self.suite,
                segment_size=self.segment_size,
            )
            exclusive = mode == "xb"
            pending = _exclusive_write(self.fs, path) if exclusive else pending_write(self.fs, path)
            return SealedWriter(
                pending.file,
                sealer.header,
                sealer.cipher(),
                self.segment_size,
                commit=pending.commit,
                discard=pending.discard,
                name=path,
            )
        raise ValueError(f"sealdoc files open in 'rb', 'wb' or 'xb' mode, not {mode!r}")

    # Everything but reading and writing contents is the target's business.

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        return self.fs.ls(path, detail=detail, **kwargs)

    def info(self, path: str, **kwargs: Any) -> Any:
        return self.fs.info(path, **kwargs)

    def exists(self, path: str, **kwargs: Any) -> bool:
        return bool(self.fs.exists(path, **kwargs))

    def rm_file(self, path: str) -> None:
        self.fs.rm_file(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.fs.makedirs(path, exist_ok=exist_ok)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.fs.mkdir(path, create_parents=create_parents, **kwargs)
