"""The stores the storage tests run on: a local folder, memory, and S3 over HTTP.

S3 is moto's server on 127.0.0.1 (a real HTTP endpoint; boto3 and s3fs talk
to it as to AWS), started once per test session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import fsspec
import pytest

from sealdoc import BulkReport, Vault


@attrs.frozen
class Store:
    name: str
    url: str
    storage_options: dict[str, Any]

    def fs(self) -> Any:
        fs, _ = fsspec.core.url_to_fs(self.url, **self.storage_options)
        return fs

    @property
    def root(self) -> str:
        _, root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        return str(root)

    def chained(self, path: str) -> str:
        """A ``sealdoc::`` URL for ``path`` under this store."""
        return f"sealdoc::{self.url}/{path}"

    def chained_options(self, **sealdoc: Any) -> dict[str, Any]:
        protocol = self.url.split("://", 1)[0]
        options = {"sealdoc": sealdoc}
        if self.storage_options:
            options[protocol] = self.storage_options
        return options


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        os.environ[name] = value
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_options(endpoint: str) -> dict[str, Any]:
    return {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": endpoint,
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }


def new_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"sealdoc-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=["file", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Store:
    if request.param == "file":
        return Store("file", f"file://{tmp_path}/vault", {})
    if request.param == "memory":
        return Store("memory", f"memory://t{uuid.uuid4().hex}/vault", {})
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = new_bucket(endpoint)
    return Store("s3", f"s3://{bucket}/vault", s3_options(endpoint))


def filled(where: Store | str, keys: Any, count: int, *, tenants: str = "", **kwargs: Any) -> Vault:
    """A Vault at ``where`` holding ``docs/0000`` ... (``count`` of them), each its own text.

    ``tenants``: the context ``tenant`` of document i is ``tenants[i % len(tenants)]``
    (none when empty). A :class:`Store` brings its storage options.
    """
    if isinstance(where, Store):
        kwargs.setdefault("storage_options", where.storage_options)
        where = where.url
    vault = Vault(where, keys=keys, **kwargs)
    for i in range(count):
        context = {"tenant": tenants[i % len(tenants)]} if tenants else None
        vault.put(f"docs/{i:04}", b"statement %d" % i, context=context)
    return vault


def adds_up(report: BulkReport) -> None:
    """Every document the job listed is counted once, under exactly one outcome."""
    parts = (
        report.rewritten,
        report.would_rewrite,
        report.skipped,
        report.resumed,
        len(report.failed),
        len(report.changed),
        len(report.missing),
        report.abandoned,
    )
    assert sum(parts) == report.scanned
