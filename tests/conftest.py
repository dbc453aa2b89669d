from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import sealdoc

# the store fixtures (a local folder, memory, S3 on moto's server)
pytest_plugins = [
    "tests.stores",
    "tests.hsm",
    "tests.browser",
    "tests.serving",
    "tests.azurite",
    "tests.objstores",
    "tests.pg",
]

# Known keyring ids for the ring fixtures, so that tests can spell their
# key references ("memory:default@kr-00000000000a#1").
RING = "kr-00000000000a"
OTHER_RING = "kr-00000000000b"

settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def ring() -> sealdoc.MemoryKeyring:
    return sealdoc.MemoryKeyring(ring_id=RING)


@pytest.fixture
def other_ring() -> sealdoc.MemoryKeyring:
    return sealdoc.MemoryKeyring(ring_id=OTHER_RING)
