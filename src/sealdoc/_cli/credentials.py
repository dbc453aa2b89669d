"""Secrets for the CLI: from a file, an environment variable, or a prompt; never an argument.

A secret on the command line is in the shell history and in ``ps``; an
``export`` is in the history too. A file (a systemd credential, a Kubernetes
secret volume, ``pin-source=file:`` for PKCS#11) is the safest source, then a
variable set by the process manager, then a prompt on a terminal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .errors import CliError

_MAX_SECRET_FILE = 64 * 1024


def read_secret_file(path: str | os.PathLike[str], what: str) -> str:
    """The secret in ``path``: its text without the final newline (as ``echo`` writes it)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise CliError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > _MAX_SECRET_FILE:
        raise CliError(f"{what}: {path} is larger than {_MAX_SECRET_FILE} bytes; not a secret file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{what}: {path} is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise CliError(f"{what}: {path} is empty")
    return text


def env_secret(var: str, what: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise CliError(f"{what}: the environment variable {var} is not set or empty")
    return value


def optional_secret(
    *, env: str | None, file: str | os.PathLike[str] | None, env_flag: str, file_flag: str
) -> str | None:
    """A secret from ``file_flag FILE`` or ``env_flag VAR``, if either was given (not both)."""
    if env and file:
        raise click.UsageError(f"give {env_flag} or {file_flag}, not both")
    if file:
        return read_secret_file(file, file_flag)
    if env:
        return env_secret(env, env_flag)
    return None


def passphrase(
    *, env_var: str, file: Path | None, prompt: str = "Keyring passphrase", confirm: bool = False
) -> str:
    """The keyring passphrase: ``--passphrase-file``, else ``$VAR``, else a prompt.

    Without any of them and no terminal, this fails with exit 1 (the
    environment lacks a secret; the command itself was right).
    """
    if file is not None:
        return read_secret_file(file, "--passphrase-file")
    value = os.environ.get(env_var)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CliError(
            f"no passphrase: give --passphrase-file FILE (or SEALDOC_PASSPHRASE_FILE), "
            f"set {env_var}, or run on a terminal"
        )
    result: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return result


__all__ = ["env_secret", "optional_secret", "passphrase", "read_secret_file"]
