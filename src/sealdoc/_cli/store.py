"""``sealdoc rewrap | rotate | inventory``: jobs over every document of a store."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import click

from . import exit_codes, streams
from .errors import CliError, errors
from .options import (
    apply_options,
    binding_option,
    dumps,
    json_option,
    key_option,
    name_key,
    pairs,
    store_options,
)
from .options import storage_options as parse_storage_options
from .progress import progress
from .signals import Stop, stopping_on_signals
from .state import State
from .stores import StoreFlags, open_vault, store_flags
from .text import shown

pass_state = click.make_pass_decorator(State)
ALLOW_EMPTY_OPTION = click.option(
    "--allow-empty",
    is_flag=True,
    help="An empty or missing store is fine (else: exit 3, it is most likely a typo).",
)


# The options of the store-wide rewrap and rotate (and file mode's -o), by
# concern, in the order --help lists them.
_OUTPUT_AND_KEY_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "-o",
        "--output",
        metavar="OUT",
        help="File mode: write the one document IN to OUT ('-': stdout).",
    ),
    key_option(),
    click.option(
        "--to",
        "to_uris",
        multiple=True,
        metavar="URI",
        help="Key URI to wrap for instead (repeatable).",
    ),
    click.option(
        "--drop",
        "drops",
        multiple=True,
        metavar="LABEL",
        help="Remove the wraps under this key (kind:key_id or kind:key_id#version, as "
        "inspect shows them). Repeatable.",
    ),
]
_FILE_MODE_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--add",
        "add_uris",
        multiple=True,
        metavar="URI",
        help="Rewrap: also wrap for this key or recipient (age1pq1... moves device copies "
        "to post-quantum; docs/delivery.md); a document that has its wrap is skipped. "
        "Repeatable.",
    ),
    click.option(
        "--allow-classical",
        is_flag=True,
        help="Allow an X25519 wrap beside an age1pq1 one (weaker; see --add).",
    ),
    binding_option,
    click.option("--force", is_flag=True, help="File mode: replace OUT if it exists."),
]
_JOB_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--prefix", default="", help="Only doc ids starting with this."),
    click.option(
        "--workers",
        type=click.IntRange(1, 256),
        default=8,
        show_default=True,
        envvar="SEALDOC_WORKERS",
        help="Documents handled at once.",
    ),
    click.option("--dry-run", is_flag=True, help="Count what would change; write nothing."),
    click.option(
        "--resume",
        "checkpoint",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Checkpoint file: a rerun with it skips finished documents.",
    ),
    json_option,
]
_DASK_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--dask",
        "dask_address",
        metavar="ADDRESS",
        help="Run on a dask.distributed cluster (its scheduler's address).",
    ),
    click.option(
        "--batch-size",
        type=click.IntRange(1, 100_000),
        default=200,
        show_default=True,
        help="Documents per Dask task.",
    ),
]
_SAFETY_OPTIONS: list[Callable[[Any], Any]] = [
    ALLOW_EMPTY_OPTION,
    click.option(
        "--allow-unconditional",
        is_flag=True,
        help="Run on a store that cannot replace a document only if unchanged (no "
        "compare-and-swap); stop every other writer first.",
    ),
    click.option(
        "--remove-replaced-versions",
        is_flag=True,
        help="On a versioned S3 bucket, remove the old version of each document the job "
        "replaced (it holds the old ciphertext); audited; refused under Object Lock.",
    ),
]


def _bulk_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options the store-wide rewrap and rotate share (and file mode's -o)."""
    return apply_options(
        command,
        [
            *_OUTPUT_AND_KEY_OPTIONS,
            *_FILE_MODE_OPTIONS,
            *_JOB_OPTIONS,
            *_DASK_OPTIONS,
            *_SAFETY_OPTIONS,
            store_options,
            pass_state,
        ],
    )


def _file_mode(state: State, operation: str, target: str, output: str, job: dict[str, Any]) -> None:
    store_only = [
        flag
        for flag, given in (
            ("--prefix", job["prefix"]),
            ("--dry-run", job["dry_run"]),
            ("--resume", job["checkpoint"]),
            ("--dask", job["dask_address"]),
            ("--name-key-file", job["name_key_file"]),
            ("--remove-replaced-versions", job["remove_replaced_versions"]),
        )
        if given
    ]
    if store_only:
        raise click.UsageError(f"{', '.join(store_only)}: for a store URL, not for one file (-o)")
    from .files import rekey_file  # noqa: PLC0415 - vault imports this module, not files

    rekey_file(
        state,
        operation,
        source=target,
        output=output,
        key_uris=job["key_uris"],
        to_uris=job["to_uris"],
        binding=pairs(job["binding_pairs"], "--binding"),
        drops=job["drops"],
        adds=job["add_uris"],
        allow_classical=job["allow_classical"],
        storage_options=parse_storage_options(job["storage_options"]),
        force=job["force"],
    )


def _store_job(state: State, operation: str, target: str, output: str | None, **job: Any) -> None:
    if output is not None:
        _file_mode(state, operation, target, output, job)
        return
    if not streams.is_url(target) and not os.path.isdir(target):
        # a plain path must be a folder (a store, as for `vault put`); a file needs -o
        raise click.UsageError(
            f"{target!r} is not a store URL nor a folder; for one file, give -o OUT"
        )
    if job["binding_pairs"] or job["force"]:
        raise click.UsageError("--binding and --force are for one file (-o OUT)")
    if operation != "rewrap" and job["add_uris"]:
        raise click.UsageError("--add is for rewrap (a rotation re-creates the wraps it keeps)")
    with errors(), stopping_on_signals() as stop:
        report = _run(state, operation, target, job, stop)
    _summarise(operation, job, report, stop)


def _run(state: State, operation: str, target: str, job: dict[str, Any], stop: Stop) -> Any:
    cluster: dict[str, Any] = {}
    if job["dask_address"]:
        # workers open the store themselves: keys travel as URIs, secrets stay in their env
        from distributed import Client  # noqa: PLC0415 - the optional extra 'dask'

        keys: Any = state.key_uris(job["key_uris"])
        targets: Any = list(job["to_uris"]) or None
        adds: Any = list(job["add_uris"]) or None
        cluster = {"client": Client(job["dask_address"]), "batch_size": job["batch_size"]}
    else:
        keys = state.keys(job["key_uris"])
        targets = [state.key(u) for u in job["to_uris"]] or None
        adds = [state.key(u) for u in job["add_uris"]] or None
    vault = open_vault(
        target,
        keys=keys,
        storage_options=parse_storage_options(job["storage_options"]),
        name_key=name_key(job["name_key_file"]),
    )
    run = vault.rewrap_all if operation == "rewrap" else vault.rotate_all
    try:
        with progress(operation) as on_progress:
            return run(
                prefix=job["prefix"],
                to=targets,
                workers=job["workers"],
                dry_run=job["dry_run"],
                checkpoint=job["checkpoint"],
                progress=on_progress,
                allow_empty=job["allow_empty"],
                allow_unconditional=job["allow_unconditional"],
                remove_replaced_versions=job["remove_replaced_versions"],
                stop=stop.event,
                drop=list(job["drops"]) or None,
                **({"add": adds, "allow_classical": job["allow_classical"]} if adds else {}),
                **cluster,
            )
    finally:
        if cluster:
            cluster["client"].close()


def report_data(report: Any) -> dict[str, Any]:
    """The report as plain data (what ``--json`` prints, on one line)."""
    data: dict[str, Any] = json.loads(report.to_json())
    return data


def _summarise(operation: str, job: dict[str, Any], report: Any, stop: Stop) -> None:
    data = report_data(report)
    if job["as_json"]:
        click.echo(dumps(data))
    else:
        click.echo(_summary_line(operation, data))
    if data.get("versioning"):
        click.echo(_versions_line(data), err=True)
    for label, count in data.get("shredded_on", {}).items():
        click.echo(
            f"shredded: {count} documents only under {shown(label)}, destroyed on purpose "
            "(counted, not failures: no job can move them)",
            err=True,
        )
    problems = [("failed", f) for f in data["failed"]]
    problems += [("changed", f) for f in data.get("changed", [])]
    problems += [("missing", f) for f in data.get("missing", [])]
    for what, failure in problems:
        name = failure.get("doc_id") or failure.get("path")
        click.echo(f"{what}: {shown(name)}: {shown(failure['error'])}", err=True)
    resume = f"--resume {job['checkpoint']}" if job["checkpoint"] else "--resume FILE"
    if data.get("interrupted"):
        hint = (
            f"rerun with {resume} to go on where it stopped"
            if job["checkpoint"]
            else "rerun it (with --resume FILE next time, so finished documents are skipped)"
        )
        raise CliError(f"interrupted by {stop.name}: {hint}", stop.exit_code)
    if problems:
        raise CliError(
            f"{len(problems)} documents were left as they were (listed above); "
            f"rerun with {resume} for the transient ones",
            exit_codes.FAILED,
        )


def _versions_line(data: dict[str, Any]) -> str:
    kept, removed = data["replaced_versions_kept"], data["replaced_versions_removed"]
    return (
        f"versioned bucket ({data['versioning']}): {removed} replaced versions removed, "
        f"{kept} kept; a kept version still holds the old ciphertext"
        + (" (--remove-replaced-versions removes them)" if kept else "")
    )


def _summary_line(operation: str, data: dict[str, Any]) -> str:
    done = (
        f"{data.get('would_rewrite', 0)} would rewrite"
        if data["dry_run"]
        else f"{data['rewritten']} rewritten"
    )
    extra = "".join(
        f", {n} {what}"
        for what, n in (
            ("changed under the job", len(data.get("changed", []))),
            ("missing", len(data.get("missing", []))),
            ("abandoned", data.get("abandoned", 0)),
            ("shredded", data.get("shredded", 0)),
            ("wraps added", sum(data.get("added", {}).values())),
        )
        if n
    )
    return (
        f"{operation}{' (dry run)' if data['dry_run'] else ''}"
        f"{' (interrupted)' if data.get('interrupted') else ''}: {data['scanned']} scanned, "
        f"{done}, {data['skipped']} skipped, {data['resumed']} resumed, "
        f"{len(data['failed'])} failed{extra} in {data['duration_s']:.1f} s "
        f"({data['docs_per_second']:.0f} documents/s)"
    )


@click.command("rewrap")
@click.argument("target", metavar="STORE_URL|IN")
@_bulk_options
def rewrap_cmd(state: State, target: str, output: str | None, **job: Any) -> None:
    """Bring wrapped keys to the current key versions: a whole store, or one file with -o.

    The bodies are not touched. Documents already current are skipped from
    their headers; with --resume, a rerun after a crash skips finished ones.
    With --add, each document gains that wrap, unless its header shows it
    already has it; an age1pq1 wrap beside an X25519 one is refused (failed,
    listed) unless --drop removes the X25519 one or --allow-classical.
    Exit 0: all done; 1: some documents failed (listed); 2: usage error;
    3: refused (empty store, another job's checkpoint); 130/143: interrupted.

    \b
    Examples:
      sealdoc keys rotate
      sealdoc rewrap file:///srv/docs --workers 16 --resume rewrap.checkpoint
      sealdoc rewrap s3://bank-docs/statements --key 'aws-kms://alias/docs?region=eu-west-1' --json
      sealdoc rewrap claim.pdf.sdoc -o claim.pdf.sdoc.new
      sealdoc rewrap s3://bank-docs/copies --add age1pq1... --drop x25519:device --resume add.ckpt
    """
    _store_job(state, "rewrap", target, output, **job)


@click.command("rotate")
@click.argument("target", metavar="STORE_URL|IN")
@_bulk_options
def rotate_cmd(state: State, target: str, output: str | None, **job: Any) -> None:
    """Re-encrypt under fresh document keys: a whole store, or one file with -o.

    For document keys that may have leaked. Use --resume so that a rerun
    does not rotate a document twice. Exit codes as for rewrap.

    \b
    Examples:
      sealdoc rotate file:///srv/docs --prefix acme/ --resume rotate.checkpoint
      sealdoc rotate claim.pdf.sdoc -o claim.pdf.sdoc.new
    """
    _store_job(state, "rotate", target, output, **job)


@click.command("inventory")
@click.argument("store_url")
@click.option("--prefix", default="", help="Only doc ids starting with this.")
@json_option
@ALLOW_EMPTY_OPTION
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True)
@key_option(
    "Key URI (repeatable) whose destroyed versions count documents as shredded; "
    "no key is ever used to open anything."
)
@store_options
@store_flags
@pass_state
def inventory_cmd(
    state: State,
    *,
    store: StoreFlags,
    prefix: str,
    as_json: bool,
    allow_empty: bool,
    workers: int,
    key_uris: tuple[str, ...],
) -> None:
    """Count documents per wrapped key version, from headers alone (no key is used).

    Every object under the URL is read, whatever its name; objects that are
    not sealed documents, or cannot be read, are listed under their own
    heading and never stop the count. "only on" counts the documents that
    would be lost with that version (see 'keys destroy --check-store').
    With --key, documents whose every wrap is under a version those keys
    destroyed are counted as shredded. An empty or missing store is refused
    (exit 3) unless --allow-empty.

    \b
    Example:
      sealdoc inventory s3://bank-docs/statements --json
    """
    with errors(), progress("inventory") as on_progress:
        keys = [state.key(u) for u in key_uris] or None
        found = store.open(keys).inventory(
            prefix, workers=workers, allow_empty=allow_empty, progress=on_progress
        )
    if as_json:
        click.echo(dumps(json.loads(found.to_json())))
        return
    print_inventory(found)


def print_inventory(found: Any) -> None:
    """The inventory for a person: per version, how many documents, and how many only on it."""
    for label, count in found.counts.items():
        only = found.only_on.get(label, 0)
        click.echo(f"{shown(label)}\t{count}" + (f"\t(only on it: {only})" if only else ""))
    click.echo(f"documents: {found.documents}")
    if found.shredded:
        click.echo(f"shredded: {found.shredded} (every wrap under a destroyed version)")
    if found.versioning:
        click.echo(
            f"versioning: {found.versioning}: the bucket keeps old versions of replaced and "
            "deleted documents (their old ciphertext); see docs/storage.md"
        )
    if found.unreadable:
        click.echo(f"unreadable ({len(found.unreadable)}): not sealed documents, or not readable")
        for name, reason in found.unreadable:
            click.echo(f"  {shown(name)}: {shown(reason)}")


__all__ = ["inventory_cmd", "print_inventory", "report_data", "rewrap_cmd", "rotate_cmd"]
