"""The TOML config file: defaults for global options and per-command sections.

::

    keyring = "/etc/sealdoc/keyring.json"     # global options
    passphrase-file = "/run/credentials/sealdoc/passphrase"

    [rewrap]                                  # a command: its long option names
    workers = 32
    storage-option = ["endpoint_url=https://s3.example"]   # or a table

    [keys.destroy]                            # a subcommand of a group
    check-store = ["s3://bank-docs/statements"]

    [vault]                                   # a group: applies to each subcommand
    name-key-file = "/etc/sealdoc/names.key"

The file is checked against the commands themselves: a key that is no
option of its section is an error naming it (and the file). The command
line and the environment win over the file. ``--config`` works before the
subcommand and after it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

GLOBAL_KEYS = ("keyring", "passphrase-env", "passphrase-file")
META_KEY = "sealdoc.config"


def _read(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - only when a config file is given
    else:  # pragma: no cover
        import tomli as tomllib  # noqa: PLC0415
    try:
        table: dict[str, Any] = tomllib.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--config") from exc
    return table


def config_name(param: click.Parameter) -> str | None:
    """The name a config file uses for an option: its long flag without the dashes."""
    if not isinstance(param, click.Option) or param.name in ("config", "help"):
        return None
    longs = [o[2:] for o in param.opts if o.startswith("--")]
    return max(longs, key=len) if longs else None


def _options(command: click.Command) -> dict[str, click.Option]:
    found: dict[str, click.Option] = {}
    for param in command.params:
        name = config_name(param)
        if name is not None and isinstance(param, click.Option):
            found[name] = param
    return found


def _value(param: click.Option, value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        if param.name == "storage_options":  # a table reads better than k=v strings
            return [f"{k}={_scalar(v)}" for k, v in value.items()]
        raise click.BadParameter(f"{where} is a table, not a value", param_hint="--config")
    if param.multiple and not isinstance(value, list):
        return [value]
    return value


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _section(command: click.Command, table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``table`` as click's default_map for ``command``, every key checked."""
    options = _options(command)
    # through get_command: the root group imports a command only when its section names it
    ctx = click.Context(command)
    names = command.list_commands(ctx) if isinstance(command, click.Group) else []

    def sub(name: str) -> click.Command:
        found = command.get_command(ctx, name) if isinstance(command, click.Group) else None
        assert found is not None  # a name list_commands gave
        return found

    out: dict[str, Any] = {}
    shared: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        path = f"{where}.{raw_key}" if where else raw_key
        if key in names and isinstance(value, Mapping):
            out[key] = _section(sub(key), value, path)
        elif key in options:
            param = options[key]
            out[str(param.name)] = _value(param, value, path)
        elif names and any(key in _options(sub(n)) for n in names):
            shared[key] = (value, path)  # a group's section: for each subcommand that has it
        else:
            known = sorted(set(options) | set(names))
            raise click.BadParameter(
                f"unknown key {path!r} in the config file"
                + (f" (known here: {', '.join(known)})" if known else ""),
                param_hint="--config",
            )
    for name in names if shared else ():
        sub_options = _options(sub(name))
        for key, (value, path) in shared.items():
            if key in sub_options:
                param = sub_options[key]
                out.setdefault(name, {}).setdefault(str(param.name), _value(param, value, path))
    return out


def parse(path: Path, root: click.Command) -> tuple[dict[str, Any], dict[str, Any]]:
    """(global settings, default_map for the command tree) from the file at ``path``."""
    table = _read(path)
    globals_ = {k: table.pop(k) for k in list(table) if k.replace("_", "-") in GLOBAL_KEYS}
    for key, value in globals_.items():
        if not isinstance(value, str):
            raise click.BadParameter(f"{key!r} must be a string", param_hint="--config")
    tree = _section(root, table, "")
    return {k.replace("_", "-"): v for k, v in globals_.items()}, tree


def _merge(base: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base or {})
    for key, value in extra.items():
        out[key] = _merge(out.get(key), value) if isinstance(value, Mapping) else value
    return out


def _load(ctx: click.Context, _param: click.Parameter, path: Path | None) -> None:
    if path is None:
        return
    root = ctx.find_root()
    globals_, tree = parse(path, root.command)
    root.meta[META_KEY] = {**root.meta.get(META_KEY, {}), **globals_}
    # This context's own section: walk down from the root by command names.
    chain = []
    node: click.Context | None = ctx
    while node is not None and node.parent is not None:
        chain.append(node.info_name)
        node = node.parent
    section: Mapping[str, Any] = tree
    for name in reversed(chain):
        section = section.get(str(name), {}) if isinstance(section, Mapping) else {}
    ctx.default_map = _merge(ctx.default_map, section)


def config_param(*, envvar: str | None = None) -> click.Option:
    """``--config FILE``, for the root group and (added to each) every command."""
    return click.Option(
        ["--config"],
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        envvar=envvar,
        is_eager=True,
        expose_value=False,
        callback=_load,
        metavar="FILE",
        help="TOML file of defaults (see docs/cli.md); the command line wins over it.",
    )


def add_config_everywhere(command: click.Command) -> None:
    """Give ``command`` and every command under it its own ``--config``, so it may follow them.

    The root group calls this on each command as it imports it (``lazy``).
    """
    if not any(p.name == "config" for p in command.params):
        command.params.append(config_param())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_config_everywhere(sub)


def global_setting(ctx: click.Context, key: str) -> str | None:
    """A global setting (``keyring``, ``passphrase-env``...) from the config file, if any."""
    value = ctx.find_root().meta.get(META_KEY, {}).get(key)
    return str(value) if value is not None else None


__all__ = ["GLOBAL_KEYS", "add_config_everywhere", "config_param", "global_setting", "parse"]
