"""Secrets for the CLI: from a file, an environment variable, or a prompt; never an argument.

A secret on the command line is in the shell history and in ``ps``; an
``export`` is in the history too. A file (a systemd credential, a Kubernetes
secret volume, ``pin-source=file:`` for PKCS#11) is the safest source, then a
variable set by the process manager, then a prompt on a terminal.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
import click

from .errors import CliError
from .options import F, apply_options, packed

_MAX_SECRET_FILE = 64 * 1024


def read_secret_file(path: str | os.PathLike[str], what: str) -> str:
    """The secret in ``path``: its text without the final newline (as ``echo`` writes it)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_SECRET_FILE + 1)
            mode = os.fstat(fh.fileno()).st_mode
    except OSError as exc:
        raise CliError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    _warn_if_shared(path, what, mode)
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


def _warn_if_shared(path: str | os.PathLike[str], what: str, mode: int) -> None:
    """Warn, as ssh does of a key file, when others than the owner may read a secret file.

    A warning, not a refusal: a Kubernetes secret volume is 0644 by default
    (its folder is what keeps it private), and a refusal would stop a service.
    """
    if stat.S_ISREG(mode) and mode & 0o077:
        click.echo(
            f"sealdoc: warning: {what}: {path} can be read or written by other users "
            f"(mode {stat.S_IMODE(mode):04o}); chmod 600 it",
            err=True,
        )


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


@attrs.frozen
class SecretFlags:
    """A secret the user may give as ``ENV_FLAG VAR`` or ``FILE_FLAG FILE``: what was given."""

    env: str | None
    file: str | None
    env_flag: str
    file_flag: str

    @property
    def given(self) -> bool:
        return bool(self.env or self.file)

    def read(self) -> str | None:
        """The secret, or None if neither flag was given (a usage error for both)."""
        return optional_secret(
            env=self.env, file=self.file, env_flag=self.env_flag, file_flag=self.file_flag
        )


def secret_options(name: str, flag: str, *, env_help: str, file_help: str) -> Callable[[F], F]:
    """``FLAG-env VAR`` and ``FLAG-file FILE``, handed to the command as ``name=SecretFlags``."""
    env_dest, file_dest = f"{name}_env", f"{name}_file"

    def build(**given: str | None) -> SecretFlags:
        return SecretFlags(given[env_dest], given[file_dest], f"{flag}-env", f"{flag}-file")

    def decorate(command: F) -> F:
        return apply_options(
            packed(name, build, env_dest, file_dest)(command),
            [
                click.option(f"{flag}-env", env_dest, metavar="VAR", help=env_help),
                click.option(
                    f"{flag}-file",
                    file_dest,
                    metavar="FILE",
                    type=click.Path(dir_okay=False),
                    help=file_help,
                ),
            ],
        )

    return decorate


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


__all__ = [
    "SecretFlags",
    "env_secret",
    "optional_secret",
    "passphrase",
    "read_secret_file",
    "secret_options",
]
