"""S3 (moto's server) and Azure Blob (Azurite) side by side, for the obstore backend's tests.

``backend`` is parametrized over both; each test gets its own bucket or
container, and can point a vault at another endpoint (a proxy in front of
the server) with the same credentials.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import sealdoc

from .azurite import azure_options, new_container
from .stores import new_bucket, s3_options

# What each service answers when it throttles (S3's SlowDown, Azure's ServerBusy)
BUSY = {
    "s3": b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>",
    "az": b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
    b"<Message>The server is currently unable to receive requests.</Message></Error>",
}


@attrs.frozen
class Backend:
    name: str  # "s3" or "az"
    endpoint: str  # the server's (Azurite's has the account as its path)
    bucket: str  # a bucket or a container, made for the test

    @property
    def url(self) -> str:
        return f"{self.name}://{self.bucket}/v"

    def options(self, endpoint: str | None = None) -> dict[str, Any]:
        """The storage options of this backend, through ``endpoint`` (a proxy) if given."""
        endpoint = endpoint or self.endpoint
        return s3_options(endpoint) if self.name == "s3" else azure_options(endpoint)

    def vault(self, keys: Any, endpoint: str | None = None, **kwargs: Any) -> sealdoc.Vault:
        return sealdoc.Vault(self.url, keys=keys, storage_options=self.options(endpoint), **kwargs)


@pytest.fixture(params=["s3", "az"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        return Backend("s3", endpoint, new_bucket(endpoint))
    endpoint = request.getfixturevalue("azurite_endpoint")
    return Backend("az", endpoint, new_container(endpoint))
