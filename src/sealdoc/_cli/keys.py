"""``sealdoc keys``: the local keyring's keys and versions."""

from __future__ import annotations

import click

from ..providers import LocalKeyring
from .errors import errors
from .state import State
from .text import shown

pass_state = click.make_pass_decorator(State)

KEY_ID_OPTION = click.option(
    "--key", "key_id", default="default", show_default=True, help="Which key of the keyring."
)


@click.group()
def keys() -> None:
    """Manage the local keyring."""


@keys.command("init")
@pass_state
def keys_init(state: State) -> None:
    """Create a new keyring with key 'default' at version 1.

    \b
    Example:
      SEALDOC_PASSPHRASE_FILE=/run/secrets/pass sealdoc --keyring ring.json keys init
    """
    with errors():
        path = state.keyring
        path.parent.mkdir(parents=True, exist_ok=True)
        ring = LocalKeyring.create(path, passphrase=state.passphrase(confirm=True))
    click.echo(f"created keyring {ring.path} (key 'default', version 1)")


@keys.command("list")
@pass_state
def keys_list(state: State) -> None:
    """List the keyring's keys and versions (never key material).

    \b
    Example:
      sealdoc keys list
    """
    with errors():
        ring = state.load()
        for key_id in ring.key_ids():
            primary = ring.primary_version(key_id)
            for version, key_state in ring.versions(key_id).items():  # no key material
                mark = " (primary)" if version == primary else ""
                click.echo(f"{shown(key_id)}\t{version}\t{key_state}{mark}")


@keys.command("rotate")
@KEY_ID_OPTION
@pass_state
def keys_rotate(state: State, key_id: str) -> None:
    """Add a new version of a key and make it primary.

    \b
    Example:
      sealdoc keys rotate --key default
    """
    with errors():
        version = state.load().rotate(key_id)
    click.echo(f"key {key_id!r}: version {version} is now primary")


@keys.command("add")
@click.argument("key_id")
@pass_state
def keys_add(state: State, key_id: str) -> None:
    """Add a key (per customer, per tenant) at version 1.

    \b
    Example:
      sealdoc keys add customer-1029
    """
    with errors():
        state.load().add_key(key_id)
    click.echo(f"added key {key_id!r} (version 1)")


@keys.command("disable")
@click.argument("version", type=int)
@KEY_ID_OPTION
@pass_state
def keys_disable(state: State, version: int, key_id: str) -> None:
    """Stop a version from opening anything, until it is enabled again.

    \b
    Example:
      sealdoc keys disable 1 --key default
    """
    with errors():
        state.load().disable(version, key_id)
    click.echo(f"key {key_id!r} version {version} disabled")


@keys.command("enable")
@click.argument("version", type=int)
@KEY_ID_OPTION
@pass_state
def keys_enable(state: State, version: int, key_id: str) -> None:
    """Let a disabled version open documents again.

    \b
    Example:
      sealdoc keys enable 1 --key default
    """
    with errors():
        state.load().enable(version, key_id)
    click.echo(f"key {key_id!r} version {version} enabled")


@keys.command("destroy")
@click.argument("version", type=int)
@KEY_ID_OPTION
@click.option(
    "--yes-destroy-last",
    "confirm",
    is_flag=True,
    help="Needed to destroy the primary or last enabled version: its documents are lost.",
)
@pass_state
def keys_destroy(state: State, version: int, key_id: str, confirm: bool) -> None:
    """Erase a version's key material for good (crypto-shredding).

    Documents wrapped only under it become unreadable. Find them first
    (sealdoc inventory shows each store's key versions) and rewrap them.

    \b
    Example:
      sealdoc keys destroy 1 --key default
    """
    with errors():
        state.load().destroy(version, key_id, confirm=confirm)
    click.echo(f"key {key_id!r} version {version} destroyed")


__all__ = ["keys"]
