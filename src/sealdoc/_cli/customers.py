"""``sealdoc customers``: per-customer keys in a KeyStore (docs/customer-keys.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from .._keystore import KeyStore
from .._keystore._inventory import subjects_in
from .._keystore._migrate import import_keyring, move_documents
from .._keystore._uri import MASTER_ENV
from .._vault import Vault
from ..exceptions import RetentionError
from .errors import CliError, RefusedError, errors
from .state import State
from .text import shown

pass_state = click.make_pass_decorator(State)
KEYSTORE_ENV = "SEALDOC_KEYSTORE"


def store_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--keystore URL`` and ``--master URI`` (or their variables, or a [customers] section)."""

    @click.option(
        "--keystore",
        "keystore_url",
        envvar=KEYSTORE_ENV,
        metavar="URL",
        help=f"The key store: sqlite:///path/keys.db or postgresql://... (else ${KEYSTORE_ENV}).",
    )
    @click.option(
        "--master",
        "master_uri",
        envvar=MASTER_ENV,
        metavar="URI",
        help=f"Key URI of the master that wraps every customer key (else ${MASTER_ENV}).",
    )
    @pass_state
    def wrapper(
        state: State, /, keystore_url: str | None, master_uri: str | None, **kwargs: Any
    ) -> Any:
        if not keystore_url:
            raise click.UsageError(f"give the key store with --keystore URL or ${KEYSTORE_ENV}")
        if not master_uri:
            raise click.UsageError(f"give the master key with --master URI or ${MASTER_ENV}")
        with errors():
            store = KeyStore(keystore_url, master=state.key(master_uri))
        try:
            return command(store, **kwargs)
        finally:
            store.close()

    wrapper.__doc__ = command.__doc__  # click's help
    return wrapper


def _when(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 date") from None
    if when.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no time zone (add +00:00 or Z)")
    return when


@click.group()
def customers() -> None:
    """Per-customer keys in a key store: add, rotate, hold, erase.

    Every command takes --keystore URL and --master URI (or SEALDOC_KEYSTORE
    and SEALDOC_KEYSTORE_MASTER, or a [customers] section of the config file).
    """


@customers.command("add")
@click.argument("subjects", nargs=-1, required=True)
@store_option
def customers_add(store: KeyStore, subjects: tuple[str, ...]) -> None:
    """Create the keys of one or more customers now (first use makes them too).

    \b
    Example:
      sealdoc customers add C-1007 C-1008 --keystore sqlite:///srv/keys.db
    """
    with errors():
        added = store.add_many(subjects)
    click.echo(f"added {added} of {len(subjects)} customers ({len(subjects) - added} existed)")


@customers.command("ls")
@click.option("--after", default="", help="List customers after this id (pages of 1000).")
@store_option
def customers_ls(store: KeyStore, after: str) -> None:
    """List customer ids, in order.

    \b
    Example:
      sealdoc customers ls --keystore sqlite:///srv/keys.db
    """
    with errors():
        while True:
            page = store.subjects(after=after)
            for subject in page:
                click.echo(shown(subject))
            if not page:
                break
            after = page[-1]


@customers.command("show")
@click.argument("subject")
@store_option
def customers_show(store: KeyStore, subject: str) -> None:
    """A customer's versions and states, hold and retention (never key material)."""
    with errors():
        info = store.info(subject)
    click.echo(f"customer\t{shown(info.subject)}\nkey id\t{shown(info.key_id)}")
    click.echo(f"hold\t{shown(info.hold or '-')}\nretain until\t{info.retain_until or '-'}")
    click.echo(f"erased\t{info.erased or '-'}")
    for v in info.versions:
        mark = " (primary)" if v.version == info.primary else ""
        click.echo(f"{v.version}\t{v.state}{mark}\tcreated {v.created}\tchanged {v.changed}")


@customers.command("rotate")
@click.argument("subject")
@store_option
def customers_rotate(store: KeyStore, subject: str) -> None:
    """Add a new version of a customer's key and make it primary."""
    with errors():
        version = store.rotate(subject)
    click.echo(f"customer {shown(subject)}: version {version} is now primary")


@customers.command("disable")
@click.argument("subject")
@click.argument("version", type=int)
@store_option
def customers_disable(store: KeyStore, subject: str, version: int) -> None:
    """Stop a version from opening anything (not the primary), until enable."""
    with errors():
        store.disable(subject, version)
    click.echo(f"customer {shown(subject)}: version {version} disabled")


@customers.command("enable")
@click.argument("subject")
@click.argument("version", type=int)
@store_option
def customers_enable(store: KeyStore, subject: str, version: int) -> None:
    """Let a disabled version open documents again."""
    with errors():
        store.enable(subject, version)
    click.echo(f"customer {shown(subject)}: version {version} enabled")


@customers.command("destroy")
@click.argument("subject")
@click.option("--version", type=int, default=None, help="One version (default: every version).")
@click.option(
    "--yes-destroy-last",
    "confirm",
    is_flag=True,
    help="Erase the customer (or its primary or last enabled version): their documents "
    "become unreadable for good.",
)
@store_option
def customers_destroy(store: KeyStore, subject: str, version: int | None, confirm: bool) -> None:
    """Erase a customer's key (crypto-shredding), or one version of it.

    Refused (exit 3) while a legal hold is on or before the retention date.

    \b
    Example:
      sealdoc customers destroy C-1007 --yes-destroy-last
    """
    with errors():
        try:
            store.destroy(subject, version, confirm=confirm)
        except RetentionError as exc:
            raise RefusedError(str(exc)) from None
    what = "every version" if version is None else f"version {version}"
    click.echo(f"customer {shown(subject)}: {what} destroyed")


@customers.command("hold")
@click.argument("subject")
@click.option("--reason", required=True, help="The case or ticket that holds the customer.")
@store_option
def customers_hold(store: KeyStore, subject: str, reason: str) -> None:
    """Put a legal hold on a customer: nothing of theirs is destroyed until release."""
    with errors():
        store.hold(subject, reason)
    click.echo(f"customer {shown(subject)}: on hold ({shown(reason)})")


@customers.command("release")
@click.argument("subject")
@store_option
def customers_release(store: KeyStore, subject: str) -> None:
    """Lift a customer's legal hold."""
    with errors():
        store.release(subject)
    click.echo(f"customer {shown(subject)}: hold released")


@customers.command("retain")
@click.argument("subject")
@click.option("--until", "until", required=True, help="ISO 8601 date and time with a zone.")
@store_option
def customers_retain(store: KeyStore, subject: str, until: str) -> None:
    """Keep a customer's key until a date; erase-due erases it after."""
    when = _when(until)
    with errors():
        store.retain(subject, when)
    click.echo(f"customer {shown(subject)}: retained until {when.isoformat()}")


@customers.command("erase-due")
@store_option
def customers_erase_due(store: KeyStore) -> None:
    """Erase every customer whose retention ended and that no legal hold keeps.

    \b
    Example (a daily job):
      sealdoc customers erase-due --keystore postgresql://keys@db/keys
    """
    with errors():
        report = store.erase_due()
    for subject in report.erased:
        click.echo(f"erased\t{shown(subject)}")
    for subject, reason in report.held:
        click.echo(f"held\t{shown(subject)}\t{shown(reason)}")
    click.echo(f"{len(report.erased)} erased, {len(report.held)} kept by a hold", err=True)


@customers.command("inventory")
@click.argument("store_url")
@click.option("--prefix", default="", help="Only doc ids starting with this.")
@store_option
def customers_inventory(store: KeyStore, store_url: str, prefix: str) -> None:
    """Per customer: documents by key version, shredded documents, hold and retention.

    \b
    Example:
      sealdoc customers inventory s3://bank-docs/statements --keystore sqlite:///srv/keys.db
    """
    click.echo("customer\tdocuments\tshredded\tversions\thold\tretain until")
    with errors():
        inventory = Vault(store_url).inventory(prefix=prefix)
        for row in subjects_in(store, inventory):
            versions = ",".join(f"{v.version}:{v.state}" for v in row.info.versions)
            click.echo(
                f"{shown(row.subject)}\t{sum(row.documents.values())}\t{row.shredded}\t"
                f"{versions}\t{shown(row.info.hold or '-')}\t{row.info.retain_until or '-'}"
            )


@customers.command("import")
@click.argument("names", nargs=-1)
@click.option(
    "--documents",
    "vault_url",
    metavar="URL",
    default=None,
    help="A vault whose documents follow: each customer's are rewrapped from the keyring "
    "key to the customer's key in the store.",
)
@click.option(
    "--keep",
    "keep_uris",
    multiple=True,
    metavar="URI",
    help="Key URI of a wrap the documents keep beside the customer's (escrow). Repeatable.",
)
@store_option
def customers_import(
    store: KeyStore, names: tuple[str, ...], vault_url: str | None, keep_uris: tuple[str, ...]
) -> None:
    """Move customers held as keys of the local keyring (--keyring) into the store.

    NAMES are keyring keys (default: every key but 'default'). With
    --documents, their documents follow (a rewrap per customer; run again
    to resume). Destroy the keyring keys once inventory shows none left.

    \b
    Example:
      sealdoc customers import --documents s3://bank-docs/statements --keystore sqlite:///srv/keys.db
    """
    state = click.get_current_context().find_object(State)
    assert state is not None
    with errors():
        ring = state.load()
        subjects = import_keyring(store, ring, names or None)
        click.echo(f"{len(subjects)} customers in the store: {', '.join(map(shown, subjects))}")
        if vault_url is None:
            return
        keep = [state.key(uri) for uri in keep_uris]
        vault = Vault(vault_url, keys=[ring, *keep])
        failed = 0
        for name, report in move_documents(vault, ring, store, subjects, keep=keep).items():
            failed += len(report.failed)
            click.echo(
                f"{shown(name)}\t{report.rewritten} documents moved\t{len(report.failed)} failed"
            )
    if failed:
        raise CliError(f"{failed} documents did not move; run the command again to retry them")


@customers.command("rewrap-master")
@store_option
def customers_rewrap_master(store: KeyStore) -> None:
    """Re-wrap every customer key under the master's current version (resumable)."""

    def progress(done: int) -> None:
        click.echo(f"re-wrapped {done}", err=True)

    with errors():
        done = store.rewrap_master(progress=progress)
    click.echo(f"re-wrapped {done} customer keys under the master's current version")


__all__ = ["customers"]
