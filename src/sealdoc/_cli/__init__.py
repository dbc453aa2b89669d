"""The ``sealdoc`` command line: a private package, one module per command group.

``app`` (the root group and its global options), ``keys``, ``files`` (seal,
open, inspect), ``store`` (rewrap, rotate, inventory), ``vault``,
``deliver``, ``identity``, ``serve``, ``customers`` (a KeyStore); beside them
``config`` (the TOML file),
``credentials`` (secrets from files, variables, prompts), ``streams``
(inputs and all-or-nothing outputs), ``errors`` and ``exit_codes`` (one
table, in docs/cli.md), ``progress`` and ``text`` (escaping what documents
say before it reaches a terminal). ``app`` lists the commands, which are
imported only when one runs.
"""

from __future__ import annotations

from .app import cli

__all__ = ["cli"]
