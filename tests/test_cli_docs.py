"""The shell blocks of docs/ marked ``<!-- test: run -->`` run as written, and pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"<!-- test: run -->\s*```sh\n(.*?)```", re.DOTALL)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for number, match in enumerate(_BLOCK.finditer(page.read_text("utf-8"))):
            found.append((page.name, number, match.group(1)))
    return found


BLOCKS = _blocks()


def test_the_cli_page_has_runnable_blocks() -> None:
    assert any(name == "cli.md" for name, _, _ in BLOCKS)


@pytest.mark.parametrize(("page", "number", "script"), BLOCKS, ids=lambda v: str(v)[:20])
def test_a_shell_block_runs(tmp_path: Path, page: str, number: int, script: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "sealdoc"  # the installed console script, as this interpreter runs it
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sealdoc "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, (page, number, result.stdout, result.stderr)
    assert b"Traceback" not in result.stderr
