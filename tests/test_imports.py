"""No import cycle among sealdoc's modules, whichever module is imported first.

The static check (scripts/check_imports.py) sees lazy imports inside
functions too; the dynamic one imports each module as the very first
sealdoc module of a clean ``sys.modules``, which is the order in which a
module-level cycle shows up as "partially initialized module".
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_imports.py"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # NamedTuple needs its module registered
    spec.loader.exec_module(module)
    return module


def test_the_source_tree_has_no_import_cycle() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "no import cycle" in result.stdout


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / "sealdoc" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_the_check_finds_a_cycle_a_lazy_import_hides(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "__init__.py": "",
            "_low.py": """
                def later():
                    from ._high import thing
                    return thing
            """,
            "_high.py": "from ._low import later\nthing = 1\n",
            "_fine.py": "from ._low import later\n",
        },
    )
    check = _checker()
    messages = check.problems(check.edges(check.module_names(tmp_path)), {})
    assert len(messages) == 1
    assert "sealdoc._high, sealdoc._low" in messages[0]
    assert "sealdoc._low -> sealdoc._high (line 3, lazy import inside a function" in messages[0]
    assert "sealdoc._high -> sealdoc._low (line 1, module level)" in messages[0]
    assert "_fine" not in messages[0]


def test_the_check_counts_the_subpackage_init_an_import_runs(tmp_path: Path) -> None:
    # _core imports only pkg.base, but that runs pkg/__init__, which imports
    # pkg.plugin, which imports _core: the shape of providers/ and _envelope.
    _write(
        tmp_path,
        {
            "__init__.py": "",
            "_core.py": "from .pkg.base import Base\n",
            "pkg/__init__.py": "from .base import Base\nfrom .plugin import Plugin\n",
            "pkg/base.py": "class Base: ...\n",
            "pkg/plugin.py": "from .._core import Base\nclass Plugin: ...\n",
        },
    )
    check = _checker()
    messages = check.problems(check.edges(check.module_names(tmp_path)), {})
    assert len(messages) == 1
    assert "sealdoc._core -> sealdoc.pkg (line 1, module level)" in messages[0]


def test_the_allowlist_is_empty_and_a_stale_entry_fails() -> None:
    # No cycle is excused today; the mechanism stays for a reviewed exception.
    check = _checker()
    graph = check.edges(check.module_names())
    assert dict(check.ALLOWED) == {}
    assert check.problems(graph, {("sealdoc._nowhere", "sealdoc._gone"): "x"}) != []


def test_an_allowlisted_edge_excuses_only_its_own_lazy_cycle(tmp_path: Path) -> None:
    # The shape of the cycle issue 14 removed: the envelope imports the
    # providers package, and a provider calls the envelope back lazily.
    _write(
        tmp_path,
        {
            "__init__.py": "",
            "_envelope.py": "from .providers.base import KeyProvider\n",
            "providers/__init__.py": "from .base import KeyProvider\nfrom .x import Identity\n",
            "providers/base.py": "class KeyProvider: ...\n",
            "providers/x.py": """
                class Identity:
                    def save(self):
                        from .._envelope import KeyProvider
                        return KeyProvider
            """,
        },
    )
    check = _checker()
    graph = check.edges(check.module_names(tmp_path))
    found = check.problems(graph, {})
    assert len(found) == 1
    assert "sealdoc.providers.x -> sealdoc._envelope (line 4, lazy import" in found[0]
    excused = {("sealdoc.providers.x", "sealdoc._envelope"): "reviewed"}
    assert check.problems(graph, excused) == []


_ENVELOPE_ALONE = """
import sys, types
shell = types.ModuleType("sealdoc")
shell.__path__ = [{src!r} + "/sealdoc"]
sys.modules["sealdoc"] = shell
import sealdoc._envelope, sealdoc._uri, sealdoc._owners, sealdoc._provider_api
import sealdoc._rekey, sealdoc._deliver, sealdoc._reader, sealdoc._writer, sealdoc._wrap_ad
print(sorted(k for k in sys.modules if k.startswith("sealdoc.providers")))
"""


def test_the_envelope_reaches_the_provider_contract_without_the_providers() -> None:
    # Importing the envelope must not run sealdoc/providers/__init__.py: that
    # imports every provider, and X25519Identity imports the envelope.
    code = _ENVELOPE_ALONE.format(src=str(ROOT / "src"))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Each module is imported first into a sys.modules holding no sealdoc module
# but an empty shell for the top package, so that sealdoc/__init__.py (which
# imports nearly everything in one fixed order) does not decide the order.
_FRESH_IMPORTS = """
import importlib, sys, types
names = sys.argv[1:]
failed = []
for name in names:
    for key in [k for k in sys.modules if k == "sealdoc" or k.startswith("sealdoc.")]:
        del sys.modules[key]
    if name != "sealdoc":
        shell = types.ModuleType("sealdoc")
        shell.__path__ = [{src!r} + "/sealdoc"]
        sys.modules["sealdoc"] = shell
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{{name}}: {{type(exc).__name__}}: {{exc}}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    check = _checker()
    # __main__ runs the command line when imported; test_cli runs it.
    names = sorted(n for n in check.module_names() if not n.endswith(".__main__"))
    assert "sealdoc._envelope" in names
    assert "sealdoc.providers._x25519" in names
    code = _FRESH_IMPORTS.format(src=str(ROOT / "src"))
    result = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("first", ["sealdoc.providers._x25519", "sealdoc._cli.app", "sealdoc"])
def test_a_module_imported_first_in_its_own_interpreter(first: str) -> None:
    # The one-process loop above reuses third-party modules; these entry
    # points (a provider, the CLI, the package) get a wholly new process.
    result = subprocess.run(
        [sys.executable, "-c", f"import {first}"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
