"""scripts/check_site.py fails on an option name whose dashes smart quotes ate (issue 19, item 18).

The site itself is built by ``nox -s site`` (which runs the script on it);
these pages are small copies of what sphinx-click writes, with and without
smart quotes, so the check is shown to fail and to pass without a build.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "scripts" / "check_site.py"
OPTION = '<span class="sig-name descname"><span class="pre">{}prefix</span></span>'


def _check_site() -> object:
    spec = importlib.util.spec_from_file_location("check_site", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site(tmp_path: Path, dashes: str, prose: str = "") -> Path:
    (tmp_path / "reference").mkdir(parents=True)
    page = (
        f"<p>{prose}</p><dt>{OPTION.format(dashes)}</dt><pre>sealdoc rewrap {dashes}dry-run</pre>"
    )
    (tmp_path / "reference" / "cli.html").write_text(page, encoding="utf-8")
    return tmp_path


def test_an_en_or_em_dash_in_an_option_name_is_found(tmp_path: Path) -> None:
    check = _check_site()
    for dashes in ("\u2013", "\u2014", "&#8211;", "\u2013-"):
        found = check.dashed_options(_site(tmp_path / repr(dashes), dashes))  # type: ignore[attr-defined]
        assert [f.split(": ", 1)[1] for f in found] == [f"{dashes}prefix", f"{dashes}dry-run"]


def test_plain_options_and_prose_dashes_pass(tmp_path: Path) -> None:
    check = _check_site()
    prose = "statements 2026\u201311 \u2013 the runbook\u2014step 3 \u2014 done"
    assert check.dashed_options(_site(tmp_path, "--", prose)) == []  # type: ignore[attr-defined]


def test_the_sphinx_config_keeps_double_dashes() -> None:
    text = (SCRIPT.parent.parent / "docs" / "conf.py").read_text(encoding="utf-8")
    assert re.search(r"^smartquotes = False$", text, re.MULTILINE)
