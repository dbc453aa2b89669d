"""Throttling on S3 through obstore: back-off, then success or a clear StoreError.

A proxy in front of moto's server (tests/proxy.py) answers the first
requests with S3's ``503 SlowDown`` and forwards the rest unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import attrs
import pytest

import sealdoc
from sealdoc.aio import AsyncVault

from .objstores import BUSY
from .proxy import Canned, FaultProxy, FirstAnswered
from .stores import new_bucket, s3_options


@attrs.frozen
class Throttle:
    endpoint: str
    fault: FirstAnswered

    @property
    def throttled(self) -> int:
        return self.fault.answered


@pytest.fixture
def throttle(request: pytest.FixtureRequest, moto_endpoint: str) -> Iterator[Throttle]:
    fault = FirstAnswered(Canned(503, BUSY["s3"]), request.param)
    with FaultProxy(moto_endpoint, fault) as proxy:
        yield Throttle(proxy.endpoint, fault)


@pytest.mark.parametrize("throttle", [2], indirect=True)
def test_a_throttled_request_backs_off_and_succeeds(throttle: Throttle, moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint)
    options = {**s3_options(moto_endpoint), "endpoint_url": throttle.endpoint}
    vault = AsyncVault(f"s3://{bucket}/v", keys=sealdoc.MemoryKeyring(), storage_options=options)

    async def main() -> bytes:
        await vault.put("doc", b"statement")
        return await vault.get("doc")

    assert asyncio.run(main()) == b"statement"
    assert throttle.throttled == 2


@pytest.mark.parametrize("throttle", [-1], indirect=True)  # every request
def test_throttling_that_lasts_ends_in_a_clear_store_error(
    throttle: Throttle, moto_endpoint: str
) -> None:
    bucket = new_bucket(moto_endpoint)
    options = {**s3_options(moto_endpoint), "endpoint_url": throttle.endpoint}
    vault = AsyncVault(f"s3://{bucket}/v", keys=sealdoc.MemoryKeyring(), storage_options=options)
    start = time.monotonic()
    with pytest.raises(sealdoc.StoreError, match=f"s3://{bucket}/v") as caught:
        asyncio.run(vault.put("doc", b"statement"))
    assert "503" in str(caught.value) or "SlowDown" in str(caught.value)
    assert throttle.throttled == 5  # the first try and obstore's 4 retries
    assert time.monotonic() - start < 30  # bounded back-off
