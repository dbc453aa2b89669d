"""``sealdoc identity``: device keys (X25519, or hybrid post-quantum) that receive copies."""

from __future__ import annotations

from pathlib import Path

import click

from ..providers import HybridIdentity, X25519Identity
from ..providers._devices import load_identities
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
    """Device keys (X25519, or hybrid post-quantum) that receive delivered documents."""


@identity.command("new")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "--pq",
    is_flag=True,
    help="A hybrid post-quantum identity (ML-KEM-768 + X25519): an age "
    "AGE-SECRET-KEY-PQ-1 file; prints its age1pq1... recipient.",
)
@_passphrase_options
def identity_new(path: str, pq: bool, identity_passphrase: SecretFlags) -> None:
    """Make a device identity in FILE (0600) and print its recipient string.

    With --pq the identity is hybrid post-quantum, in age's format (age and
    the TypeScript age read the file as it is); see docs/delivery.md.

    \b
    Examples:
      sealdoc identity new ~/.config/sealdoc/device.key
      sealdoc identity new --pq ~/.config/sealdoc/device-pq.key
    """
    refused = f"{path} exists: an identity is never overwritten"
    if Path(path).exists():  # before asking for a passphrase
        raise RefusedError(refused)
    secret = identity_passphrase.read()
    with errors():
        made: X25519Identity | HybridIdentity = (
            HybridIdentity.generate() if pq else X25519Identity.generate()
        )
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
        for found in load_identities(path, passphrase=secret):
            click.echo(found.recipient)


__all__ = ["identity"]
