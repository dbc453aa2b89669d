"""``sealdoc identity``: device keys (X25519) that receive delivered documents."""

from __future__ import annotations

from pathlib import Path

import click

from ..providers import X25519Identity
from . import credentials
from .errors import RefusedError, errors
from .options import F


def _passphrase_options(command: F) -> F:
    for decorator in (
        click.option(
            "--passphrase-file",
            "identity_passphrase_file",
            metavar="FILE",
            type=click.Path(dir_okay=False),
            help="File holding the identity file's passphrase.",
        ),
        click.option(
            "--passphrase-env",
            "identity_passphrase_env",
            metavar="VAR",
            help="Environment variable holding the identity file's passphrase.",
        ),
    ):
        command = decorator(command)
    return command


def _identity_passphrase(env: str | None, file: str | None) -> str | None:
    return credentials.optional_secret(
        env=env, file=file, env_flag="--passphrase-env", file_flag="--passphrase-file"
    )


@click.group()
def identity() -> None:
    """Device keys (X25519) that receive delivered documents."""


@identity.command("new")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@_passphrase_options
def identity_new(
    path: str, identity_passphrase_env: str | None, identity_passphrase_file: str | None
) -> None:
    """Make a device identity in FILE (0600) and print its recipient string.

    \b
    Example:
      sealdoc identity new ~/.config/sealdoc/device.key
    """
    if Path(path).exists():
        raise RefusedError(f"{path} exists: an identity is never overwritten")
    passphrase = _identity_passphrase(identity_passphrase_env, identity_passphrase_file)
    with errors():
        made = X25519Identity.generate()
        made.save(path, passphrase=passphrase)
    click.echo(made.recipient)


@identity.command("recipient")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, exists=True))
@_passphrase_options
def identity_recipient(
    path: str, identity_passphrase_env: str | None, identity_passphrase_file: str | None
) -> None:
    """Print the recipient string (public key) of the identity in FILE.

    \b
    Example:
      sealdoc identity recipient ~/.config/sealdoc/device.key
    """
    passphrase = _identity_passphrase(identity_passphrase_env, identity_passphrase_file)
    with errors():
        click.echo(X25519Identity.load(path, passphrase=passphrase).recipient)


__all__ = ["identity"]
