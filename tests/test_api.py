"""The public surface: names, sorting, types shipped."""

from __future__ import annotations

import importlib
from pathlib import Path

import sealdoc
import sealdoc.exceptions
import sealdoc.providers


def test_all_is_sorted_and_complete() -> None:
    for module in (sealdoc, sealdoc.exceptions, sealdoc.providers):
        names = list(module.__all__)
        assert names == sorted(names), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


# Public modules imported on demand, not by ``import sealdoc`` (sealdoc.testing
# needs pytest); importing them adds an attribute to the package.
ON_DEMAND = {"aio", "serve", "testing"}


def test_public_names_only_at_the_top() -> None:
    public = {n for n in dir(sealdoc) if not n.startswith("_")}
    assert public - ON_DEMAND == set(sealdoc.__all__)
    assert set(sealdoc.__all__).isdisjoint(ON_DEMAND)


def test_errors_are_re_exported() -> None:
    for name in ("SealdocError", "DecryptionError", "FormatError", "KeyProviderError"):
        assert getattr(sealdoc, name) is getattr(sealdoc.exceptions, name)
        assert issubclass(getattr(sealdoc, name), sealdoc.SealdocError)


def test_py_typed_is_shipped() -> None:
    assert (Path(sealdoc.__file__).parent / "py.typed").exists()


def test_builtin_providers_satisfy_the_protocol() -> None:
    assert isinstance(sealdoc.MemoryKeyring(), sealdoc.KeyProvider)


def test_private_modules_are_private() -> None:
    package = Path(sealdoc.__file__).parent
    for path in package.glob("*.py"):
        if path.stem in {"__init__", "__main__", "exceptions"}:
            continue
        assert path.stem.startswith("_"), f"{path.name} should be private or listed here"
        importlib.import_module(f"sealdoc.{path.stem}")
