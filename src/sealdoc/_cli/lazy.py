"""A click group that imports a command's module only when the command runs.

``sealdoc --help`` lists every command and runs none; importing them all
cost most of its start-up (docs/performance.md, "CLI start-up"). The group
reads each command's one-line summary from its table instead;
tests/test_startup.py checks every summary against the first sentence of
the command's own docstring, so the docstring stays the text that counts.
Everything that walks the tree (completion, sphinx-click, the config file,
tests) goes through ``list_commands`` and ``get_command``, as click asks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import click


class Lazy(NamedTuple):
    """Where a command is (``module:attribute``, relative to this package) and its summary."""

    target: str
    summary: str


class LazyGroup(click.Group):
    def __init__(
        self,
        *args: Any,
        lazy: Mapping[str, Lazy],
        on_load: Callable[[click.Command], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)
        self._on_load = on_load

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].target.partition(":")
            command = getattr(importlib.import_module(module, __package__), attribute)
            self._on_load(command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own, but a command not loaded yet stands in as its summary
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name) or click.Command(name, help=self.lazy[name].summary)
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in rows])


__all__ = ["Lazy", "LazyGroup"]
