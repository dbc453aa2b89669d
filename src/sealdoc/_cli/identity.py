"""``sealdoc identity``: device keys (X25519) that receive delivered documents."""

from __future__ import annotations

from pathlib import Path

import click

from ..providers import X25519Identity
from .credentials import SecretFlags, secret_options
from .errors import RefusedError, errors

_passphrase_options = secret_options(
    "identity_passphrase",
    "--passphrase",
    env_help="Environment variable holding the identity file's passphrase.",
    file_help="File holding the identity file's passphrase.",
)


@click.group()
def identity() -> None:
    """Device keys (X25519) that receive delivered documents."""


@identity.command("new")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@_passphrase_options
def identity_new(path: str, identity_passphrase: SecretFlags) -> None:
    """Make a device identity in FILE (0600) and print its recipient string.

    \b
    Example:
      sealdoc identity new ~/.config/sealdoc/device.key
    """
    refused = f"{path} exists: an identity is never overwritten"
    if Path(path).exists():  # before asking for a passphrase
        raise RefusedError(refused)
    secret = identity_passphrase.read()
    with errors():
        made = X25519Identity.generate()
        try:
            made.save(path, passphrase=secret, overwrite=False)
        except FileExistsError:  # one that appeared meanwhile
            raise RefusedError(refused) from None
    click.echo(made.recipient)


@identity.command("recipient")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, exists=True))
@_passphrase_options
def identity_recipient(path: str, identity_passphrase: SecretFlags) -> None:
    """Print the recipient string (public key) of the identity in FILE.

    \b
    Example:
      sealdoc identity recipient ~/.config/sealdoc/device.key
    """
    secret = identity_passphrase.read()
    with errors():
        click.echo(X25519Identity.load(path, passphrase=secret).recipient)


__all__ = ["identity"]
