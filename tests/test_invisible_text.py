"""Invisible characters in header text are escaped wherever sealdoc shows it (format.md 3.6).

Issue 19, item 12: U+034F, U+FE0F, the Hangul fillers U+115F, U+1160,
U+3164, U+FFA0 and the other Default_Ignorable_Code_Point characters passed
the forbidden table and printed as nothing, so a key id or tenant
"acme" + U+3164 read as "acme" in ``sealdoc inspect`` and audit lines. They
stay allowed in a header (a document holding one still opens) and are
escaped when shown.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import regex  # type: ignore[import-untyped]

import sealdoc
from sealdoc import DecryptionError
from sealdoc._cli.text import shown
from sealdoc._text import INVISIBLE_RANGES, forbidden_char, safe
from sealdoc.providers import Password

DEFAULT_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
REPORTED = ["\u034f", "\ufe0f", "\u115f", "\u1160", "\u3164", "\uffa0"]


def default_ignorables() -> list[str]:
    return [chr(cp) for cp in range(sys.maxunicode + 1) if DEFAULT_IGNORABLE.match(chr(cp))]


def test_every_default_ignorable_is_escaped_by_safe_and_shown() -> None:
    found = default_ignorables()
    assert len(found) > 4000  # the property as the regex module knows it
    assert all(c in found for c in REPORTED)
    unescaped = [f"U+{ord(c):04X}" for c in found if safe(c) == c or shown(c) == c]
    assert unescaped == []


def test_the_invisible_table_is_exactly_the_default_ignorables_not_forbidden() -> None:
    """One list of ranges, no more than the property: visible text is never escaped."""
    invisible = [chr(cp) for a, b in INVISIBLE_RANGES for cp in range(a, b + 1)]
    assert all(DEFAULT_IGNORABLE.match(c) for c in invisible)
    assert all(forbidden_char(c) is None for c in invisible)  # allowed in a header
    assert safe("café 東京 😀 ❤") == "café 東京 😀 ❤"


@pytest.mark.parametrize("char", REPORTED, ids=[f"U+{ord(c):04X}" for c in REPORTED])
def test_a_document_holding_one_still_opens(char: str) -> None:
    ring = sealdoc.MemoryKeyring()
    context = {"tenant": f"acme{char}"}
    sealed = sealdoc.seal(b"x", keys=ring, context=context)
    assert sealdoc.open(sealed, keys=ring, context=context) == b"x"


def spoofed() -> bytes:
    """A document whose tenant and key id look like "acme" and "password"."""
    return sealdoc.seal(
        b"x",
        keys=Password("tulip-quarry-anthem-ledger", label="password\u3164"),
        context={"tenant": "acme\u115f\u1160"},
    )


def test_audit_lines_escape_them(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sealdoc"), pytest.raises(DecryptionError):
        sealdoc.open(spoofed(), keys=Password("another-password-entirely"))
    lines = [r.getMessage() for r in caplog.records if r.name == "sealdoc.audit"]
    assert any("password\\u3164" in line for line in lines)
    assert not any("\u3164" in line for line in lines)


def test_sealdoc_inspect_escapes_them(tmp_path: Path) -> None:
    (tmp_path / "doc.sdoc").write_bytes(spoofed())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    out = subprocess.run(
        [sys.executable, "-m", "sealdoc", "inspect", "doc.sdoc"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    assert "acme\\u115f\\u1160" in out
    assert "password\\u3164" in out
    assert "\u3164" not in out
    assert "\u115f" not in out
