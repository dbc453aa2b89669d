"""examples/serve_portal.py runs as a user would run it, and shows what it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "serve_portal.py"


def test_the_portal_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("200 text/plain")
    assert lines[1].startswith("206 bytes 0-31/")
    assert "C-2048/2026-11.txt for -: denied" in done.stdout
    assert "Traceback" not in done.stderr
