"""Checks the built site's API reference: every public name has an entry.

Run by ``nox -s site`` after the build: ``python scripts/check_site.py docs/_build/html``.
A public name is one in ``__all__`` of sealdoc, sealdoc.providers,
sealdoc.exceptions or sealdoc.testing (modules themselves aside).
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

MODULES = ("sealdoc", "sealdoc.providers", "sealdoc.exceptions", "sealdoc.testing")


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


if __name__ == "__main__":
    main(Path(sys.argv[1]))
