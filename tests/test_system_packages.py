"""scripts/system-packages.sh waits for another apt run's lock instead of failing at once.

Taking the real dpkg lock here would stall or break any other apt run on
the machine (a CI runner's own), so the test reads the script: every
apt-get it runs must carry a bounded lock timeout.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "system-packages.sh"


def apt_runs() -> list[list[str]]:
    runs = []
    for line in SCRIPT.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "apt-get":  # commands, not the echoed advice
            runs.append(words)
    return runs


def test_every_apt_get_waits_a_bounded_time_for_the_dpkg_lock() -> None:
    runs = apt_runs()
    assert any("update" in run for run in runs)
    assert any("install" in run for run in runs)
    for run in runs:
        options = [run[i + 1] for i, word in enumerate(run[:-1]) if word == "-o"]
        timeouts = [o for o in options if o.startswith("DPkg::Lock::Timeout=")]
        assert timeouts, f"apt-get without a lock timeout: {shlex.join(run)}"
        seconds = int(timeouts[0].partition("=")[2])
        assert 60 <= seconds <= 1800, seconds  # waits, but not for ever


def test_the_readme_says_what_the_suite_installs_and_how_to_run_it_without_root() -> None:
    readme = (SCRIPT.parent.parent / "README.md").read_text()
    assert "as root it installs" in readme
    assert re.search(r"2-core machine the tests take about \d+ minutes", readme)
    for test_file in ("test_pkcs11.py", "test_html_page.py", "test_pdf_export.py"):
        assert f"--ignore=tests/{test_file}" in readme
        assert (SCRIPT.parent.parent / "tests" / test_file).exists()
