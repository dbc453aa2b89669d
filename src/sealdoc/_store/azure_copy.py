"""Azure's server-side copy for a header replace: Put Block From URL, through azure-storage-blob.

obstore has no call for it, so this module (and only this one) uses
Microsoft's own SDK, for one job: a rewrap of a large blob sends the new
header and lets the service copy the body.

* block 1: the new header (Put Block);
* blocks 2..: the old body, copied by the service from the blob itself
  (Put Block From URL, :data:`COPY_BLOCK` bytes a block), each conditional
  on the version read (``x-ms-source-if-match``);
* Put Block List of exactly those blocks, conditional on the same version
  (``If-Match``): the swap happens only if nobody wrote in between, and the
  staged blocks of a refused or failed replace stay uncommitted, invisible,
  until the service discards them.

The copy's source is the blob's own URL with a read-only SAS of a few
minutes, made from the account key for each block (the copy of a very
large blob outlasts any one), or the SAS the store was given. A source the
service cannot read (``CannotVerifyCopySource``) is a StoreError, not a
missing document: the blob is there, and the jobs retry it. With
neither (Azure AD credentials), or without azure-storage-blob installed,
there is no copier and the whole blob is read and written again.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ..exceptions import DocumentChangedError, DocumentNotFoundError, SealdocError, StoreError

COPY_BLOCK = 100 * 1024 * 1024  # Put Block From URL's limit on every service version


# azure-core's retries and timeouts bounded as obstore's are (objects.py): an
# unreachable endpoint is a StoreError in seconds, not after ten slow retries
def _bounded() -> dict[str, Any]:
    from azure.storage.blob import LinearRetry  # noqa: PLC0415

    # the storage SDK's default waits 15 s, 18 s, 24 s... between tries
    retry = LinearRetry(backoff=2, random_jitter_range=1, retry_total=4)
    return {"retry_policy": retry, "connection_timeout": 5, "read_timeout": 60}


_SAS_LIFETIME = timedelta(minutes=15)


def block_copier(url: str, container: str, config: Mapping[str, Any]) -> BlockCopier | None:
    """The copier for a store's mapped Azure config, or None where none can be made."""
    try:
        import azure.storage.blob  # noqa: F401, PLC0415 - optional
    except ImportError:
        return None
    account = config.get("account_name")
    if not account or not (config.get("account_key") or config.get("sas_key")):
        return None
    endpoint = str(config.get("endpoint") or f"https://{account}.blob.core.windows.net")
    return BlockCopier(url, endpoint.rstrip("/"), container, config)


class BlocksInTheWayError(StoreError):
    """The blob holds uncommitted blocks whose ids have another length than ours.

    A streamed put cut short (obstore's block ids) leaves them for up to
    seven days, and Azure refuses a block id of another length meanwhile.
    """


class BlockCopier:
    """Header replaces of one container's blobs, the body copied by the service."""

    def __init__(self, url: str, endpoint: str, container: str, config: Mapping[str, Any]) -> None:
        self._url = url
        self._endpoint = endpoint
        self._container = container
        self._account = str(config["account_name"])
        self._key = config.get("account_key")
        self._sas = str(config.get("sas_key") or "").lstrip("?")

    def __repr__(self) -> str:
        return f"BlockCopier({self._url!r})"  # never the key

    def _credential(self) -> Any:
        return {"account_name": self._account, "account_key": self._key} if self._key else self._sas

    def _client(self, key: str) -> Any:
        from azure.storage.blob import BlobClient  # noqa: PLC0415

        credential = self._credential()
        return BlobClient(self._endpoint, self._container, key, credential=credential, **_bounded())

    def listing(self, prefix: str) -> Iterator[tuple[str, int, str]]:
        """Name, size and ETag of the container's blobs under the full ``prefix``.

        The SDK lists every name; obstore fails a whole listing on one it
        cannot parse (``a//b``). A container that is not there lists nothing,
        as obstore's listing does.
        """
        from azure.core import exceptions as ae  # noqa: PLC0415
        from azure.storage.blob import ContainerClient  # noqa: PLC0415

        credential = self._credential()
        container = ContainerClient(
            self._endpoint, self._container, credential=credential, **_bounded()
        )
        try:
            for blob in container.list_blobs(name_starts_with=prefix or None):
                etag = str(blob.etag).strip('"')  # the SDK drops the quotes obstore keeps
                yield str(blob.name), int(blob.size), f'"{etag}"'
        except ae.ResourceNotFoundError:
            return
        except Exception as exc:
            code = getattr(exc, "error_code", None) or type(exc).__name__
            raise StoreError(f"the store {self._url} failed to list {prefix!r}: {code}") from exc

    def _source(self, client: Any, key: str) -> str:
        # a client made with a SAS shows it in its url already: one query, never two
        blob = client.url.partition("?")[0]
        if not self._key:
            return f"{blob}?{self._sas}"
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas  # noqa: PLC0415

        sas = generate_blob_sas(
            self._account,
            self._container,
            key,
            account_key=self._key,
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(timezone.utc) + _SAS_LIFETIME,
        )
        return f"{blob}?{sas}"

    def replace_header(
        self, key: str, path: str, version: str, header: bytes, *, body: tuple[int, int]
    ) -> str:
        """``key`` made ``header`` then its bytes ``body`` (start, end), if still ``version``."""
        body_offset, total = body
        from azure.core import MatchConditions  # noqa: PLC0415
        from azure.core import exceptions as ae  # noqa: PLC0415
        from azure.storage.blob import BlobBlock  # noqa: PLC0415

        same = MatchConditions.IfNotModified
        run = secrets.token_hex(8)  # block ids: one length within a blob, fresh per replace
        ids = [base64.b64encode(f"sealdoc-{run}-{0:06}".encode()).decode()]
        with self._errors(path):
            client = self._client(key)
            client.stage_block(ids[0], header)
            start = body_offset
            while start < total:
                length = min(COPY_BLOCK, total - start)
                ids.append(base64.b64encode(f"sealdoc-{run}-{len(ids):06}".encode()).decode())
                client.stage_block_from_url(
                    ids[-1],
                    # a fresh SAS per block (a local HMAC): the copy of a very large
                    # blob outlasts any one SAS's few minutes
                    self._source(client, key),
                    source_offset=start,
                    source_length=length,
                    # the SDK has no keyword for it: azure-core adds a request's own headers
                    headers={"x-ms-source-if-match": version},
                )
                start += length
            try:
                done = client.commit_block_list(
                    [BlobBlock(block_id) for block_id in ids], etag=version, match_condition=same
                )
            except ae.ResourceModifiedError:
                landed = _committed(client, ids)
                if landed is None:
                    raise
                return landed
        return str(done["etag"])

    @contextlib.contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        from azure.core import exceptions as ae  # noqa: PLC0415

        try:
            yield
        except SealdocError:
            raise
        except ae.ResourceModifiedError as exc:
            raise DocumentChangedError(
                f"{path!r} in {self._url} changed; nothing was written"
            ) from exc
        except ae.ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "CannotVerifyCopySource":
                # the service could not read the source (an expired or narrow SAS, a
                # network fault), not a missing blob: a StoreError, retried by the jobs
                raise StoreError(
                    f"the store {self._url} could not copy the body of {path!r}: "
                    "the service could not read the copy source (CannotVerifyCopySource); "
                    "nothing was written"
                ) from exc
            raise DocumentNotFoundError(f"no object {path!r} in {self._url}") from exc
        except Exception as exc:
            code = getattr(exc, "error_code", None) or type(exc).__name__
            if code == "InvalidBlobOrBlock":
                raise BlocksInTheWayError(
                    f"{path!r} in {self._url} has uncommitted blocks of another writer"
                ) from exc
            if code in ("ConditionNotMet", "SourceConditionNotMet"):
                raise DocumentChangedError(
                    f"{path!r} in {self._url} changed; nothing was written"
                ) from exc
            raise StoreError(
                f"the store {self._url} failed to replace the header of {path!r}: {code}"
            ) from exc


def _committed(client: Any, ids: list[str]) -> str | None:
    """The blob's ETag if its committed blocks are exactly ``ids`` (this commit landed), else None.

    The SDK repeats a Put Block List whose answer was lost; when the first
    attempt landed, the repeat's ``If-Match`` meets our own blob and is
    refused. The block ids carry a random run token, so another writer's
    blob never lists them.
    """
    with contextlib.suppress(Exception):  # the refusal stands
        etag = str(client.get_blob_properties().etag)
        committed, _ = client.get_block_list("committed")
        # the ETag read again: the block list was of that version, not of a later write
        if [block.id for block in committed] == ids and (
            str(client.get_blob_properties().etag) == etag
        ):
            return etag
    return None
