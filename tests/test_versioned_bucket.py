"""Versioned S3 buckets keep the ciphertext a rotation replaced (issue 19, item 9).

Against moto's server: a bucket with versioning on keeps each replaced
object as a noncurrent version. Jobs and ``inventory`` say so; opted in, a
job removes exactly the versions it replaced (audited), and refuses to
start under Object Lock.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

import sealdoc
from sealdoc import MemoryKeyring, UnsafeStoreError, Vault

from .stores import s3_options


def _bucket(endpoint: str, *, lock: bool = False) -> str:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    name = f"sealdoc-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _versions(endpoint: str, bucket: str) -> dict[str, list[dict[str, Any]]]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    found: dict[str, list[dict[str, Any]]] = {}
    for v in client.list_object_versions(Bucket=bucket).get("Versions", []):
        found.setdefault(v["Key"], []).append(v)
    return found


def _filled(endpoint: str, bucket: str, ring: MemoryKeyring) -> Vault:
    vault = Vault(f"s3://{bucket}/vault", keys=ring, storage_options=s3_options(endpoint))
    for i in range(3):
        vault.put(f"docs/{i}", b"statement %d" % i)
    vault.put("docs-2/x", b"a key that shares a prefix")  # listed by prefix, never removed
    return vault


@pytest.mark.parametrize("operation", ["rewrap", "rotate"])
def test_a_job_says_the_bucket_keeps_the_old_ciphertext(moto_endpoint: str, operation: str) -> None:
    ring = MemoryKeyring()
    bucket = _bucket(moto_endpoint)
    vault = _filled(moto_endpoint, bucket, ring)
    assert vault.inventory().versioning == "Enabled"
    ring.rotate()
    report = (vault.rewrap_all if operation == "rewrap" else vault.rotate_all)(prefix="docs/")
    assert (report.rewritten, report.versioning) == (3, "Enabled")
    assert (report.replaced_versions_kept, report.replaced_versions_removed) == (3, 0)
    assert all(
        len(v) == 2 for v in _versions(moto_endpoint, bucket).values() if "docs/" in v[0]["Key"]
    )


def test_removal_takes_exactly_the_replaced_versions_and_is_audited(moto_endpoint: str) -> None:
    ring = MemoryKeyring()
    bucket = _bucket(moto_endpoint)
    vault = _filled(moto_endpoint, bucket, ring)
    before = {k: v[0]["ETag"] for k, v in _versions(moto_endpoint, bucket).items()}
    vault.put("docs/0", b"statement 0, corrected")  # an older version the job did not replace
    ring.rotate()
    events: list[sealdoc.AuditEvent] = []
    remove_hook = sealdoc.add_audit_hook(events.append)
    try:
        report = vault.rotate_all(prefix="docs/", remove_replaced_versions=True)
    finally:
        remove_hook()
    assert (report.replaced_versions_removed, report.replaced_versions_kept) == (3, 0)
    left = _versions(moto_endpoint, bucket)
    key0 = "vault/docs/0.sdoc"
    # docs/0: the first version (not replaced by the job) stays with the current one
    assert [v["ETag"] for v in left[key0] if not v["IsLatest"]] == [before[key0]]
    for i in (1, 2):
        assert [v["IsLatest"] for v in left[f"vault/docs/{i}.sdoc"]] == [True]
    assert len(left["vault/docs-2/x.sdoc"]) == 1  # untouched
    removals = [e for e in events if e.operation == "store.remove_version"]
    assert [e.outcome for e in removals] == ["ok"] * 3
    for i in range(3):
        assert vault.get(f"docs/{i}").startswith(b"statement")


def test_object_lock_refuses_the_removal_before_the_job(moto_endpoint: str) -> None:
    ring = MemoryKeyring()
    bucket = _bucket(moto_endpoint, lock=True)
    vault = _filled(moto_endpoint, bucket, ring)
    ring.rotate()
    with pytest.raises(UnsafeStoreError, match="Object Lock"):
        vault.rewrap_all(remove_replaced_versions=True)
    assert all(len(v) == 1 for v in _versions(moto_endpoint, bucket).values())  # nothing done
    report = vault.rewrap_all()  # without removal it runs, and says what it left
    assert (report.rewritten, report.replaced_versions_kept) == (4, 4)


def test_an_unversioned_bucket_reports_nothing(moto_endpoint: str) -> None:
    ring = MemoryKeyring()
    name = f"sealdoc-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket=name
    )
    vault = _filled(moto_endpoint, name, ring)
    ring.rotate()
    report = vault.rewrap_all(remove_replaced_versions=True)
    assert (report.versioning, report.replaced_versions_kept) == (None, 0)
    assert vault.inventory().versioning is None


def test_delete_can_remove_every_version(moto_endpoint: str) -> None:
    ring = MemoryKeyring()
    bucket = _bucket(moto_endpoint)
    vault = _filled(moto_endpoint, bucket, ring)
    vault.put("docs/0", b"statement 0, corrected")
    vault.delete("docs/1")  # the default: S3 keeps the old version behind a delete marker
    assert len(_versions(moto_endpoint, bucket)["vault/docs/1.sdoc"]) == 1
    vault.delete("docs/0", remove_versions=True)
    assert "vault/docs/0.sdoc" not in _versions(moto_endpoint, bucket)
    locked = _filled(moto_endpoint, _bucket(moto_endpoint, lock=True), ring)
    with pytest.raises(UnsafeStoreError, match="Object Lock"):
        locked.delete("docs/2", remove_versions=True)
    assert locked.get("docs/2") == b"statement 2"  # nothing was deleted


def test_the_cli_says_what_the_bucket_kept_and_removes_it_on_request(
    tmp_path: Any, moto_endpoint: str
) -> None:
    from .test_cli import PASS, run

    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    bucket = _bucket(moto_endpoint)
    url = f"s3://{bucket}/vault"
    vault = Vault(url, keys=ring, storage_options=s3_options(moto_endpoint))
    for i in range(3):
        vault.put(f"docs/{i}", b"x")
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    listed = run(tmp_path, "inventory", url, env=env)
    assert b"versioning: Enabled" in listed.stdout, listed.stderr
    assert run(tmp_path, "keys", "rotate").returncode == 0
    kept = run(tmp_path, "rewrap", url, env=env)
    assert kept.returncode == 0, kept.stderr
    assert b"versioned bucket (Enabled): 0 replaced versions removed, 3 kept" in kept.stderr
    assert run(tmp_path, "keys", "rotate").returncode == 0
    removed = run(tmp_path, "rotate", url, "--remove-replaced-versions", env=env)
    assert removed.returncode == 0, removed.stderr
    assert b"3 replaced versions removed, 0 kept" in removed.stderr
    # the versions of the first rewrap stay: this job removed only those it replaced
    assert all(len(v) == 2 for v in _versions(moto_endpoint, bucket).values())


def _deny_lock_configuration(vault: Vault) -> None:
    """The job's role lacks s3:GetBucketObjectLockConfiguration: S3 answers 403 AccessDenied."""
    from botocore.awsrequest import AWSResponse

    def deny(**_: Any) -> Any:
        error = {"Code": "AccessDenied", "Message": "Access Denied"}
        return AWSResponse("http://x", 403, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    backend: Any = vault._backend
    s3 = backend._s3() if hasattr(backend, "_s3") else backend  # obstore's: botocore inside
    client = s3._clients.client()
    client.meta.events.register("before-call.s3.GetObjectLockConfiguration", deny)


def test_a_lock_state_it_may_not_read_fails_no_job_and_refuses_removal(
    moto_endpoint: str,
) -> None:
    # Found in review: a versioned bucket whose lock configuration the job may
    # not read failed every job (rewrap, rotate, inventory), while the same
    # for versioning itself is a warning; and a removal must not run blind.
    ring = MemoryKeyring()
    bucket = _bucket(moto_endpoint)
    vault = _filled(moto_endpoint, bucket, ring)
    _deny_lock_configuration(vault)
    assert vault.inventory().versioning == "Enabled"
    ring.rotate()
    with pytest.raises(UnsafeStoreError, match="cannot tell whether the bucket has S3 Object Lock"):
        vault.rewrap_all(remove_replaced_versions=True)
    with pytest.raises(UnsafeStoreError, match="cannot tell"):
        vault.delete("docs/0", remove_versions=True)
    assert vault.exists("docs/0")
    report = vault.rewrap_all()
    assert (report.rewritten, report.replaced_versions_kept) == (4, 4)
