"""S3 and Azure Blob through obstore (Rust ``object_store``), natively async.

Used by :class:`sealdoc.aio.AsyncVault` for ``s3://``, ``az://`` and
``abfs://`` URLs. obstore's CPU per request is a fraction of botocore's
(docs/performance.md), it speaks asyncio itself, and it has the two
conditions the vault needs: ``If-Match`` on a read (a ranged GET of one
version) and on a write (``mode={"e_tag": ...}``).

* **Version** = the object's ETag.
* ``head``: one ranged GET; size and ETag from its metadata.
* ``read_range``: one ranged GET with ``If-Match``: a reader never mixes
  two versions of a document.
* ``put``: bytes in one PUT; an async stream as a multipart upload (parts
  of :data:`PART`), completed only when the stream ended: a failed or
  cancelled put leaves no object (S3 keeps the unfinished upload's parts,
  invisible, until the bucket's lifecycle rule aborts it).
* ``list``: not here. Both faces list through the sync backend
  (:mod:`.blobs`; the async face runs it in its pool), which skips the keys
  obstore cannot address; :func:`listed` is obstore's own listing, pushed
  down to the prefix's last ``/`` and filtered, where nothing else can list.
* Errors: 404 is :class:`DocumentNotFoundError`, 412 is
  :class:`DocumentChangedError`, anything else a :class:`StoreError` naming
  the store, after obstore's own bounded retries with back-off (throttling
  and 5xx answers).

``storage_options`` use the names users already give s3fs and adlfs,
mapped in :func:`s3_config` and :func:`azure_config` (docs/storage.md,
"Options for S3 and Azure").
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from ..exceptions import DocumentChangedError, DocumentNotFoundError, SealdocError, StoreError
from .base import Entry, Head
from .common import join, relative

# The error codes S3 and Azure give for a bucket or container that is not there, as
# elements of the answer's XML: the message also carries the object's URL, whose
# name may hold the same words (a doc id "NoSuchBucket" is merely missing)
_NO_CONTAINER = ("<Code>NoSuchBucket</Code>", "<Code>ContainerNotFound</Code>")
PART = 5 * 1024 * 1024  # S3's minimum part size (all parts but the last)
SCHEMES = ("s3", "s3a", "az", "abfs", "abfss", "azure")

# s3fs's and adlfs's options that only tune their own client-side caches:
# obstore has no such cache, so they are accepted and have no effect.
_CACHE_ONLY = frozenset(
    {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths"}
)
_RETRY: Any = {
    "max_retries": 4,
    "retry_timeout": timedelta(seconds=20),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=5)},
}


_S3_NAMES = {
    "key": "access_key_id",
    "secret": "secret_access_key",
    "token": "session_token",
    "endpoint_url": "endpoint",
    "region_name": "region",
}
_AZURE_NAMES = {
    "account_name": "account_name",
    "account_key": "account_key",
    "sas_token": "sas_key",
    "account_host": "endpoint",
}
_CONNECTION_STRING = {
    "AccountName": "account_name",
    "AccountKey": "account_key",
    "BlobEndpoint": "endpoint",
}


class UnsupportedOptionError(StoreError):
    """A storage option obstore has no counterpart for."""


def _s3_client_kwargs(value: Any) -> dict[str, Any]:
    for inner in dict(value):
        if inner not in _S3_NAMES:
            raise UnsupportedOptionError(
                f"storage option client_kwargs[{inner!r}] is not supported"
            )
    return {_S3_NAMES[inner]: v for inner, v in dict(value).items()}


def _connection_string(value: Any) -> dict[str, Any]:
    parts = dict(p.split("=", 1) for p in str(value).split(";") if "=" in p)
    return {ours: parts[theirs] for theirs, ours in _CONNECTION_STRING.items() if theirs in parts}


def _mapped(
    options: Mapping[str, Any],
    names: Mapping[str, str],
    nested: Mapping[str, Callable[[Any], dict[str, Any]]],
    store: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    config: dict[str, Any] = {}
    for name, value in options.items():
        if name in names:
            config[names[name]] = value
        elif name in nested:
            config.update(nested[name](value))
        elif name == "anon":
            config["skip_signature"] = bool(value)
        elif name not in _CACHE_ONLY:
            raise UnsupportedOptionError(
                f"storage option {name!r} is not supported for {store} through obstore"
            )
    return config, _client(config)


def _client(config: Mapping[str, Any]) -> dict[str, Any]:
    client: dict[str, Any] = {"connect_timeout": "5s", "timeout": "60s"}
    if str(config.get("endpoint", "")).startswith("http://"):
        client["allow_http"] = True  # an emulator, or a gateway inside the network
    return client


def s3_config(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """s3fs's ``storage_options`` as obstore's S3 config, client options and credentials.

    What the options leave out comes from where botocore (and so s3fs)
    finds it: the endpoint from ``AWS_ENDPOINT_URL_S3`` or
    ``AWS_ENDPOINT_URL``; the credentials and region from botocore's own
    chain (environment, ``profile`` or ``AWS_PROFILE`` in the shared files,
    SSO, web identity, container and instance roles), which obstore alone
    does not read all of. No credentials anywhere is a StoreError caused by
    botocore's NoCredentialsError, as on the s3fs path.
    """
    options = dict(options)
    profile = options.pop("profile", None)
    config, _ = _mapped(options, _S3_NAMES, {"client_kwargs": _s3_client_kwargs}, "S3")
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if "endpoint" not in config and os.environ.get(name):
            config["endpoint"] = os.environ[name]
    credentials = None
    if not config.get("skip_signature") and "access_key_id" not in config:
        credentials, region = _botocore_chain(profile)
        if region and "region" not in config:
            config["region"] = region
    config.setdefault("region", "us-east-1")
    return config, _client(config), credentials


def _botocore_chain(profile: str | None) -> tuple[Any, str | None]:
    """botocore's credentials (as an obstore credential provider) and region."""
    try:
        import botocore.session  # noqa: PLC0415 - comes with the s3 extra
        from botocore.exceptions import NoCredentialsError  # noqa: PLC0415
    except ImportError:  # obstore alone: its own reading of the environment
        return None, None
    try:
        session = botocore.session.Session(profile=profile)
        found = session.get_credentials()
        region = session.get_config_variable("region")
    except Exception as exc:  # a profile that is not there, a broken shared file
        raise StoreError(f"botocore could not read the AWS settings: {exc}") from exc
    if found is None:
        raise StoreError("no AWS credentials were found (NoCredentialsError)") from (
            NoCredentialsError()
        )
    return _BotocoreCredentials(found), region


class _BotocoreCredentials:
    """obstore's credential provider over botocore's credentials, refreshed as botocore does.

    Static credentials never expire; refreshable ones (roles, SSO) are asked
    again every few minutes, and botocore refreshes them before they end.
    """

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials
        self._refreshable = hasattr(credentials, "refresh_needed")

    def __repr__(self) -> str:
        return "_BotocoreCredentials()"  # never the keys

    def __call__(self) -> dict[str, Any]:
        frozen = self._credentials.get_frozen_credentials()
        expires = datetime.now(timezone.utc) + timedelta(minutes=5) if self._refreshable else None
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": expires,
        }


def azure_config(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """adlfs's ``storage_options`` as obstore's Azure config and client options.

    With no credentials in the options, ``AZURE_STORAGE_CONNECTION_STRING``
    is read as adlfs reads it; obstore reads the other ``AZURE_STORAGE_*``.
    """
    nested = {"connection_string": _connection_string}
    config, _ = _mapped(options, _AZURE_NAMES, nested, "Azure")
    credentials = ("account_key", "sas_key", "skip_signature")
    from_env = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if from_env and not any(name in config for name in credentials):
        config = {**_connection_string(from_env), **config}
    return config, _client(config)


def is_object_url(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES


def connect(url: str, options: Mapping[str, Any]) -> tuple[Any, str]:
    """obstore's store for ``url`` and the root prefix under it; the one place both faces open.

    ``s3://bucket/prefix``, ``az://container/prefix``, and
    ``abfs://container@account.dfs.core.windows.net/prefix`` as adlfs users
    write it. StoreError for options obstore cannot take.
    """
    from obstore.store import AzureStore, S3Store  # noqa: PLC0415 - an optional extra

    parts = urlsplit(url)
    root = parts.path.strip("/")
    with errors(url, "open", ""):
        if parts.scheme in ("s3", "s3a"):
            try:
                config, client, credentials = s3_config(options)
            except UnsupportedOptionError:
                raise
            except StoreError as exc:
                raise StoreError(f"the store {url} cannot be opened: {exc}") from exc
            kwargs: Any = {"config": config, "client_options": client, "retry_config": _RETRY}
            if credentials is not None:
                kwargs["credential_provider"] = credentials
            store: Any = S3Store(parts.netloc, **kwargs)
        else:
            container, config, client = azure_target(url, options)
            kwargs = {"config": config, "client_options": client, "retry_config": _RETRY}
            store = AzureStore(container, **kwargs)
    return store, root


def azure_target(
    url: str, options: Mapping[str, Any]
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The container of an Azure URL, its obstore config and client options.

    ``abfs://container@account.dfs.core.windows.net/path`` (adlfs's form)
    names the account in the URL.
    """
    container, _, host = urlsplit(url).netloc.partition("@")
    config, client = azure_config(options)
    if host and "account_name" not in config:
        config["account_name"] = host.split(".", 1)[0]
    return container, config, client


def is_s3(url: str) -> bool:
    return urlsplit(url).scheme in ("s3", "s3a")


def ranged(start: int, end: int, version: str | None = None) -> Any:
    """obstore's GetOptions for bytes ``start`` .. ``end`` (exclusive), of ``version`` only."""
    options: dict[str, Any] = {"range": (start, end)}
    if version is not None:
        options["if_match"] = version
    return options


def listed(root: str, prefix: str) -> tuple[str | None, Callable[[Any], Iterator[Entry]]]:
    """The prefix pushed down (obstore lists by path segments) and the filter of its pages.

    obstore's listing prefix is a folder: the listing goes to the prefix's
    last ``/`` and the names are filtered here.
    """
    full = join(root, prefix)
    folder = full[: full.rfind("/") + 1] if "/" in full else ""

    def entries(batch: Any) -> Iterator[Entry]:
        for meta in batch:
            name = relative(root, str(meta["path"]))
            if name.startswith(prefix):
                yield Entry(name, int(meta["size"]), meta.get("e_tag"))

    return folder or None, entries


def _unsatisfiable(exc: BaseException) -> bool:
    """A ranged read past the end (an empty object): HTTP 416.

    The status as obstore words it: a bare "416" also turns up in request ids,
    durations, ports and bucket names of other errors.
    """
    return "status code: 416 " in str(exc)


@contextlib.contextmanager
def errors(url: str, what: str, path: str) -> Iterator[None]:
    """obstore's errors as sealdoc's, naming the store (never a raw Rust trace)."""
    from obstore import exceptions as oe  # noqa: PLC0415

    try:
        yield
    except SealdocError:
        raise
    except (oe.NotFoundError, FileNotFoundError) as exc:
        if what == "write" or _no_container(exc):
            raise NoContainerError(f"the store {url} has no such bucket or container") from exc
        raise DocumentNotFoundError(f"no object {path!r} in {url}") from exc
    except (oe.PreconditionError, oe.AlreadyExistsError, FileExistsError) as exc:
        if what == "read":  # a ranged read's If-Match: the reader noticed, nothing was written
            raise DocumentChangedError(f"{path!r} in {url} changed while it was read") from exc
        raise DocumentChangedError(f"{path!r} in {url} changed; nothing was written") from exc
    except (oe.BaseError, OSError, ValueError, RuntimeError) as exc:
        if _unsatisfiable(exc):
            raise EmptyRangeError(f"{path!r} in {url} has no bytes there") from exc
        if _no_container(exc):  # a listing's 404 is a GenericError, its code in the body
            raise NoContainerError(f"the store {url} has no such bucket or container") from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise StoreError(
            f"the store {url} failed to {what} {path!r}: {type(exc).__name__}: {first[:300]}"
        ) from exc


def _no_container(exc: BaseException) -> bool:
    return any(code in str(exc) for code in _NO_CONTAINER)


class EmptyRangeError(StoreError):
    """A range past the object's end (an empty object, or a body offset past it)."""


class NoContainerError(StoreError):
    """The bucket or container is not there.

    A listing of it is empty, as a listing of a folder that is not there:
    the bulk jobs then refuse it as an empty store ("check the URL"), and
    ``allow_empty`` accepts it.
    """


class ObjectStore:
    """One bucket or container under a root prefix, for the async face."""

    def __init__(self, store: Any, root: str, url: str) -> None:
        self._store = store
        self.root = root
        self.url = url

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"  # the URL only: never credentials

    async def head(self, path: str, length: int) -> Head:
        import obstore  # noqa: PLC0415

        key = join(self.root, path)
        # the sync face's rule (blobs.py read_head): a ranged GET, a HEAD when it has no bytes
        with contextlib.suppress(EmptyRangeError), errors(self.url, "read", path):
            if length > 0:
                result = await obstore.get_async(self._store, key, options=ranged(0, length))
                data = bytes(await result.bytes_async())
                return Head(data, int(result.meta["size"]), str(result.meta["e_tag"]))
        with errors(self.url, "read", path):  # no bytes asked, or an empty object
            meta = await obstore.head_async(self._store, key)
        return Head(b"", int(meta["size"]), str(meta["e_tag"]))

    async def read_range(self, path: str, start: int, end: int, version: str) -> bytes:
        import obstore  # noqa: PLC0415

        with errors(self.url, "read", path):
            result = await obstore.get_async(
                self._store,
                join(self.root, path),
                options=ranged(start, end, version),
            )
            return bytes(await result.bytes_async())

    async def get(self, path: str) -> bytes:
        import obstore  # noqa: PLC0415

        with errors(self.url, "read", path):
            result = await obstore.get_async(self._store, join(self.root, path))
            return bytes(await result.bytes_async())

    async def put(self, path: str, data: bytes | AsyncIterator[bytes]) -> str:
        import obstore  # noqa: PLC0415

        with errors(self.url, "write", path):
            if isinstance(data, bytes):
                result = await obstore.put_async(self._store, join(self.root, path), data)
            else:
                result = await obstore.put_async(
                    self._store, join(self.root, path), data, chunk_size=PART, max_concurrency=4
                )
        return str(result["e_tag"])

    async def delete(self, path: str) -> None:
        import obstore  # noqa: PLC0415

        key = join(self.root, path)
        with errors(self.url, "delete", path):
            # S3 and Azure answer a delete of nothing with success: look first
            await obstore.head_async(self._store, key)
            await obstore.delete_async(self._store, key)
