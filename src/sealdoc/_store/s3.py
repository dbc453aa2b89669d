"""S3 through s3fs's own client, for the calls fsspec has no verb for.

fsspec has no conditional write, no server-side part copy and no ranged read
that returns the object's ETag, so this module (and only this one) calls
S3's API itself: through one blocking botocore client, configured as
the s3fs file system's own (``_s3_client``: its credentials, endpoint,
config and ``s3_additional_kwargs`` such as server-side encryption settings),
so that workers do not queue on s3fs's one event-loop thread; or, where that
cannot be set up, through s3fs: ``fs.call_s3`` (its synchronous wrapper
around its aiobotocore client) and, for bodies, ``fs._call_s3`` run on its
event loop.

* **Version** = the object's ETag.
* ``read_head``: one ranged GET; the size comes from ``Content-Range``.
* ``replace`` / ``put``: one ``PutObject`` up to :data:`PART` bytes, else a
  multipart upload of :data:`PART`-sized parts; ``replace`` sends
  ``If-Match: <etag>`` on the PutObject or the ``CompleteMultipartUpload``.
* ``replace_header`` of an object over :data:`PART`: part 1 is the new header
  plus enough of the old body (a ranged GET with ``If-Match``) to reach the
  5 MiB minimum part size; the rest is copied by S3 itself with
  ``UploadPartCopy`` + ``CopySourceRange`` + ``CopySourceIfMatch``, and the
  upload completes with ``If-Match``. Smaller objects are rewritten whole
  with a conditional PutObject. Any failure aborts the upload.
* HTTP 412 (PreconditionFailed) and 409 ConditionalRequestConflict are
  :class:`DocumentChangedError`; NoSuchKey / 404 is
  :class:`DocumentNotFoundError`; anything else (timeouts included) is
  :class:`StoreError`, and the old version stays.

moto, the test server, enforces ``If-Match`` on GetObject and PutObject but
ignores it on CompleteMultipartUpload and ignores ``CopySourceIfMatch``;
docs/storage.md says which guarantees the tests can therefore show.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast

from fsspec.asyn import sync

from ..exceptions import (
    DocumentChangedError,
    DocumentExistsError,
    DocumentNotFoundError,
    SealdocError,
    StoreError,
)
from ._s3_client import SharedClient, shared_client
from .base import Entry, Head
from .versions import Versioning, remove_all, remove_replaced, versioning

PART = 5 * 1024 * 1024  # S3's minimum part size (all parts but the last)
COPY_PART = 1 << 30  # server-side copy per UploadPartCopy (S3 allows up to 5 GiB)


def _error_code(exc: BaseException) -> tuple[str, int]:
    """S3's error code and HTTP status, from botocore's error or s3fs's translation of it."""
    for candidate in (exc, exc.__cause__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            error = response.get("Error", {})
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return str(error.get("Code", "")), int(status or 0)
    return "", 0


@contextlib.contextmanager
def s3_errors(what: str, path: str) -> Iterator[None]:
    try:
        yield
    except SealdocError:
        raise
    except Exception as exc:
        code, status = _error_code(exc)
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
            raise DocumentChangedError(
                f"{path!r} changed since it was read; nothing was written"
            ) from exc
        if code == "NoSuchKey" or (status == 404 and code not in ("NoSuchUpload", "NoSuchBucket")):
            raise DocumentNotFoundError(f"no object {path!r} in the store") from exc
        if code == "InvalidRange":
            raise _InvalidRangeError(str(exc)) from exc
        detail = f"{type(exc).__name__}: {exc}"
        raise StoreError(f"the store failed to {what} {path!r}: {detail}") from exc


class _InvalidRangeError(StoreError):
    """A range past the object's end (an empty object, or a body offset past it)."""


class S3Store:
    """Objects under ``bucket/prefix`` of an s3fs file system."""

    conditional = True

    def __init__(self, fs: Any, root: str, *, url: str | None = None) -> None:
        self._fs = fs
        self.root = root.strip("/")
        self.bucket, _, prefix = self.root.partition("/")
        self._prefix = prefix + "/" if prefix else ""
        self._url = url or f"s3://{self.root}"
        self._clients: SharedClient | None = shared_client(fs)

    def __repr__(self) -> str:
        return f"S3Store({self._url!r})"

    @property
    def url(self) -> str:
        return self._url

    def _key(self, path: str) -> str:
        return self._prefix + path

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        if self._clients is not None:
            return self._clients.call(method, Bucket=self.bucket, **kwargs)
        return cast("dict[str, Any]", self._fs.call_s3(method, Bucket=self.bucket, **kwargs))

    def _invalidate(self, path: str) -> None:
        self._fs.invalidate_cache(f"{self.bucket}/{self._key(path)}")

    async def _get_async(self, **kwargs: Any) -> tuple[dict[str, Any], bytes]:
        response = await self._fs._call_s3("get_object", Bucket=self.bucket, **kwargs)
        body = response["Body"]
        try:
            data = await body.read()
        finally:
            body.close()
        return response, data

    def _get(
        self, key: str, byte_range: str, if_match: str | None = None
    ) -> tuple[dict[str, Any], bytes]:
        """One GET of a bounded range, its body read whole.

        A store that ignores ``Range`` answers with the whole object: from
        byte 0 that is still the bytes asked for (and more), from a later
        offset it is not, and writing it after a new header would leave a
        document no key opens; so that answer is refused.
        """
        if self._clients is not None:
            response, data = self._clients.get_whole(self.bucket, key, byte_range, if_match)
        else:
            kwargs = {"Key": key, "Range": byte_range}
            if if_match is not None:
                kwargs["IfMatch"] = if_match
            response, data = sync(self._fs.loop, self._get_async, **kwargs)
        start = int(byte_range.removeprefix("bytes=").partition("-")[0])
        content_range = str(response.get("ContentRange") or "")
        # no Content-Range: the whole object, from byte 0
        served = int(content_range.removeprefix("bytes ").partition("-")[0]) if content_range else 0
        if served != start:
            raise StoreError(
                f"the store answered a read of {byte_range} of {key!r} with bytes from "
                f"{served}; nothing was written"
            )
        return cast("dict[str, Any]", response), cast("bytes", data)

    def _put_object(self, key: str, body: bytes, cond: dict[str, str]) -> str:
        """One PutObject, conditional on ``cond`` (If-Match or If-None-Match); its ETag."""
        try:
            done = self._call("put_object", Key=key, Body=body, **cond)
        except Exception as exc:
            etag = self._created_by(key, body, exc) if cond else None
            if etag is None:
                raise
            return etag
        return str(done["ETag"])

    def _created_by(self, key: str, body: bytes, exc: BaseException) -> str | None:
        """After a conditional write refused: the object's ETag if it holds ``body``.

        botocore repeats a PutObject whose answer was lost; when the first
        attempt landed, the repeat meets its own object and gets 412. The
        object is then ours if it holds exactly the bytes sent: its CRC32
        checksum, or its ETag (the MD5 of a single PutObject without SSE-KMS
        or SSE-C), says so. Sealed documents never repeat bytes, so another
        writer's object does not match.
        """
        code, status = _error_code(exc)
        if code != "PreconditionFailed" and status != 412:
            return None
        try:
            head = self._call("head_object", Key=key, ChecksumMode="ENABLED")
        except Exception:
            return None  # the refusal stands
        crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        md5 = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
        if head.get("ChecksumCRC32") == crc or head.get("ETag") == md5:
            return str(head["ETag"])
        return None

    def _listing(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """A listing page; a bucket that does not exist lists nothing, as a missing folder.

        The bulk jobs then refuse it as an empty store (a typo in the bucket
        name is exit 3 with "check the URL"), and ``allow_empty`` accepts it.
        """
        try:
            return self._call(method, **kwargs)
        except Exception as exc:
            if _error_code(exc)[0] == "NoSuchBucket":
                return {}
            raise

    # -- reading -------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[Entry]:
        """``list_objects_v2`` page by page: keys come in UTF-8 byte order."""
        kwargs: dict[str, Any] = {"Prefix": self._key(prefix)}
        while True:
            with s3_errors("list", prefix):
                page = self._listing("list_objects_v2", **kwargs)
            for item in page.get("Contents", []):
                key = item["Key"]
                if not key.endswith("/"):  # folder markers made by other tools
                    yield Entry(key[len(self._prefix) :], item.get("Size"), item.get("ETag"))
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def read_head(self, path: str, length: int) -> Head:
        try:
            with s3_errors("read", path):
                response, data = self._get(self._key(path), f"bytes=0-{length - 1}")
        except _InvalidRangeError:  # an empty object has no byte 0
            with s3_errors("read", path):
                head = self._call("head_object", Key=self._key(path))
            return Head(b"", int(head["ContentLength"]), head["ETag"])
        return Head(data, _total_size(response), response["ETag"])

    def open_range(self, path: str, start: int, version: str) -> BinaryIO:
        """One streamed GET of ``bytes=start-`` with ``If-Match``: read as it arrives."""
        try:
            with s3_errors("read", path):
                response = self._call(
                    "get_object", Key=self._key(path), Range=f"bytes={start}-", IfMatch=version
                )
        except _InvalidRangeError:  # nothing after ``start``: still check the version
            with s3_errors("read", path):
                self._call("head_object", Key=self._key(path), IfMatch=version)
            return io.BytesIO(b"")
        body = response["Body"]
        if self._clients is not None:  # botocore's body reads blocking
            raw = _StreamedBody(body.read, body, path)
        else:
            raw = _StreamedBody(lambda n: sync(self._fs.loop, body.read, n), body, path)
        return cast("BinaryIO", io.BufferedReader(raw, buffer_size=1 << 20))

    # -- writing -------------------------------------------------------------------

    def put(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        return self._upload(path, write, {})

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        return self._upload(path, write, {"IfMatch": version})

    def create(self, path: str, write: Callable[[BinaryIO], object]) -> str:
        # S3 refuses an existing key atomically when the object is published
        # (PutObject or CompleteMultipartUpload with If-None-Match: *)
        try:
            return self._upload(path, write, {"IfNoneMatch": "*"})
        except DocumentChangedError as exc:
            raise DocumentExistsError(f"{path!r} already exists; nothing was written") from exc

    def _upload(self, path: str, write: Callable[[BinaryIO], object], cond: dict[str, str]) -> str:
        upload = _Upload(self, self._key(path), cond)
        with s3_errors("write", path):
            try:
                write(cast("BinaryIO", upload))
                etag = upload.finish()
            except BaseException:
                upload.abort()
                raise
        self._invalidate(path)
        return etag

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        key = self._key(path)
        fill = max(1, PART - len(header))
        try:
            with s3_errors("replace", path):
                response, data = self._get(
                    key, f"bytes={body_offset}-{body_offset + fill - 1}", version
                )
        except _InvalidRangeError as exc:
            raise StoreError(f"{path!r} is no longer than its header") from exc
        with s3_errors("replace", path):
            total = _total_size(response)
            rest = body_offset + len(data)
            if rest >= total:  # small: the whole object in one conditional PutObject
                etag = self._put_object(key, header + data, {"IfMatch": version})
            else:
                etag = self._copy_rest(key, version, header + data, rest, total)
        self._invalidate(path)
        return etag

    def copy_rest(self, path: str, version: str, first: bytes, start: int, total: int) -> str:
        """``path`` made ``first`` then bytes ``start``.. of its ``version``, copied by S3."""
        with s3_errors("replace", path):
            etag = self._copy_rest(self._key(path), version, first, start, total)
        self._invalidate(path)
        return etag

    def _copy_rest(self, key: str, version: str, first: bytes, start: int, total: int) -> str:
        """Part 1 uploaded, the rest copied by S3 from ``version`` of ``key``; completed."""
        upload = self._call("create_multipart_upload", Key=key)["UploadId"]
        try:
            part = self._call("upload_part", Key=key, UploadId=upload, PartNumber=1, Body=first)
            parts = [{"PartNumber": 1, "ETag": part["ETag"]}]
            while start < total:
                end = min(total, start + COPY_PART) - 1
                copied = self._call(
                    "upload_part_copy",
                    Key=key,
                    UploadId=upload,
                    PartNumber=len(parts) + 1,
                    CopySource={"Bucket": self.bucket, "Key": key},
                    CopySourceRange=f"bytes={start}-{end}",
                    CopySourceIfMatch=version,
                )
                parts.append(
                    {"PartNumber": len(parts) + 1, "ETag": copied["CopyPartResult"]["ETag"]}
                )
                start = end + 1
            done = self._call(
                "complete_multipart_upload",
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                IfMatch=version,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self._call("abort_multipart_upload", Key=key, UploadId=upload)
            raise
        return str(done["ETag"])

    # -- versioned buckets (VersionedStore) ----------------------------------------

    def versioning(self) -> Versioning:
        with s3_errors("read the versioning of", self.bucket):
            return versioning(self._call, lambda exc: _error_code(exc)[0])

    def remove_replaced(self, path: str, version: str) -> int:
        with s3_errors("remove old versions of", path):
            return remove_replaced(self._call, self._key(path), version)

    def remove_versions(self, path: str) -> int:
        with s3_errors("remove the versions of", path):
            return remove_all(self._call, self._key(path))

    def delete(self, path: str) -> None:
        with s3_errors("delete", path):
            self._call("head_object", Key=self._key(path))  # S3 deletes a missing key silently
            self._call("delete_object", Key=self._key(path))
        self._invalidate(path)

    # -- cleaning ------------------------------------------------------------------

    def clean_partials(self, prefix: str, before: float) -> int:
        """S3 shows no partial object: what a killed writer leaves is a multipart upload.

        An upload in progress cannot be told from an abandoned one, so only
        uploads started a day before the job are aborted: a live writer (a
        large put, an ETL export) is never cut off, and no clock skew between
        this machine and S3 makes a fresh upload look old. The bucket rule
        ``AbortIncompleteMultipartUpload`` does the same on S3's side.
        """
        return self.abort_stale_uploads(prefix, before - STALE_UPLOAD_AGE_S)

    def abort_stale_uploads(self, prefix: str, before: float) -> int:
        """Abort the multipart uploads under ``prefix`` initiated before ``before``.

        They hold storage (and cost) until aborted. The alternative is the
        bucket lifecycle rule ``AbortIncompleteMultipartUpload``.
        """
        kwargs: dict[str, Any] = {"Prefix": self._key(prefix)}
        aborted = 0
        while True:
            with s3_errors("list the uploads under", prefix):
                page = self._listing("list_multipart_uploads", **kwargs)
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < before:
                    with (
                        contextlib.suppress(DocumentNotFoundError, StoreError),
                        s3_errors("abort an upload of", upload["Key"]),
                    ):
                        self._call(
                            "abort_multipart_upload", Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
            if not page.get("IsTruncated"):
                return aborted
            kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
            kwargs["UploadIdMarker"] = page.get("NextUploadIdMarker", "")


#: How old a multipart upload must be before a job's clean-up aborts it.
STALE_UPLOAD_AGE_S = 24 * 3600


def _total_size(response: dict[str, Any]) -> int:
    content_range = response.get("ContentRange")
    if content_range:
        return int(str(content_range).rpartition("/")[2])
    return int(response["ContentLength"])


class _StreamedBody(io.RawIOBase):
    """A streaming body read synchronously, chunk by chunk, by ``read(n)``."""

    def __init__(self, read: Callable[[int], bytes], body: Any, path: str) -> None:
        super().__init__()
        self._read = read
        self._body = body
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with s3_errors("read", self._path):
            data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class _CheckedUpload:
    """An upload for another backend's file: S3's errors as sealdoc's."""

    def __init__(self, upload: _Upload, path: str) -> None:
        self._upload = upload
        self._path = path

    def write(self, data: Any) -> int:
        with s3_errors("write", self._path):
            return self._upload.write(data)

    def finish(self) -> str:
        with s3_errors("write", self._path):
            return self._upload.finish()

    def abort(self) -> None:
        self._upload.abort()


def upload_for(store: S3Store, path: str, cond: dict[str, str]) -> _CheckedUpload:
    """A multipart upload of ``path`` completed under ``cond`` (If-Match, If-None-Match)."""
    return _CheckedUpload(_Upload(store, store._key(path), cond), path)


class _Upload(io.RawIOBase):
    """A write-only file that becomes one PutObject, or a multipart upload of PART parts."""

    def __init__(self, store: S3Store, key: str, cond: dict[str, str]) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._cond = cond
        self._buffer = bytearray()
        self._upload: str | None = None
        self._parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) >= PART:
            self._send(bytes(self._buffer[:PART]))
            del self._buffer[:PART]
        return len(memoryview(data))

    def _send(self, data: bytes) -> None:
        call = self._store._call
        if self._upload is None:
            self._upload = call("create_multipart_upload", Key=self._key)["UploadId"]
        number = len(self._parts) + 1
        done = call(
            "upload_part", Key=self._key, UploadId=self._upload, PartNumber=number, Body=data
        )
        self._parts.append({"PartNumber": number, "ETag": done["ETag"]})

    def finish(self) -> str:
        call = self._store._call
        if self._upload is None:
            etag = self._store._put_object(self._key, bytes(self._buffer), self._cond)
        else:
            if self._buffer:  # the last part may be short; an empty one is left out
                self._send(bytes(self._buffer))
            try:
                done = call(
                    "complete_multipart_upload",
                    Key=self._key,
                    UploadId=self._upload,
                    MultipartUpload={"Parts": self._parts},
                    **self._cond,
                )
            except Exception:
                landed = self._completed()
                if landed is None:
                    raise
                etag = landed
            else:
                etag = str(done["ETag"])
        self._buffer = bytearray()
        return etag

    def _completed(self) -> str | None:
        """After a completion refused or failed: the object's ETag if this upload made it.

        botocore repeats a CompleteMultipartUpload whose answer was lost; when
        the first landed, S3 answers the repeat 412 (If-Match no longer holds:
        the object is ours) or NoSuchUpload. A multipart object's ETag is the
        MD5 of its parts' MD5s and their count, which another writer's object
        (other bytes: sealed documents never repeat) does not have.
        """
        try:
            digests = b"".join(bytes.fromhex(str(p["ETag"]).strip('"')) for p in self._parts)
            head = self._store._call("head_object", Key=self._key)
        except Exception:
            return None  # the failure stands
        ours = f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(self._parts)}"'
        return ours if head.get("ETag") == ours else None

    def abort(self) -> None:
        self._buffer = bytearray()
        if self._upload is not None:
            with contextlib.suppress(Exception):
                self._store._call("abort_multipart_upload", Key=self._key, UploadId=self._upload)
