"""``sealdoc vault``: documents in a store by doc id (put, get, ls, rm, inspect).

A group rather than top-level verbs: a vault document is named by a store
URL and a doc id and is bound to that id, while ``seal``/``open``/``inspect``
take files. Keeping the two apart means ``sealdoc inspect FILE`` and
``sealdoc vault inspect URL DOC_ID`` can never be confused, and a file
sealed with ``sealdoc seal`` is never mistaken for a vault document.
"""

from __future__ import annotations

from typing import Any

import click

from .._atomic import atomic_file
from .._names import NAME_KEY_LEN
from .._vault import Vault
from . import streams
from .errors import CliError, RefusedError, errors
from .files import header_info, print_header
from .options import (
    context_option,
    dumps,
    force_option,
    json_option,
    key_option,
    pairs,
    store_options,
)
from .options import storage_options as parse_storage_options
from .state import State
from .stores import StoreFlags, store_flags
from .text import shown

pass_state = click.make_pass_decorator(State)


@click.group("vault")
def vault() -> None:
    """Documents in a store by doc id: put, get, ls, rm, inspect.

    Every command takes the store's URL (any fsspec URL), --storage-option
    and, for a store with opaque names, --name-key-file. A [vault] section of
    the config file applies to all of them.
    """


@vault.command("put")
@click.argument("store_url")
@click.argument("doc_id")
@click.argument("source", metavar="IN", default="-")
@context_option("Encryption context (stored in the clear, authenticated). Repeatable.")
@key_option("Key URI to seal for (repeatable); default: the local keyring.")
@click.option(
    "--key-id",
    metavar="KEY",
    default=None,
    help="Seal under this key of the first --key (a KeyStore subject such as C-1007, "
    "or a keyring key).",
)
@store_options
@force_option
@pass_state
@store_flags
def vault_put(
    state: State,
    *,
    store: StoreFlags,
    doc_id: str,
    source: str,
    context_pairs: tuple[str, ...],
    key_uris: tuple[str, ...],
    key_id: str | None,
    force: bool,
) -> None:
    """Seal IN (a file, a URL, or '-' for stdin: the default) into the vault as DOC_ID.

    The document is bound to DOC_ID: copied under another id, it does not
    open. An existing DOC_ID is replaced only with --force.

    \b
    Examples:
      sealdoc vault put s3://bank-docs C-1029/2026-11 statement.pdf --context tenant=acme
      produce-report | sealdoc vault put file:///srv/docs reports/2026-11
    """
    context = pairs(context_pairs, "--context")
    with errors():
        opened = store.open(state.keys(key_uris))
        if not force and opened.exists(doc_id):
            raise RefusedError(f"{doc_id} exists in the vault: give --force to replace it")
        options = parse_storage_options(store.storage_options)
        with streams.open_input(source, options) as src:
            opened.put(doc_id, src, context=context, key=key_id)
    click.echo(f"stored {shown(doc_id)}", err=True)


@vault.command("get")
@click.argument("store_url")
@click.argument("doc_id")
@click.option("-o", "--output", required=True, metavar="OUT", help="Where to write ('-': stdout).")
@context_option("Pairs the document's context must hold. Repeatable.")
@key_option()
@click.option(
    "--stream",
    is_flag=True,
    help="UNSAFE with -o -: write to stdout before the end is authenticated (see 'open').",
)
@store_options
@force_option
@pass_state
@store_flags
def vault_get(
    state: State,
    *,
    store: StoreFlags,
    doc_id: str,
    output: str,
    context_pairs: tuple[str, ...],
    key_uris: tuple[str, ...],
    stream: bool,
    force: bool,
) -> None:
    """Open DOC_ID from the vault into OUT. Nothing is written unless it all authenticates.

    With -o - the whole document is authenticated before its first byte goes
    to stdout (it is then read a second time); --stream skips that.

    \b
    Examples:
      sealdoc vault get s3://bank-docs C-1029/2026-11 -o statement.pdf
      sealdoc vault get file:///srv/docs reports/2026-11 -o - | less
    """
    context = pairs(context_pairs, "--context")
    with errors():
        target = streams.check_output(output, force=force)
        opened = store.open(state.keys(key_uris))
        with opened.open(doc_id, context=context) as reader, streams.open_output(target) as dst:
            streams.copy_authenticated(reader, dst, to_stdout=output == "-", stream=stream)


@vault.command("ls")
@click.argument("store_url")
@click.argument("prefix", default="")
@json_option
@store_options
@store_flags
def vault_ls(store: StoreFlags, prefix: str, as_json: bool) -> None:
    """List the doc ids in the vault (those starting with PREFIX), sorted.

    \b
    Examples:
      sealdoc vault ls s3://bank-docs C-1029/
      sealdoc vault ls file:///srv/docs --json
    """
    with errors():
        ids = list(store.open().list(prefix))
    if as_json:
        click.echo(dumps(ids))
        return
    for doc_id in ids:
        click.echo(shown(doc_id))


@vault.command("rm")
@click.argument("store_url")
@click.argument("doc_ids", metavar="DOC_ID...", nargs=-1, required=True)
@store_options
@store_flags
def vault_rm(store: StoreFlags, doc_ids: tuple[str, ...]) -> None:
    """Delete documents from the vault (a missing one is an error, exit 1).

    \b
    Example:
      sealdoc vault rm s3://bank-docs C-1029/2026-11
    """
    with errors():
        opened = store.open()
        for doc_id in doc_ids:
            opened.delete(doc_id)
            click.echo(f"deleted {shown(doc_id)}", err=True)


@vault.command("inspect")
@click.argument("store_url")
@click.argument("doc_id")
@json_option
@store_options
@store_flags
def vault_inspect(store: StoreFlags, doc_id: str, as_json: bool) -> None:
    """Show the header of DOC_ID in the vault. Needs no key; shows no secret.

    \b
    Example:
      sealdoc vault inspect s3://bank-docs C-1029/2026-11 --json
    """
    with errors():
        header = store.open().inspect(doc_id)
    info: dict[str, Any] = header_info(header)
    if as_json:
        click.echo(dumps(info))
        return
    print_header(info)


@vault.command("new-name-key")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
def vault_new_name_key(path: str) -> None:
    """Write a fresh opaque-names key to FILE (0600, hex), for --name-key-file.

    Keep it as safely as a key-encryption key: with it, a store's object
    names give back the doc ids. A FILE that exists is never overwritten.

    \b
    Example:
      sealdoc vault new-name-key /etc/sealdoc/names.key
    """
    key = Vault.generate_name_key()
    assert len(key) == NAME_KEY_LEN
    # atomic and never overwriting: a full disk or a crash leaves no empty
    # key file behind that every retry would then refuse to replace
    try:
        with atomic_file(path, overwrite=False) as fh:
            fh.write(key.hex().encode("ascii") + b"\n")
    except FileExistsError:  # TargetExistsError too
        raise RefusedError(f"{path} exists: a name key is never overwritten") from None
    except OSError as exc:
        raise CliError(f"cannot create {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote a name key to {path}", err=True)


__all__ = ["vault"]
