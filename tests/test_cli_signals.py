"""SIGINT and SIGTERM sent to a running ``sealdoc rewrap``: a clean stop, a summary, 130/143.

The job runs with a key provider that is slow on purpose (a ``slow:`` key
URI, registered through an entry point in a temporary folder) and that
marks when it first unwraps, so the signal always arrives mid-job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sealdoc

from .test_cli import PASS, run

SLOW_PROVIDER = '''
import os
import time
from pathlib import Path

from sealdoc.providers import LocalKeyring


class Slow:
    """A LocalKeyring whose unwraps take a while; it marks its first one."""

    def __init__(self, ring, mark):
        self._ring = ring
        self._mark = mark
        self.kind = ring.kind

    def __repr__(self):
        return "Slow()"

    def wrap(self, dek, ad):
        return self._ring.wrap(dek, ad)

    def unwrap(self, wrapped, ad):
        Path(self._mark).touch()
        time.sleep(0.25)
        return self._ring.unwrap(wrapped, ad)

    def handles(self, wrapped):
        return self._ring.handles(wrapped)

    def __getattr__(self, name):
        return getattr(self._ring, name)


def from_uri(uri, **options):
    path = uri.split("://", 1)[1]
    ring = LocalKeyring.load(path, passphrase=os.environ["SEALDOC_PASSPHRASE"])
    return Slow(ring, path + ".started")
'''
DOCS = 24


def _slow_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    info = site / "sealdoc_slow_test-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sealdoc-slow-test\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[sealdoc.key_providers]\nslow = slowkeys:from_uri\n")
    (site / "slowkeys.py").write_text(SLOW_PROVIDER)
    return site


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_job_cleanly_and_resume_finishes_it(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    url = f"file://{tmp_path}/store"
    vault = sealdoc.Vault(url, keys=ring)
    for i in range(DOCS):
        vault.put(f"acme/{i:02}", b"statement %d" % i)
    assert run(tmp_path, "keys", "rotate").returncode == 0
    site = _slow_site(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    env["SEALDOC_KEYRING"] = str(tmp_path / "ring.json")
    env["SEALDOC_PASSPHRASE"] = PASS
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    checkpoint = tmp_path / "rewrap.checkpoint"
    args = ["rewrap", url, "--workers", "1", "--resume", str(checkpoint), "--json"]
    job = subprocess.Popen(
        [sys.executable, "-m", "sealdoc", *args, "--key", f"slow://{tmp_path / 'ring.json'}"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    started = tmp_path / "ring.json.started"
    # under way: the provider has unwrapped and the job has begun its checkpoint (a
    # job's first unwrap may be its root check, before any document is rewritten)
    deadline = time.monotonic() + 60
    while (
        not (started.exists() and checkpoint.exists())
        and job.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    if not (started.exists() and checkpoint.exists()):
        pytest.fail(f"the job never got under way: {job.communicate()}")
    job.send_signal(signum)
    out, err = job.communicate(timeout=60)
    assert job.returncode == code, err
    report = json.loads(out)
    assert report["interrupted"] is True
    assert report["rewritten"] < DOCS
    assert f"interrupted by {signum.name}".encode() in err
    assert f"--resume {checkpoint}".encode() in err
    assert b"Traceback" not in err
    assert checkpoint.exists()
    assert not list((tmp_path / "store").rglob("*.partial"))
    # the rerun with the same checkpoint does the rest, and only the rest
    again = run(tmp_path, *args)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["rewritten"] == DOCS - report["rewritten"], (report, second)
    counts = json.loads(run(tmp_path, "inventory", url, "--json").stdout)["counts"]
    assert [(label.endswith("#2"), n) for label, n in counts.items()] == [(True, DOCS)]
