"""Options that several commands share, and the parsing of their values."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .._names import NAME_KEY_LEN
from .errors import CliError

F = TypeVar("F", bound=Callable[..., Any])


def pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a dict (a usage error names ``flag`` otherwise)."""
    result: dict[str, str] = {}
    for pair in values:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=flag)
        result[key] = value
    return result


def storage_options(values: tuple[str, ...]) -> dict[str, Any]:
    """``--storage-option k=v`` as fsspec storage options.

    A value that reads as JSON (``true``, ``4``, ``{"region_name": "eu-west-1"}``)
    is taken as that; anything else is a string. A dotted key
    (``client_kwargs.region_name=eu-west-1``) sets a nested option.
    """
    result: dict[str, Any] = {}
    for key, raw in pairs(values, "--storage-option").items():
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = result
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise click.BadParameter(
                    f"{key!r} sets inside a value", param_hint="--storage-option"
                )
            node = child
        node[leaf] = value
    return result


def name_key(path: str | None) -> bytes | None:
    """The opaque-names key in ``--name-key-file``: 64 raw bytes, or them in hex or base64."""
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            raw = fh.read(4096)
    except OSError as exc:
        raise CliError(f"--name-key-file: cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) == NAME_KEY_LEN:
        return raw
    text = raw.strip()
    for decode in (bytes.fromhex, base64.b64decode):
        try:
            key = decode(text.decode("ascii"))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            continue
        if len(key) == NAME_KEY_LEN:
            return key
    raise CliError(
        f"--name-key-file: {path} does not hold a {NAME_KEY_LEN}-byte name key "
        "(raw, hex or base64; make one with: sealdoc vault new-name-key FILE)"
    )


def apply_options(command: F, decorators: list[Callable[[Any], Any]]) -> F:
    """``decorators`` applied as if stacked above ``command`` in this order (as --help shows)."""
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def packed(name: str, build: Callable[..., Any], *fields: str) -> Callable[[F], F]:
    """Hand the command the keyword arguments ``fields`` as one value, ``name=build(**fields)``.

    Several commands take the same group of flags; bundling them keeps each
    command's signature to what is its own (httpx's ``Limits`` habit).
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = build(**{field: kwargs.pop(field) for field in fields})
            return command(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def key_option(
    help_text: str = "Key URI to open with (repeatable); default: the local keyring.",
) -> Callable[[F], F]:
    return click.option("--key", "key_uris", multiple=True, metavar="URI", help=help_text)


def pairs_option(flag: str, dest: str, help_text: str) -> Callable[[F], F]:
    """A repeatable ``KEY=VALUE`` flag, given to the command as the tuple of its values."""
    return click.option(flag, dest, multiple=True, metavar="KEY=VALUE", help=help_text)


storage_option = pairs_option(
    "--storage-option",
    "storage_options",
    "fsspec storage option for URLs (repeatable), e.g. endpoint_url=https://...",
)


def store_options(command: F) -> F:
    """``--storage-option`` and ``--name-key-file``: what every store command takes."""
    return apply_options(
        command,
        [
            storage_option,
            click.option(
                "--name-key-file",
                metavar="FILE",
                type=click.Path(dir_okay=False),
                help="The store's opaque-names key (from 'sealdoc vault new-name-key').",
            ),
        ],
    )


def context_option(help_text: str) -> Callable[[F], F]:
    return pairs_option("--context", "context_pairs", help_text)


binding_option = pairs_option(
    "--binding",
    "binding_pairs",
    "The binding the document was sealed with (e.g. sealdoc:doc_id=...). Repeatable.",
)


def json_option(command: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one line of JSON.")(command)


def force_option(command: F) -> F:
    return click.option("--force", is_flag=True, help="Replace OUT if it exists.")(command)


def dumps(data: Any) -> str:
    """``--json`` output: one line, keys sorted (what a log shipper or ``jq`` takes)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=True)


__all__ = [
    "apply_options",
    "binding_option",
    "context_option",
    "dumps",
    "force_option",
    "json_option",
    "key_option",
    "name_key",
    "packed",
    "pairs",
    "pairs_option",
    "storage_option",
    "storage_options",
    "store_options",
]
