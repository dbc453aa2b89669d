"""``sealdoc keys``: the local keyring's keys and versions."""

from __future__ import annotations

import os
import re
import shlex
from datetime import timedelta
from typing import Any

import attrs
import click

from ..exceptions import KeyringExistsError
from ..providers import LocalKeyring
from . import credentials
from .errors import RefusedError, errors
from .options import F, apply_options, name_key, packed, store_options
from .options import storage_options as parse_storage_options
from .state import State
from .stores import open_vault
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
    path = state.keyring
    refused = f"keyring {path} already exists: a keyring is never replaced (load it instead)"
    if os.path.lexists(path):  # before asking for a passphrase
        raise RefusedError(refused)
    with errors():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            ring = LocalKeyring.create(path, passphrase=state.passphrase(confirm=True))
        except KeyringExistsError:  # another `keys init` won the race
            raise RefusedError(refused) from None
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
            due = ring.destroy_schedule(key_id)
            for version, key_state in ring.versions(key_id).items():  # no key material
                mark = " (primary)" if version == primary else ""
                if version in due:
                    mark += f" (destroyed from {due[version].isoformat(timespec='seconds')})"
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


@attrs.frozen
class StoreCheck:
    """``--check-store URL`` (repeatable), with the options to reach those stores."""

    urls: tuple[str, ...]
    storage_options: tuple[str, ...]
    name_key_file: str | None

    def run(
        self, ring: LocalKeyring, *, key_id: str, version: int, confirm: bool | None = None
    ) -> None:
        """Refuse while a store has documents that nothing but this version opens.

        Unless this is a deliberate shred: the key's last enabled version,
        destroyed with ``confirm`` (--yes-destroy-last; None: not a destroy).
        A rewrap cannot move a document off its own key, so advising one would
        be wrong: the documents are counted as shredded instead. A store that
        cannot be listed, is empty, or holds objects that cannot be read
        proves nothing, so it is refused too: a typo in a URL must
        never pass as "no document depends on it".
        """
        if not self.urls:
            return
        ids = {key_id} | ({f"{key_id}@{ring.ring_id}"} if ring.ring_id else set())
        options = parse_storage_options(self.storage_options)
        names = name_key(self.name_key_file)
        gone = _unusable_labels(ring)
        last = confirm is not None and not any(
            state == "enabled" and number != version
            for number, state in ring.versions(key_id).items()
        )
        for url in self.urls:
            vault = open_vault(url, storage_options=options, name_key=names)
            found = vault.inventory(gone=gone)
            lost = 0
            for label, count in found.only_on.items():
                kind, _, rest = label.partition(":")
                wrapped_id, _, wrapped_version = rest.rpartition("#")
                if kind == ring.kind and wrapped_id in ids and wrapped_version == str(version):
                    lost += count
            if lost and not last:
                raise RefusedError(
                    f"{lost} documents in {url} depend only on key {key_id!r} version {version}: "
                    "rewrap that store first (sealdoc rewrap URL), then check again"
                )
            if lost and not confirm:
                raise RefusedError(
                    f"{lost} documents in {url} depend only on key {key_id!r} version {version}, "
                    "its last enabled version: destroying it shreds them for good (a rewrap "
                    "keeps each document on its own key); pass --yes-destroy-last if that is "
                    "the intent"
                )
            if found.unreadable:
                raise RefusedError(
                    f"{len(found.unreadable)} objects in {url} could not be read as sealed "
                    f"documents (see: sealdoc inventory {url}); the check cannot vouch for them"
                )
            if lost:
                click.echo(
                    f"checked {url}: {found.documents} documents, {lost} only on key "
                    f"{key_id!r} version {version}: they will be shredded, as asked",
                    err=True,
                )
                continue
            click.echo(f"checked {url}: {found.documents} documents, none only on it", err=True)


def check_store_options(command: F) -> F:
    """``--check-store`` and the store options, handed to the command as ``check=StoreCheck``."""

    def build(check_stores: tuple[str, ...], **store: Any) -> StoreCheck:
        return StoreCheck(check_stores, **store)

    fields = ("check_stores", "storage_options", "name_key_file")
    return apply_options(
        packed("check", build, *fields)(command),
        [
            click.option(
                "--check-store",
                "check_stores",
                multiple=True,
                metavar="URL",
                help="Refuse (exit 3) while any document in this store depends only on "
                "the version. Repeatable.",
            ),
            store_options,
        ],
    )


def _unusable_labels(ring: LocalKeyring) -> frozenset[str]:
    """Labels of this ring's versions that open nothing now: no help to a document.

    Without them, a document wrapped under default#1 and escrow#1 passes the
    check for default#1 after escrow#1 was disabled or destroyed, and is lost.
    """
    labels = set()
    for key_name in ring.key_ids():
        names = {key_name} | ({f"{key_name}@{ring.ring_id}"} if ring.ring_id else set())
        for number, state in ring.versions(key_name).items():
            if state != "enabled":
                labels |= {f"{ring.kind}:{n}#{number}" for n in names}
    return frozenset(labels)


_DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_duration(text: str) -> timedelta:
    """``7d``, ``12h`` or ``30m`` as a timedelta (a usage error otherwise)."""
    found = _DURATION.match(text)
    if found is None or int(found.group(1)) == 0:
        raise click.BadParameter(
            f"{text!r} is not a duration such as 7d, 12h or 30m", param_hint="--after"
        )
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@keys.command("disable")
@click.argument("version", type=int)
@KEY_ID_OPTION
@check_store_options
@pass_state
def keys_disable(
    state: State,
    *,
    version: int,
    key_id: str,
    check: StoreCheck,
) -> None:
    """Stop a version from opening anything, until it is enabled again.

    \b
    Example:
      sealdoc keys disable 1 --key default --check-store s3://bank-docs/statements
    """
    with errors():
        ring = state.load()
        check.run(ring, key_id=key_id, version=version)
        ring.disable(version, key_id)
    click.echo(f"key {key_id!r} version {version} disabled")


@keys.command("enable")
@click.argument("version", type=int)
@KEY_ID_OPTION
@pass_state
def keys_enable(state: State, version: int, key_id: str) -> None:
    """Let a disabled version open documents again; cancels a scheduled destroy.

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
    "--after",
    metavar="DURATION",
    help="Disable now, destroy once DURATION (7d, 12h, 30m) has passed: at the next "
    "change of the keyring or by 'sealdoc keys purge'. 'keys enable' cancels it.",
)
@click.option(
    "--yes-destroy-last",
    "confirm",
    is_flag=True,
    help="Destroy now, with no grace period, even the primary or the last enabled "
    "version: documents wrapped only under it are lost.",
)
@click.option(
    "--new-passphrase-file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Re-encrypt the keyring file under this new passphrase at the same time, so "
    "old copies of the file no longer open with the current one.",
)
@check_store_options
@pass_state
def keys_destroy(
    state: State,
    *,
    version: int,
    key_id: str,
    after: str | None,
    confirm: bool,
    new_passphrase_file: str | None,
    check: StoreCheck,
) -> None:
    """Erase a version's key material for good (crypto-shredding), after a grace period or now.

    Documents wrapped only under it become unreadable. Check the stores
    first (--check-store refuses while any document there depends only on
    it). Copies of the keyring file (backups) still hold the version: see
    docs/keyring.md, and consider --new-passphrase-file.

    \b
    Examples:
      sealdoc keys destroy 1 --after 30d --check-store s3://bank-docs/statements
      sealdoc keys destroy 1 --yes-destroy-last --check-store s3://bank-docs/statements
    """
    if after is None and not confirm:
        raise click.UsageError(
            "give --after DURATION (e.g. 7d) to destroy after a grace period, or "
            "--yes-destroy-last to destroy now"
        )
    delay = parse_duration(after) if after is not None else None
    new_passphrase = (
        credentials.read_secret_file(new_passphrase_file, "--new-passphrase-file")
        if new_passphrase_file
        else None
    )
    with errors():
        ring = state.load()
        check.run(ring, key_id=key_id, version=version, confirm=confirm)
        ring.destroy(version, key_id, after=delay, confirm=confirm, new_passphrase=new_passphrase)
    if delay is None:
        click.echo(f"key {key_id!r} version {version} destroyed")
    else:
        due = ring.destroy_schedule(key_id).get(version)
        when = due.isoformat(timespec="seconds") if due else after
        click.echo(
            f"key {key_id!r} version {version} disabled; destroyed from {when} "
            f"(cancel with: {_enable_command(version, key_id)})"
        )


def _enable_command(version: int, key_id: str) -> str:
    """The command that cancels a scheduled destroy, ready to paste."""
    if key_id == "default":
        return f"sealdoc keys enable {version}"
    return f"sealdoc keys enable {version} --key {shlex.quote(key_id)}"


@keys.command("purge")
@pass_state
def keys_purge(state: State) -> None:
    """Destroy the versions whose grace period (keys destroy --after) has passed.

    Any other change of the keyring does this too; run it daily where nothing
    else changes the keyring.

    \b
    Example:
      sealdoc keys purge
    """
    with errors():
        destroyed = state.load().purge()
    for ref in destroyed:
        click.echo(f"destroyed {shown(ref.label)}")
    if not destroyed:
        click.echo("nothing was due", err=True)


@keys.command("change-passphrase")
@click.option(
    "--new-passphrase-file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="File holding the new passphrase (else --new-passphrase-env, else a prompt).",
)
@click.option("--new-passphrase-env", metavar="VAR", help="Variable holding the new passphrase.")
@pass_state
def keys_change_passphrase(
    state: State, new_passphrase_file: str | None, new_passphrase_env: str | None
) -> None:
    """Re-encrypt the keyring file under a new passphrase, with a fresh salt.

    Copies of the file made before still open with the old passphrase: for a
    destroy to be final, every copy must go (docs/keyring.md).

    \b
    Example:
      sealdoc keys change-passphrase --new-passphrase-file /run/secrets/new-pass
    """
    new = credentials.optional_secret(
        env=new_passphrase_env,
        file=new_passphrase_file,
        env_flag="--new-passphrase-env",
        file_flag="--new-passphrase-file",
    )
    with errors():
        ring = state.load()
        if new is None:
            new = credentials.passphrase(
                env_var="", file=None, prompt="New keyring passphrase", confirm=True
            )
        ring.change_passphrase(new)
    click.echo(f"keyring {ring.path}: passphrase changed")


@keys.command("assign-id")
@pass_state
def keys_assign_id(state: State) -> None:
    """Give a keyring made before keyring ids its own id (a one-time migration).

    From then on new wraps carry NAME@ID, so two keyrings never label alike;
    older documents still open, and a routine rewrap relabels them.

    \b
    Example:
      sealdoc keys assign-id && sealdoc rewrap file:///srv/docs
    """
    with errors():
        ring_id = state.load().assign_id()
    click.echo(f"keyring id {ring_id}")


__all__ = ["keys", "parse_duration"]
