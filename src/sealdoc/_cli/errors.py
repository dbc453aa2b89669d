"""How a failure reaches the operator: one line on stderr, in CLI terms, and an exit code.

The library speaks Python (``pass binding=``, ``confirm=True``); the
operator typed flags. :func:`translate` rewrites the library's wording into
the flags that do the same thing, at this boundary only, so the library's
own messages stay right for Python callers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from ..exceptions import (
    CheckpointError,
    EmptyStoreError,
    SealdocError,
    StoreError,
    UnsafeStoreError,
    WrongRootError,
)
from . import exit_codes
from .text import shown


class CliError(click.ClickException):
    """A failure with its exit code, printed as ``sealdoc: MESSAGE``."""

    def __init__(self, message: str, exit_code: int = exit_codes.FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc] # click reads it from the instance

    def show(self, file: IO[Any] | None = None) -> None:
        # one escaped line each: a message can never start a line of its own making
        first, *rest = self.format_message().split("\n")
        click.echo(f"sealdoc: {shown(translate(first))}", err=True, file=file)
        for line in rest:
            click.echo(f"  {shown(translate(line.strip()))}", err=True, file=file)


class RefusedError(CliError):
    """sealdoc declined, on purpose, to do something unsafe (exit 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_codes.REFUSED)


# Whole phrases first, where a word-for-word rewrite would read badly.
_PHRASES: tuple[tuple[str, str], ...] = (
    ("Pass confirm=True to destroy it anyway.", "Add --yes-destroy-last to destroy it anyway."),
    ("pass binding=", "give it with --binding KEY=VALUE"),
    (
        "pass that provider in keys=, or the new set in to=",
        "give that key with --key URI, or the new set with --to URI",
    ),
    ("pass that provider in keys=", "give that key with --key URI"),
    ("the whole new set in to=", "the whole new set with --to URI"),
    (
        "a recipient in to= is also in keys=",
        "a recipient (--recipient, --password-env) is also one of the keys (--key)",
    ),
    ("Vault.generate_name_key()", "sealdoc vault new-name-key FILE"),
    ("must pass the same ``binding=``", "must give the same --binding"),
)
# Then single parameter names, wherever they are left.
_PARAMS = {
    "confirm": "--yes-destroy-last",
    "keys": "--key",
    "to": "--to",
    "binding": "--binding",
    "context": "--context",
    "name_key": "--name-key-file",
    "storage_options": "--storage-option",
    "passphrase": "--passphrase-file",
    "checkpoint": "--resume",
    "allow_empty": "--allow-empty",
    "dry_run": "--dry-run",
    "allow_unconditional": "--allow-unconditional",
    "after": "--after",
    "personal": "--personal",
    "drop": "--drop ",
}
_TRUE = re.compile(r"\b([a-z_]+)=True\b")
_PARAM = re.compile(r"\b(" + "|".join(_PARAMS) + r")=(?=[\s,;.)'\"]|$)")


def _flag(name: str) -> str:
    return _PARAMS.get(name, "--" + name.replace("_", "-"))


# The keyring's "version N ...; enable() cancels that" names a method: give the command.
_ENABLE = re.compile(
    r"key '([^']*)' version (\d+)( is (?:already )?to be destroyed at [^;]*); "
    r"enable\(\) cancels that"
)


def _enable_hint(found: re.Match[str]) -> str:
    name, version, rest = found.groups()
    option = "" if name == "default" else f" --key {name}"
    command = f"sealdoc keys enable {version}{option}"
    return f"key {name!r} version {version}{rest}; '{command}' cancels that"


def translate(message: str) -> str:
    """A library message with Python parameter names replaced by the CLI's flags."""
    message = _ENABLE.sub(_enable_hint, message)
    for old, new in _PHRASES:
        message = message.replace(old, new)
    message = _TRUE.sub(lambda m: _flag(m.group(1)), message)
    return _PARAM.sub(lambda m: _flag(m.group(1)), message)


# What sealdoc refuses on purpose (exit 3): a human decides what to do next.
_REFUSALS = (CheckpointError, EmptyStoreError, UnsafeStoreError, WrongRootError)


@contextmanager
def errors() -> Iterator[None]:
    """sealdoc, OS, value and lookup errors as one line on stderr and exit 1.

    Anything else is a bug and keeps its traceback.
    """
    try:
        yield
    except (click.ClickException, BrokenPipeError):
        # a reader that went away (`sealdoc keys list | head`) is click's to
        # handle quietly, not an error of ours to print into the closed pipe
        raise
    except _REFUSALS as exc:
        raise RefusedError(str(exc)) from None
    except StoreError as exc:
        if _lacks_credentials(exc):  # as an empty store: check the environment, not the data
            raise RefusedError(
                f"{_message(exc)}; give the store's credentials (environment, profile, "
                "or --storage-option)"
            ) from None
        raise CliError(_message(exc)) from None
    except (SealdocError, OSError, ValueError) as exc:
        raise CliError(_message(exc)) from None
    except LookupError as exc:  # a key name or version the keyring does not have
        raise CliError(str(exc.args[0]) if exc.args else type(exc).__name__) from None


# botocore's names, matched by name: the CLI does not import botocore to look
_NO_CREDENTIALS = frozenset({"NoCredentialsError", "PartialCredentialsError"})


def _lacks_credentials(exc: BaseException) -> bool:
    """Whether a store failed for want of credentials (anywhere in its chain of causes)."""
    seen: BaseException | None = exc
    for _ in range(10):  # a chain is short; a cycle must not hang the CLI
        if seen is None:
            return False
        if type(seen).__name__ in _NO_CREDENTIALS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _message(exc: BaseException) -> str:
    """What the operator sees: the full details where the error keeps them apart.

    A DecryptionError's ``str()`` is terse on purpose (safe to show whoever
    sent the document); the person running the CLI is not that party, and
    needs the reason and what each key said.
    """
    details = getattr(exc, "details", None)
    if callable(details):
        text = details()
        if isinstance(text, str) and text:
            return text
    return str(exc) or type(exc).__name__


__all__ = ["CliError", "RefusedError", "errors", "translate"]
