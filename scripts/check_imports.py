"""Fail on any import cycle among sealdoc's modules, lazy or not.

Builds the import graph of ``src/sealdoc`` from the source (``ast``), with
both module-level imports and imports inside functions. A cycle made only
of module-level imports is a real cycle that works by luck of order; a
cycle closed by an import inside a function is the same cycle hidden, so
both fail. Imports under ``if TYPE_CHECKING:`` never run and are left out.

An edge goes to the module actually named: ``from .x import y`` is an
edge to ``x``; ``from . import y`` is an edge to the submodule ``y`` when
there is one, else to the package's ``__init__``. Importing ``a.b.c`` runs
``a/b/__init__.py`` first, so an edge to ``sealdoc.providers._base`` is also
an edge to ``sealdoc.providers`` (which imports every provider), unless the
importer sits inside that package already (then it is under way). The root
``sealdoc/__init__.py`` is an ancestor of everything, so never such an edge.

    python scripts/check_imports.py           # exit 1 and list the cycles
    python scripts/check_imports.py --graph   # print every edge as well

The layers and what each may import are in docs/architecture.md.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "sealdoc"

# Lazy edges allowed to close a cycle, each with the reason it is not fixed.
# A new entry needs a reason a reviewer accepts; module-level edges never.
ALLOWED: Mapping[tuple[str, str], str] = {}


class Edge(NamedTuple):
    source: str
    target: str
    line: int
    lazy: bool  # inside a function body: runs at call time, not import time


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every module under the package, by dotted name."""
    found: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _walk(node: ast.AST, lazy: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Import nodes, each with whether it sits inside a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _walk(other, lazy)
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, lazy
        inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield from _walk(child, inner)


def _base(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = name.split(".")
    if not is_package:
        parts.pop()
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def _targets(name: str, is_package: bool, node: ast.AST, known: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    assert isinstance(node, ast.ImportFrom)
    base = _base(name, is_package, node)
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        yield sub if sub in known else base


def edges(modules: Mapping[str, Path]) -> list[Edge]:
    """Every import from one sealdoc module to another (self-edges dropped)."""
    known = set(modules)
    found: set[Edge] = set()
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node, lazy in _walk(tree, False):
            line = getattr(node, "lineno", 0)
            for target in _targets(name, is_package, node, known):
                for reached in (*_parents_run(name, target), target):
                    if reached in known and reached != name:
                        found.add(Edge(name, reached, line, lazy))
    return sorted(found)


def _parents_run(source: str, target: str) -> list[str]:
    """The packages whose ``__init__`` importing ``target`` runs first."""
    parts = target.split(".")
    parents = [".".join(parts[:i]) for i in range(2, len(parts))]
    return [p for p in parents if source != p and not source.startswith(p + ".")]


def cycles(graph: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    succ: dict[str, set[str]] = {}
    for edge in graph:
        succ.setdefault(edge.source, set()).add(edge.target)
        succ.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(succ[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(succ) + 100))
    for node in sorted(succ):
        if node not in index:
            visit(node)
    return found


def problems(graph: list[Edge], allowed: Mapping[tuple[str, str], str] = ALLOWED) -> list[str]:
    """One message per cycle, naming its edges and which of them are lazy."""
    kept = [e for e in graph if not (e.lazy and (e.source, e.target) in allowed)]
    messages = []
    for component in cycles(kept):
        members = set(component)
        inside = [e for e in kept if e.source in members and e.target in members]
        lines = [f"import cycle among {', '.join(component)}:"]
        for e in sorted(inside):
            how = "lazy import inside a function hides the cycle" if e.lazy else "module level"
            lines.append(f"  {e.source} -> {e.target} (line {e.line}, {how})")
        messages.append("\n".join(lines))
    stale = sorted(set(allowed) - {(e.source, e.target) for e in graph if e.lazy})
    messages.extend(f"allowlisted edge {s} -> {t} no longer exists: remove it" for s, t in stale)
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", action="store_true", help="print every edge")
    args = parser.parse_args(argv)
    graph = edges(module_names())
    if args.graph:
        for e in sorted(graph):
            print(f"{e.source} -> {e.target}{' (lazy)' if e.lazy else ''}")
    found = problems(graph)
    for message in found:
        print(message, file=sys.stderr)
    if not found:
        print(f"no import cycle among {len(module_names())} sealdoc modules")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
