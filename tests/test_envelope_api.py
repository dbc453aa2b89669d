"""The envelope package's internal API: other modules use only what its ``__init__`` lists."""

from __future__ import annotations

import ast
from pathlib import Path

import sealdoc
import sealdoc._envelope as envelope

SRC = Path(__file__).resolve().parent.parent / "src" / "sealdoc"
PACKAGE = SRC / "_envelope"


def _imports_of_envelope() -> list[tuple[str, int, str, str]]:
    """(file, line, module named, name) for each name a module outside the package imports."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if PACKAGE in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and "_envelope" in node.module:
                found += [(path.name, node.lineno, node.module, a.name) for a in node.names]
    return found


def test_other_modules_import_the_package_never_a_file_inside_it() -> None:
    imports = _imports_of_envelope()
    assert imports, "nothing imports the envelope: the scan is broken"
    inside = [i for i in imports if i[2].split(".")[-1] != "_envelope"]
    assert inside == []


def test_other_modules_import_only_the_names_the_api_lists() -> None:
    outside_api = [i for i in _imports_of_envelope() if i[3] not in envelope.__all__]
    assert outside_api == []
    assert not [i for i in _imports_of_envelope() if i[3].startswith("_")]


def test_the_api_is_sorted_plain_and_complete() -> None:
    names = list(envelope.__all__)
    assert names == sorted(names)
    assert all(not n.startswith("_") for n in names)
    assert all(hasattr(envelope, n) for n in names)


def test_the_public_verbs_are_the_envelope_functions() -> None:
    for name in ("seal", "open", "inspect", "seal_stream", "open_stream"):
        assert getattr(sealdoc, name) is getattr(envelope, name)


def test_no_file_of_the_package_is_named_like_a_function_it_exports() -> None:
    # sealdoc._envelope.seal must be the function, never a submodule
    files = {p.stem for p in PACKAGE.glob("*.py")}
    assert files.isdisjoint(envelope.__all__)
    assert callable(envelope.seal)
    assert callable(envelope.open)
    assert callable(envelope.unlock)
