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
from . import exit_codes, streams
from .errors import CliError, RefusedError, errors
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
from .progress import progress
from .signals import stopping_on_signals
from .state import State
from .store import ALLOW_EMPTY_OPTION, report_data
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
@click.argument("doc_id", required=False)
@click.argument("source", metavar="IN", default="-")
@context_option("Encryption context (stored in the clear, authenticated). Repeatable.")
@key_option("Key URI to seal for (repeatable); default: the local keyring.")
@click.option(
    "--from",
    "folder",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False),
    help="Store every file under DIR, its relative path as its doc id (no DOC_ID, no IN).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="With --from: documents stored at once.",
)
@json_option
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
    doc_id: str | None,
    source: str,
    context_pairs: tuple[str, ...],
    key_uris: tuple[str, ...],
    folder: str | None,
    workers: int,
    as_json: bool,
    key_id: str | None,
    force: bool,
) -> None:
    """Seal IN (a file, a URL, or '-' for stdin: the default) into the vault as DOC_ID.

    The document is bound to DOC_ID: copied under another id, it does not
    open. An existing DOC_ID is replaced only with --force.

    With --from DIR, every file under DIR is stored, concurrently, under its
    relative path. A rerun skips what is already stored unchanged (checked
    by opening it with the same keys), so an interrupted load resumes; a
    file stored with other content is replaced only with --force. A summary
    (or, with --json, the report) is printed; exit 1 if any file failed.

    \b
    Examples:
      sealdoc vault put s3://bank-docs C-1029/2026-11 statement.pdf --context tenant=acme
      produce-report | sealdoc vault put file:///srv/docs reports/2026-11
      sealdoc vault put file:///srv/docs --from ./statements --workers 8 --context tenant=acme
    """
    context = pairs(context_pairs, "--context")
    if folder is not None:
        if doc_id is not None:
            raise click.UsageError("--from DIR takes no DOC_ID or IN: the paths are the doc ids")
        _put_folder(
            state,
            store,
            folder,
            key_uris,
            context,
            key_id=key_id,
            workers=workers,
            replace=force,
            json=as_json,
        )
        return
    if doc_id is None:
        raise click.UsageError("give DOC_ID (and IN), or --from DIR")
    if as_json:
        raise click.UsageError("--json is for --from DIR")
    with errors():
        opened = store.open(state.keys(key_uris))
        if not force and opened.exists(doc_id):
            raise RefusedError(f"{doc_id} exists in the vault: give --force to replace it")
        options = parse_storage_options(store.storage_options)
        with streams.open_input(source, options) as src:
            opened.put(doc_id, src, context=context, key=key_id)
    click.echo(f"stored {shown(doc_id)}", err=True)


def _put_folder(
    state: State,
    store: StoreFlags,
    folder: str,
    key_uris: tuple[str, ...],
    context: dict[str, str],
    *,
    key_id: str | None,
    workers: int,
    replace: bool,
    json: bool,
) -> None:
    """``vault put --from``: the report and exit codes of the store-wide jobs."""
    with errors(), stopping_on_signals() as stop:
        opened = store.open(state.keys(key_uris))
        with progress("put") as on_progress:
            report = opened.put_folder(
                folder,
                context=context,
                key=key_id,
                workers=workers,
                replace=replace,
                progress=on_progress,
                stop=stop.event,
            )
    if json:
        click.echo(dumps(report_data(report)))
    else:
        click.echo(
            f"put{' (interrupted)' if report.interrupted else ''}: {report.scanned} files, "
            f"{report.rewritten} stored, {report.skipped} already stored unchanged, "
            f"{len(report.failed)} failed in {report.duration_s:.1f} s "
            f"({report.docs_per_second:.0f} documents/s)"
        )
    for failure in report.failed:
        click.echo(f"failed: {shown(failure.doc_id)}: {shown(failure.error)}", err=True)
    if report.interrupted:
        raise CliError(
            f"interrupted by {stop.name}: rerun the same command to go on "
            "(documents already stored unchanged are skipped)",
            stop.exit_code,
        )
    if report.failed:
        raise CliError(
            f"{len(report.failed)} of {report.scanned} files were not stored (listed above)",
            exit_codes.FAILED,
        )


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
@ALLOW_EMPTY_OPTION
@store_options
@store_flags
def vault_ls(store: StoreFlags, prefix: str, as_json: bool, allow_empty: bool) -> None:
    """List the doc ids in the vault (those starting with PREFIX), sorted.

    Nothing to list is refused (exit 3: most likely a typo in the URL or
    missing credentials) unless --allow-empty.

    \b
    Examples:
      sealdoc vault ls s3://bank-docs C-1029/
      sealdoc vault ls file:///srv/docs --json
    """
    with errors():
        ids = list(store.open().list(prefix))
    if not ids and not allow_empty:  # most likely a typo, as for rewrap and inventory
        where = repr(store.url) + (f" with prefix {prefix!r}" if prefix else "")
        raise RefusedError(
            f"no documents under {where}: check the URL, the prefix and the store's "
            "credentials (--allow-empty accepts an empty store)"
        )
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
    # files brings in the age reader and the rekey paths, which no other vault command needs
    from .files import header_info, print_header  # noqa: PLC0415

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
