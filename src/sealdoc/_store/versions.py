"""Versioned S3 buckets: what a rotation leaves behind, and removing it on request.

On a bucket with versioning on, a replace (a rewrap, a rotation) and a
delete do not remove the old object: it stays as a *noncurrent version*,
with the pre-rotation ciphertext under a document key that may have
leaked. Bulk jobs say so in their report (and ``inventory`` too), and,
opted in, remove exactly the versions they replaced: the noncurrent
version of the same key whose ETag is the one the job read. Under S3
Object Lock a version cannot be removed before its retention ends, so the
removal is refused before the job starts.

``Vault.delete(doc_id, remove_versions=True)`` removes every version of
the document, not only the current one.

Plain botocore calls (``ListObjectVersions``, ``DeleteObject`` with a
``VersionId``) through the backend's ``call(method, **kwargs)``, with the
bucket already bound, so any S3 backend on botocore can use them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from .._audit import record
from ..exceptions import UnsafeStoreError

Call = Callable[..., dict[str, Any]]
log = logging.getLogger("sealdoc")


@attrs.frozen
class Versioning:
    """A bucket's versioning: ``status`` is ``Enabled``, ``Suspended`` or None (never on)."""

    status: str | None
    object_lock: bool = False
    # False when the store would not say (no s3:GetBucketObjectLockConfiguration):
    # then ``object_lock`` is True, so that no removal runs blind.
    lock_known: bool = True

    @property
    def keeps_old_versions(self) -> bool:
        # "Suspended" still keeps the versions made while it was on
        return self.status is not None

    @property
    def why_no_removal(self) -> str:
        """Why versions cannot be removed (when ``object_lock``), for a refusal."""
        if self.lock_known:
            return (
                "the bucket has S3 Object Lock, so versions cannot be removed "
                "before their retention ends"
            )
        return (
            "cannot tell whether the bucket has S3 Object Lock (reading its lock "
            "configuration was refused), so no version is removed blind"
        )


def versioning(call: Call, code_of: Callable[[BaseException], str]) -> Versioning:
    """The bucket's versioning and Object Lock state (one request; two if versioned).

    A bucket that does not exist keeps nothing (the job then finds it empty).
    A store that will not say (no ``s3:GetBucketVersioning`` permission, an
    S3-compatible store without the call) is taken as unversioned, with a
    warning: reporting is best effort, and a job must not fail for it.
    ``code_of`` gives S3's error code of an exception (the backend knows how).
    """
    try:
        status = call("get_bucket_versioning").get("Status") or None
    except Exception as exc:
        code = code_of(exc)
        if code != "NoSuchBucket":
            log.warning("cannot tell whether the bucket keeps old versions: %s", code or exc)
        return Versioning(None)
    locked = False
    if status is not None:
        try:
            config = call("get_object_lock_configuration").get("ObjectLockConfiguration", {})
            locked = config.get("ObjectLockEnabled") == "Enabled"
        except Exception as exc:  # a bucket with no lock configuration answers an error
            code = code_of(exc)
            if code != "ObjectLockConfigurationNotFoundError":
                # As for versioning itself, a job must not fail for it; but a
                # removal of versions is then refused, as under a lock.
                log.warning("cannot tell whether the bucket has Object Lock: %s", code or exc)
                return Versioning(status, object_lock=True, lock_known=False)
    return Versioning(status, locked)


def _versions(call: Call, key: str, *, markers: bool = False) -> Iterator[dict[str, Any]]:
    """Every version of exactly ``key`` (a listing by prefix also returns longer keys)."""
    marker: dict[str, str] = {}
    while True:
        page = call("list_object_versions", Prefix=key, **marker)
        found = page.get("Versions", []) + (page.get("DeleteMarkers", []) if markers else [])
        for version in found:
            if version["Key"] == key:
                yield version
        if not page.get("IsTruncated"):
            return
        marker = {
            "KeyMarker": page["NextKeyMarker"],
            "VersionIdMarker": page["NextVersionIdMarker"],
        }


def remove_replaced(call: Call, key: str, etag: str) -> int:
    """Remove the noncurrent versions of ``key`` whose ETag is ``etag``; how many."""
    removed = 0
    for version in list(_versions(call, key)):
        if not version.get("IsLatest") and version.get("ETag") == etag:
            call("delete_object", Key=key, VersionId=version["VersionId"])
            removed += 1
    return removed


def remove_all(call: Call, key: str) -> int:
    """Remove every version of ``key``, and its delete markers; how many versions."""
    removed = 0
    for version in list(_versions(call, key, markers=True)):
        call("delete_object", Key=key, VersionId=version["VersionId"])
        removed += "ETag" in version  # a delete marker holds no data
    return removed


def delete_with_versions(store: Any, path: str, url: str, kept: Versioning | None) -> None:
    """Delete ``path`` and, where ``kept`` says old versions stay, every one of them (audited).

    ``kept`` is ``versioning_of(store)``: None for a store that keeps none,
    which just deletes. Refused under Object Lock before anything is deleted.
    """
    if kept is not None and kept.object_lock:
        raise UnsafeStoreError(f"{url}: {kept.why_no_removal}; nothing of {path!r} was deleted")
    store.delete(path)
    if kept is not None:
        removed = store.remove_versions(path)
        record("store.remove_version", "ok", detail=f"{url} {path} all x{removed}")
