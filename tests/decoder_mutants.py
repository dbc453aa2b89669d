"""Mutation testing of the independent decoder against the vectors (docs/vectors.md).

A vector set pins a rule only if a reader that breaks the rule fails at
least one vector. This module makes such readers mechanically: it takes
``tests/independent_decoder.py``, breaks one rule at a time in its syntax
tree (drops a check, moves a bound by one, swaps ``and`` and ``or``, drops a
forbidden range or narrows it by one code point at either end, forgets a
counter), runs every vector through each broken decoder, and reports the
mutants that still agree with all of them. A survivor is either a rule the
vectors do not pin (add a vector) or a rule no document can show (list it in
tests/decoder_mutants_allowed.tsv with the reason, and in docs/vectors.md).

Run ``python -m tests.decoder_mutants`` for the list; ``tests/test_vectors.py``
holds the suite to it.
"""

from __future__ import annotations

import ast
import base64
import json
import multiprocessing
import os
import sys
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DECODER = ROOT / "tests" / "independent_decoder.py"
VECTORS = ROOT / "tests" / "vectors"

# Mutants that no document can tell apart from the decoder, by their id
# (see ``Mutant.id``), each with why. docs/vectors.md lists the same.
# Mutants that no document can tell apart from the decoder, by their id (see
# ``Mutant.id``), each with why: docs/vectors.md says the same in prose.
ALLOWED = ROOT / "tests" / "decoder_mutants_allowed.tsv"


def shown_by_no_document() -> dict[str, str]:
    lines = ALLOWED.read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if line and not line.startswith("#")]
    return {mutant_id: why for mutant_id, _, why in (row.partition("\t") for row in rows)}


class Mutant:
    """One broken decoder: ``id`` names the function, and what changed into what."""

    def __init__(self, function: str, change: str, tree: ast.Module) -> None:
        self.id = f"{function}: {change}"
        self.tree = tree

    def module(self) -> types.ModuleType:
        mod = types.ModuleType("independent_decoder_mutant")
        code = compile(ast.fix_missing_locations(self.tree), str(DECODER), "exec")
        sys.modules[mod.__name__] = mod  # dataclasses looks its module up there
        try:
            exec(code, mod.__dict__)
        finally:
            del sys.modules[mod.__name__]
        return with_kdf_cache(mod)


# A KDF is a pure function of its inputs, and the vectors' KDFs (up to 1 GiB
# of Argon2id) are most of the run's cost: every mutant, and the unmutated
# decoder before them, shares one table of results. A mutant still decides
# for itself whether to run a KDF; only the arithmetic is remembered.
_KDF_RESULTS: dict[tuple[Any, ...], bytes] = {}


class _Remembered:
    def __init__(self, make: Any, key: tuple[Any, ...], *args: Any, **kwargs: Any) -> None:
        self._make, self._key, self._args, self._kwargs = make, key, args, kwargs

    def derive(self, secret: bytes) -> bytes:
        key = (*self._key, secret)
        if key not in _KDF_RESULTS:
            _KDF_RESULTS[key] = self._make(*self._args, **self._kwargs).derive(secret)
        return _KDF_RESULTS[key]


def with_kdf_cache(decoder: types.ModuleType) -> types.ModuleType:
    """``decoder`` with its Argon2id and PBKDF2 remembering what they derived."""
    argon2, pbkdf2 = decoder.Argon2id, decoder.PBKDF2HMAC

    def remembered_argon2(**kw: Any) -> _Remembered:
        key = ("argon2id", kw["salt"], kw["iterations"], kw["memory_cost"], kw["lanes"])
        return _Remembered(argon2, key, **kw)

    def remembered_pbkdf2(algorithm: Any, length: int, salt: bytes, count: int) -> _Remembered:
        return _Remembered(pbkdf2, ("pbkdf2", salt, count), algorithm, length, salt, count)

    decoder.Argon2id, decoder.PBKDF2HMAC = remembered_argon2, remembered_pbkdf2  # type: ignore[attr-defined]
    return decoder


def _source(node: ast.AST) -> str:
    return ast.unparse(node).replace("\n", " ")


def _is_refusal(body: Sequence[ast.stmt]) -> bool:
    """A branch that only refuses: raise, return None or continue."""
    if len(body) != 1:
        return False
    stmt = body[0]
    if isinstance(stmt, (ast.Raise, ast.Continue)):
        return True
    return isinstance(stmt, ast.Return) and (
        stmt.value is None or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None)
    )


_FLIP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}


def _edits(tree: ast.Module) -> Iterator[tuple[str, str, ast.AST, str, Any]]:
    """(function, change, node, field, new value): each a one-rule mutation."""
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.Module)):
            continue
        name = func.name if isinstance(func, ast.FunctionDef) else "module"
        for node in _own_nodes(func):
            if isinstance(node, ast.If) and _is_refusal(node.body):
                shown = f"if {_source(node.test)}: {_source(node.body[0])}"
                yield name, f"drop `{shown}`", node, "test", ast.Constant(False)
                if isinstance(node.body[0], ast.Continue):
                    # giving up on the provider instead of trying its next wrap
                    yield name, f"`{shown}` -> break", node, "body", [ast.Break()]
            yield from _swap_edits(name, node)
            if isinstance(node, ast.Compare):
                for i, op in enumerate(node.ops):
                    if type(op) in _FLIP:
                        ops = list(node.ops)
                        ops[i] = _FLIP[type(op)]()
                        new = ast.Compare(node.left, ops, node.comparators)
                        yield name, f"`{_source(node)}` -> `{_source(new)}`", node, "ops", ops
                yield from _bound_edits(name, node)
            if isinstance(node, ast.BoolOp):
                other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
                new_op = ast.BoolOp(other, node.values)
                yield name, f"`{_source(node)}` -> `{_source(new_op)}`", node, "op", other
            if isinstance(node, ast.AugAssign):
                # forgetting a counter: ``x -= 1`` -> ``x -= 0``
                yield (
                    name,
                    f"forget `{_source(node)}`",
                    node,
                    "value",
                    ast.Constant(0),
                )
    yield from _forbidden_edits(tree)


def _swap_edits(name: str, node: ast.AST) -> Iterator[tuple[str, str, ast.AST, str, Any]]:
    """Two neighbouring statements, one of them a check, in the other order."""
    for field in ("body", "orelse"):
        block = getattr(node, field, None)
        if not isinstance(block, list):
            continue
        for i in range(len(block) - 1):
            first, second = block[i], block[i + 1]
            if not any(isinstance(s, ast.If) and _is_refusal(s.body) for s in (first, second)):
                continue
            swapped = [*block[:i], second, first, *block[i + 2 :]]
            change = f"swap `{_source(first)[:60]}` and `{_source(second)[:60]}`"
            yield name, change, node, field, swapped


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function, not of the functions inside it (they get their own name)."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _bound_edits(name: str, node: ast.Compare) -> Iterator[tuple[str, str, ast.AST, str, Any]]:
    """Each integer bound in a comparison, one more and one less."""
    operands = [node.left, *node.comparators]
    for i, operand in enumerate(operands):
        if not _is_int(operand):
            continue
        for delta in (1, -1):
            moved = ast.BinOp(operand, ast.Add() if delta > 0 else ast.Sub(), ast.Constant(1))
            new_operands = list(operands)
            new_operands[i] = moved
            new = ast.Compare(new_operands[0], node.ops, new_operands[1:])
            field, value = ("left", moved) if i == 0 else ("comparators", new_operands[1:])
            yield name, f"`{_source(node)}` -> `{_source(new)}`", node, field, value


def _is_int(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.BinOp):
        return _is_int(node.left) and _is_int(node.right)
    return False


def _forbidden_edits(tree: ast.Module) -> Iterator[tuple[str, str, ast.AST, str, Any]]:
    """3.6's table: drop each range, or narrow it by one code point at either end."""
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and _target(node) == "_FORBIDDEN"):
            continue
        assert isinstance(node.value, ast.List)
        ranges = node.value.elts
        for i, item in enumerate(ranges):
            assert isinstance(item, ast.Tuple)
            lo, hi = (ast.literal_eval(e) for e in item.elts)
            label = f"U+{lo:04X}-U+{hi:04X}"
            yield "_FORBIDDEN", f"drop {label}", node.value, "elts", ranges[:i] + ranges[i + 1 :]
            moved = [(lo + 1, hi), (lo, hi - 1), (lo - 1, hi), (lo, hi + 1)]
            for new_lo, new_hi in moved:
                if new_lo > new_hi or new_lo < 0:
                    continue
                new_item = ast.Tuple([ast.Constant(new_lo), ast.Constant(new_hi)], ast.Load())
                how = "narrow" if new_hi - new_lo < hi - lo else "widen"
                change = f"{how} {label} to U+{new_lo:04X}-U+{new_hi:04X}"
                new_list = [*ranges[:i], new_item, *ranges[i + 1 :]]
                yield "_FORBIDDEN", change, node.value, "elts", new_list


def _target(node: ast.Assign) -> str:
    target = node.targets[0]
    return target.id if isinstance(target, ast.Name) else ""


def mutant(index: int) -> Mutant:
    """The ``index``-th mutant, made on a fresh tree (edits are made in place)."""
    tree = ast.parse(DECODER.read_text())
    function, change, node, field, value = list(_edits(tree))[index]
    setattr(node, field, value)
    return Mutant(function, change, tree)


def mutant_count() -> int:
    return sum(1 for _ in _edits(ast.parse(DECODER.read_text())))


def load_vectors() -> list[dict[str, Any]]:
    """Every vector, the cheap ones first: most mutants die on the first few."""
    vectors = [json.loads(p.read_text()) for p in sorted(VECTORS.glob("*.json"))]
    return sorted(vectors, key=_cost)


def _cost(vector: dict[str, Any]) -> int:
    """0 for no KDF, 1 for the floors' KDFs, 2 for a ceiling a mutant may run."""
    if not any(k["kind"] == "password" for k in vector["keys"]):
        return 0
    return 2 if "ceiling" in vector["name"] else 1


def outcome(decoder: Any, vector: dict[str, Any]) -> tuple[str, bytes | None]:
    """What ``decoder`` says of a vector, in the vectors' words, and the plaintext."""
    keks = [decoder.Kek(k["kind"], k["key_id"], k["version"], _secret(k)) for k in vector["keys"]]
    sealed = base64.b64decode(vector["sealed"])
    try:
        plaintext = decoder.decode(sealed, keks, vector["context"], vector["binding"])
    except decoder.MalformedError as exc:
        return f"header failure: {exc}", None
    except decoder.CannotOpenError as exc:
        return f"{exc.stage} failure: {exc}", None
    except decoder.ArgumentError as exc:
        return f"argument failure: {exc}", None
    return "success", plaintext


def agrees(decoder: Any, vector: dict[str, Any]) -> bool:
    said, plaintext = outcome(decoder, vector)
    if said != vector["expect"]:
        return False
    return said != "success" or plaintext == base64.b64decode(vector["plaintext"])


def _secret(entry: dict[str, Any]) -> bytes:
    if entry["kind"] == "password":
        return bytes(entry["password"].encode())
    field = {"x25519": "private_key", "mlkem768x25519": "seed"}.get(entry["kind"], "kek")
    return bytes.fromhex(entry[field])


_VECTORS: list[dict[str, Any]] = []


def _survives(index: int) -> str | None:
    """The mutant's id if it agrees with every vector, else None."""
    if not _VECTORS:
        _VECTORS.extend(load_vectors())
    one = mutant(index)
    decoder = one.module()
    try:
        return one.id if all(agrees(decoder, v) for v in _VECTORS) else None
    except Exception:
        return None


def survivors() -> list[str]:
    """The ids of the mutants that agree with every vector, on every core."""
    if not _VECTORS:
        _VECTORS.extend(load_vectors())
    # the decoder as written first, in this process: its KDF results reach every worker
    decoder = Mutant("none", "none", ast.parse(DECODER.read_text())).module()
    for vector in _VECTORS:
        agrees(decoder, vector)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=context) as pool:
        found = pool.map(_survives, range(mutant_count()), chunksize=4)
        return [m for m in found if m is not None]


def main() -> int:
    alive = survivors()
    total = mutant_count()
    unexplained = [m for m in alive if m not in shown_by_no_document()]
    print(f"{total} mutants, {len(alive)} survive, {len(unexplained)} unexplained")
    for mutant_id in alive:
        reason = shown_by_no_document().get(mutant_id, "NOT PINNED: add a vector")
        print(f"  {mutant_id}\n      {reason}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
