"""A private SoftHSM2 token directory for the test session (docs/pkcs11.md).

SOFTHSM2_CONF must point at it before the PKCS#11 module is first loaded in
the process, so the fixture is session-wide; tokens are found by label.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"


TOKENS = ("sealdoc-a", "sealdoc-b", "sealdoc-c")
_next = itertools.count()


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The token directory, with TOKENS initialised before the module is first loaded.

    SoftHSM2 reads its slot list once, when the module is initialised: a token
    made later by softhsm2-util is not seen by this process. Tests share the
    tokens and tell their keys apart by label.
    """
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in TOKENS:
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                "12345678",
                "--pin",
                PIN,
            ],
            check=True,
            capture_output=True,
        )
    yield conf
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def new_token() -> str:
    """One of the session's tokens (keys in it are told apart by label)."""
    return TOKENS[next(_next) % len(TOKENS)]
