"""Public names imported on first use (PEP 562), for ``sealdoc`` and ``sealdoc.providers``.

``import sealdoc`` (and the command line's ``--help``) then loads no
provider, store or envelope module until a name is used
(docs/performance.md, "CLI start-up"). Each package keeps its one
``__all__``; its ``_public`` module holds the imports behind it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(
    namespace: dict[str, Any], public: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package whose globals are ``namespace``.

    The first public name asked for imports ``public`` (a module of the same
    package) and binds every name of ``__all__`` at once.
    """
    names = namespace["__all__"]
    package = namespace["__name__"]

    def get(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(public, package)
        namespace.update({n: getattr(module, n) for n in names})
        return namespace[name]

    def listing() -> list[str]:
        return sorted({*namespace, *names})

    return get, listing
