"""The ``sealdoc`` command line: a private package, one module per command group.

``app`` (the root group and its global options), ``keys``, ``files`` (seal,
open, inspect), ``store`` (rewrap, rotate, inventory), ``vault``,
``deliver``, ``identity``, ``serve``, ``customers`` (a KeyStore); beside them
``config`` (the TOML file),
``credentials`` (secrets from files, variables, prompts), ``streams``
(inputs and all-or-nothing outputs), ``errors`` and ``exit_codes`` (one
table, in docs/cli.md), ``progress`` and ``text`` (escaping what documents
say before it reaches a terminal). Add a command in the module of its group,
or a new module added here.
"""

from __future__ import annotations

from .app import cli
from .config import add_config_everywhere
from .customers import customers
from .deliver import deliver_cmd
from .files import inspect_cmd, open_cmd, seal_cmd
from .identity import identity
from .keys import keys
from .serve import serve_cmd
from .store import inventory_cmd, rewrap_cmd, rotate_cmd
from .vault import vault

for _command in (
    keys,
    seal_cmd,
    open_cmd,
    inspect_cmd,
    rewrap_cmd,
    rotate_cmd,
    inventory_cmd,
    vault,
    deliver_cmd,
    identity,
    serve_cmd,
    customers,
):
    cli.add_command(_command)
add_config_everywhere(cli)

__all__ = ["cli"]
