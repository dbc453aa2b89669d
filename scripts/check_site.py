"""Checks the built site: every public name has an API entry, and no option lost its dashes.

Run by ``nox -s site`` after the build: ``python scripts/check_site.py docs/_build/html``.
A public name is one in ``__all__`` of sealdoc, sealdoc.providers,
sealdoc.exceptions or sealdoc.testing (modules themselves aside).

Smart quotes turn ``--option`` into an en dash and ``---`` into an em dash;
a command pasted from such a page fails (exit 2). Any en or em dash that
starts a word, as an option name does, fails the check.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from pathlib import Path

MODULES = ("sealdoc", "sealdoc.providers", "sealdoc.exceptions", "sealdoc.testing")
# an en or em dash (or an entity for one) where an option name starts: not after a
# letter, digit or another dash (a range such as 2026-11 or a dash between spaced
# words, written with an en dash, is prose)
DASHED_OPTION = re.compile(
    r"(?<![\w\u2013\u2014-])(?:\u2013|\u2014|&#8211;|&#8212;|&ndash;|&mdash;)-?[A-Za-z][\w-]*"
)


def dashed_options(html: Path) -> list[str]:
    """``page: text`` for every option-like word that starts with an en or em dash."""
    found: list[str] = []
    for page in sorted(html.rglob("*.html")):
        name = page.relative_to(html)
        text = page.read_text(encoding="utf-8")
        found.extend(f"{name}: {m.group(0)}" for m in DASHED_OPTION.finditer(text))
    return found


def main(html: Path) -> None:
    page = (html / "reference" / "api.html").read_text(encoding="utf-8")
    documented = set()
    missing = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                continue
            anchors = {f'id="{module_name}.{name}"', f'id="sealdoc.{name}"'}
            if any(anchor in page for anchor in anchors):
                documented.add(f"{module_name}.{name}")
            else:
                missing.append(f"{module_name}.{name}")
    if missing:
        sys.exit("not in the API reference: " + ", ".join(missing))
    print(f"the API reference documents all {len(documented)} public names")
    dashed = dashed_options(html)
    if dashed:
        shown = "\n  ".join(dashed[:20])
        sys.exit(
            f"{len(dashed)} option names start with an en or em dash (smart quotes?); "
            f"a pasted command fails:\n  {shown}"
        )
    print("no option name starts with an en or em dash")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
