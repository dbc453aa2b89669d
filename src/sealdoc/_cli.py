"""The ``sealdoc`` command: a local keyring and files, for scripts and the quick start.

Exit codes: 0 done; 1 the operation failed (a sealdoc error, printed on
stderr); 2 usage error.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click

from . import _format as fmt
from ._envelope import inspect, open_stream, seal_stream
from ._html import export_html, sealed_from_html
from ._passwords import check_password
from ._pdf import export_pdf
from ._rekey import rewrap_stream, rotate_stream
from ._uri import key_from_uri
from ._vault import Vault
from .exceptions import DecryptionError, KeyProviderError, SealdocError
from .providers import LocalKeyring, Password, X25519Identity, X25519Recipient
from .providers._password import describe as describe_password

PASSPHRASE_ENV = "SEALDOC_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
KEYRING_ENV = "SEALDOC_KEYRING"
_F = TypeVar("_F", bound=Callable[..., Any])
_MAX_HTML_PAGE = 128 * 1024 * 1024


def _default_keyring() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sealdoc" / "keyring.json"


def _passphrase(env_var: str, *, confirm: bool = False) -> str:
    value = os.environ.get(env_var)
    if value:
        return value
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"no passphrase: set {env_var} (or --passphrase-env) or run on a terminal"
        )
    result: str = click.prompt("Keyring passphrase", hide_input=True, confirmation_prompt=confirm)
    return result


def _context(pairs: tuple[str, ...]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        result[key] = value
    return result


def _context_option(help_text: str) -> Callable[[_F], _F]:
    return click.option("--context", "pairs", multiple=True, metavar="KEY=VALUE", help=help_text)


class _Options:
    def __init__(self, keyring: Path, passphrase_env: str) -> None:
        self.keyring = keyring
        self.passphrase_env = passphrase_env

    def load(self) -> LocalKeyring:
        return LocalKeyring.load(self.keyring, passphrase=_passphrase(self.passphrase_env))


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except SealdocError as exc:
        # The CLI's user is the operator, so an opening error shows its details
        # (escaped), which str() leaves out for untrusted callers (format.md 9.2).
        text = exc.details() if isinstance(exc, DecryptionError | KeyProviderError) else str(exc)
        click.echo(f"sealdoc: {text}", err=True)
        raise SystemExit(1) from None
    except (OSError, ValueError) as exc:
        click.echo(f"sealdoc: {exc}", err=True)
        raise SystemExit(1) from None


@contextmanager
def _input(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as fh:
        yield fh


@contextmanager
def _output(path: str) -> Iterator[BinaryIO]:
    """Write to a temp file and rename on success, so a failure leaves no partial output."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    # A fresh name opened with O_EXCL: a planted file or symlink cannot
    # redirect the plaintext; 0600 from the start.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.partial")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# Config-file names (as on the command line) for options whose Python name differs.
_CONFIG_NAMES = {
    "key": "key_uris",
    "to": "to_uris",
    "resume": "checkpoint",
    "json": "as_json",
    "dask": "dask_address",
}


def _config_section(table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in table.items():
        key = name.replace("-", "_")
        out[_CONFIG_NAMES.get(key, key)] = (
            _config_section(value) if isinstance(value, dict) else value
        )
    return out


def _load_config(ctx: click.Context, _param: click.Parameter, path: Path | None) -> None:
    """Defaults from a TOML file: top-level keys for global options, [rewrap] etc. per command.

    The command line and the environment variables still win over the file.
    """
    if path is None:
        return
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - only when a config file is given
    else:  # pragma: no cover
        import tomli as tomllib  # noqa: PLC0415
    try:
        table = tomllib.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--config") from exc
    ctx.default_map = {**(ctx.default_map or {}), **_config_section(table)}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="SEALDOC_CONFIG",
    is_eager=True,
    expose_value=False,
    callback=_load_config,
    help="TOML file of defaults: keyring, passphrase-env; [rewrap], [rotate]... sections.",
)
@click.option(
    "--keyring",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=KEYRING_ENV,
    default=_default_keyring,
    show_default="$SEALDOC_KEYRING or ~/.config/sealdoc/keyring.json",
    help="The local keyring file.",
)
@click.option(
    "--passphrase-env",
    default=PASSPHRASE_ENV,
    show_default=True,
    metavar="VAR",
    help="Environment variable holding the keyring passphrase (else a prompt).",
)
@click.version_option(package_name="sealdoc")
@click.pass_context
def cli(ctx: click.Context, keyring: Path, passphrase_env: str) -> None:
    """Seal and open documents, each under its own key.

    \b
    Example:
      export SEALDOC_PASSPHRASE='a long passphrase'
      sealdoc --keyring ring.json keys init
      sealdoc --keyring ring.json seal statement.pdf -o statement.pdf.sdoc --context tenant=acme
      sealdoc inspect statement.pdf.sdoc
      sealdoc --keyring ring.json open statement.pdf.sdoc -o statement.pdf
    """
    ctx.obj = _Options(keyring, passphrase_env)


@cli.group()
def keys() -> None:
    """Manage the local keyring."""


@keys.command("init")
@click.pass_obj
def keys_init(opts: _Options) -> None:
    """Create a new keyring with key 'default' at version 1.

    \b
    Example:
      SEALDOC_PASSPHRASE='a long passphrase' sealdoc --keyring ring.json keys init
    """
    with _errors():
        opts.keyring.parent.mkdir(parents=True, exist_ok=True)
        ring = LocalKeyring.create(
            opts.keyring, passphrase=_passphrase(opts.passphrase_env, confirm=True)
        )
    click.echo(f"created keyring {ring.path} (key 'default', version 1)")


@keys.command("list")
@click.pass_obj
def keys_list(opts: _Options) -> None:
    """List the keyring's keys and versions (never key material)."""
    with _errors():
        ring = opts.load()
        for key_id in ring.key_ids():
            primary = ring.primary_version(key_id)
            for version, state in ring.versions(key_id).items():  # no key material
                mark = " (primary)" if version == primary else ""
                click.echo(f"{key_id}\t{version}\t{state}{mark}")


_KEY_OPTION = click.option(
    "--key", "key_id", default="default", show_default=True, help="Which key of the keyring."
)


@keys.command("rotate")
@_KEY_OPTION
@click.pass_obj
def keys_rotate(opts: _Options, key_id: str) -> None:
    """Add a new version of a key and make it primary.

    \b
    Example:
      sealdoc keys rotate --key default
    """
    with _errors():
        version = opts.load().rotate(key_id)
    click.echo(f"key {key_id!r}: version {version} is now primary")


@keys.command("add")
@click.argument("key_id")
@click.pass_obj
def keys_add(opts: _Options, key_id: str) -> None:
    """Add a key (per customer, per tenant) at version 1.

    \b
    Example:
      sealdoc keys add customer-1029
    """
    with _errors():
        opts.load().add_key(key_id)
    click.echo(f"added key {key_id!r} (version 1)")


@keys.command("disable")
@click.argument("version", type=int)
@_KEY_OPTION
@click.pass_obj
def keys_disable(opts: _Options, version: int, key_id: str) -> None:
    """Stop a version from opening anything, until it is enabled again.

    \b
    Example:
      sealdoc keys disable 1 --key default
    """
    with _errors():
        opts.load().disable(version, key_id)
    click.echo(f"key {key_id!r} version {version} disabled")


@keys.command("enable")
@click.argument("version", type=int)
@_KEY_OPTION
@click.pass_obj
def keys_enable(opts: _Options, version: int, key_id: str) -> None:
    """Let a disabled version open documents again.

    \b
    Example:
      sealdoc keys enable 1 --key default
    """
    with _errors():
        opts.load().enable(version, key_id)
    click.echo(f"key {key_id!r} version {version} enabled")


@keys.command("destroy")
@click.argument("version", type=int)
@_KEY_OPTION
@click.option(
    "--yes-destroy-last",
    "confirm",
    is_flag=True,
    help="Needed to destroy the primary or last enabled version: its documents are lost.",
)
@click.pass_obj
def keys_destroy(opts: _Options, version: int, key_id: str, confirm: bool) -> None:
    """Erase a version's key material for good (crypto-shredding).

    Documents wrapped only under it become unreadable. Find them first
    (sealdoc inspect shows each document's key versions) and rewrap them.

    \b
    Example:
      sealdoc keys destroy 1 --key default
    """
    with _errors():
        opts.load().destroy(version, key_id, confirm=confirm)
    click.echo(f"key {key_id!r} version {version} destroyed")


def _bulk_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options the store-wide rewrap and rotate share."""
    for decorator in reversed(
        [
            click.option(
                "-o",
                "--output",
                metavar="OUT",
                help="File mode: write the one document here ('-': stdout).",
            ),
            click.option(
                "--key",
                "key_uris",
                multiple=True,
                metavar="URI",
                help="Key URI to open with (repeatable); default: the local keyring.",
            ),
            click.option(
                "--to",
                "to_uris",
                multiple=True,
                metavar="URI",
                help="Key URI to wrap for instead (repeatable).",
            ),
            click.option("--prefix", default="", help="Only doc ids starting with this."),
            click.option(
                "--workers",
                type=click.IntRange(1, 256),
                default=8,
                show_default=True,
                envvar="SEALDOC_WORKERS",
            ),
            click.option("--dry-run", is_flag=True, help="Count what would change; write nothing."),
            click.option(
                "--resume",
                "checkpoint",
                metavar="FILE",
                type=click.Path(dir_okay=False),
                help="Checkpoint file: a rerun with it skips finished documents.",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
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
            click.pass_obj,
        ]
    ):
        command = decorator(command)  # type: ignore[operator]
    return command


def _keys(opts: _Options, uris: tuple[str, ...]) -> Any:
    return [key_from_uri(u) for u in uris] if uris else opts.load()


def _store_job(
    opts: _Options,
    operation: str,
    *,
    target: str,
    output: str | None,
    key_uris: tuple[str, ...],
    to_uris: tuple[str, ...],
    prefix: str,
    workers: int,
    dry_run: bool,
    checkpoint: str | None,
    as_json: bool,
    dask_address: str | None,
    batch_size: int,
) -> None:
    if output is not None:  # one file
        with _errors():
            keys = _keys(opts, key_uris)
            to = [key_from_uri(u) for u in to_uris] or None
            verb = rewrap_stream if operation == "rewrap" else rotate_stream
            with _input(target) as src, _output(output) as dst:
                verb(src, dst, keys=keys, to=to)
        return
    if "://" not in target:
        raise click.UsageError(f"{target!r} is not a store URL; for one file, give -o OUT")
    with _errors():
        cluster: dict[str, Any] = {}
        store_keys: Any
        targets: Any
        if dask_address:
            # workers open the store themselves: keys travel as URIs, secrets stay in their env
            from distributed import Client  # noqa: PLC0415 - the optional extra 'dask'

            store_keys = list(key_uris) or [f"local://{opts.keyring.resolve()}"]
            targets = list(to_uris) or None
            cluster = {"client": Client(dask_address), "batch_size": batch_size}
        else:
            store_keys = _keys(opts, key_uris)
            targets = [key_from_uri(u) for u in to_uris] or None
        vault = Vault(target, keys=store_keys)
        job = vault.rewrap_all if operation == "rewrap" else vault.rotate_all
        try:
            with _Progress(operation) as progress:
                report = job(
                    prefix=prefix,
                    to=targets,
                    workers=workers,
                    dry_run=dry_run,
                    checkpoint=checkpoint,
                    progress=progress,
                    **cluster,
                )
        finally:
            if cluster:
                cluster["client"].close()
    if as_json:
        click.echo(report.to_json())
    else:
        click.echo(
            f"{operation}: {report.scanned} scanned, {report.rewritten} rewritten, "
            f"{report.skipped} skipped, {report.resumed} resumed, {len(report.failed)} failed "
            f"in {report.duration_s:.1f} s ({report.docs_per_second:.0f} documents/s)"
            + (" [dry run]" if dry_run else "")
        )
        for failure in report.failed:
            click.echo(f"failed: {failure.doc_id}: {failure.error}", err=True)
    if report.scanned == 0:
        click.echo(
            f"sealdoc: no documents under {target!r}{f' with prefix {prefix!r}' if prefix else ''}"
            " (check the URL, the prefix and the store's credentials)",
            err=True,
        )
    if report.failed:
        raise SystemExit(1)


class _Progress:
    """A progress bar on a terminal; a log line every few seconds otherwise."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: Any = None
        self._last = 0.0

    def __enter__(self) -> Callable[[int, int], None]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def __call__(self, done: int, total: int) -> None:
        if sys.stderr.isatty():
            if self._bar is None:
                self._bar = click.progressbar(
                    length=total,
                    label=self._label,
                    file=sys.stderr,
                    show_eta=True,
                    show_percent=True,
                )
                self._bar.__enter__()
            self._bar.update(1)
        elif time.monotonic() - self._last > 5 or done == total:
            self._last = time.monotonic()
            click.echo(f"{self._label}: {done}/{total} documents", err=True)


@cli.command("rewrap")
@click.argument("target", metavar="STORE_URL|IN")
@_bulk_options
def rewrap_cmd(opts: _Options, target: str, output: str | None, **job: Any) -> None:
    """Bring wrapped keys to the current key versions: a whole store, or one file with -o.

    The bodies are not touched. Documents already current are skipped from
    their headers; with --resume, a rerun after a crash skips finished ones.
    Exit 0: all done; 1: some documents failed (listed); 2: usage error.

    \b
    Examples:
      sealdoc keys rotate
      sealdoc rewrap file:///srv/docs --workers 16 --resume rewrap.checkpoint
      sealdoc rewrap s3://bank-docs/statements --key aws-kms://alias/docs?region=eu-west-1 --json
      sealdoc rewrap claim.pdf.sdoc -o claim.pdf.sdoc.new
    """
    _store_job(opts, "rewrap", target=target, output=output, **job)


@cli.command("rotate")
@click.argument("target", metavar="STORE_URL|IN")
@_bulk_options
def rotate_cmd(opts: _Options, target: str, output: str | None, **job: Any) -> None:
    """Re-encrypt under fresh document keys: a whole store, or one file with -o.

    For document keys that may have leaked. Use --resume so that a rerun
    does not rotate a document twice. Exit 0: all done; 1: some failed; 2: usage.

    \b
    Examples:
      sealdoc rotate file:///srv/docs --prefix acme/ --resume rotate.checkpoint
      sealdoc rotate claim.pdf.sdoc -o claim.pdf.sdoc.new
    """
    _store_job(opts, "rotate", target=target, output=output, **job)


@cli.command("inventory")
@click.argument("store_url")
@click.option("--prefix", default="", help="Only doc ids starting with this.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--key",
    "key_uris",
    multiple=True,
    metavar="URI",
    help="Key URI (only to list opaque names; headers need no key).",
)
@click.pass_obj
def inventory_cmd(
    opts: _Options, store_url: str, prefix: str, as_json: bool, key_uris: tuple[str, ...]
) -> None:
    """Count documents per wrapped key version, from headers alone (no key is used).

    Shows that a key version protects nothing before you destroy it.

    \b
    Example:
      sealdoc inventory s3://bank-docs/statements --json
    """
    with _errors():
        keys = [key_from_uri(u) for u in key_uris] or [_NoKeys()]
        counts = Vault(store_url, keys=keys).inventory(prefix)
    if as_json:
        click.echo(json.dumps(dict(counts), indent=2, sort_keys=True))
        return
    for label, count in counts.items():
        click.echo(f"{label}\t{count}")


class _NoKeys:
    """Stands in for keys where only headers are read: it opens nothing."""

    kind = "none"

    def wrap(self, dek: bytes, ad: object) -> Any:
        raise KeyProviderError("no key was given")

    def unwrap(self, wrapped: object, ad: object) -> bytes:
        raise KeyProviderError("no key was given")

    def handles(self, wrapped: object) -> bool:
        return False


@cli.command("seal")
@click.argument("source", metavar="IN")
@click.option("-o", "--output", required=True, metavar="OUT", help="Where to write ('-': stdout).")
@_context_option("Encryption context (stored in the clear, authenticated). Repeatable.")
@click.option("--segment-size", type=int, default=fmt.DEFAULT_SEGMENT_SIZE, show_default=True)
@click.pass_obj
def seal_cmd(
    opts: _Options, source: str, output: str, pairs: tuple[str, ...], segment_size: int
) -> None:
    """Seal IN ('-': stdin) under a fresh document key.

    \b
    Example:
      sealdoc seal claim.pdf -o claim.pdf.sdoc --context tenant=acme --context type=claim
    """
    context = _context(pairs)
    with _errors():
        ring = opts.load()
        with _input(source) as src, _output(output) as dst:
            seal_stream(src, dst, keys=ring, context=context, segment_size=segment_size)


def _env_secret(var: str, what: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise click.UsageError(f"{what}: the environment variable {var} is not set or empty")
    return value


def _recipient_keys(
    password_env: str | None, identities: tuple[str, ...], identity_passphrase_env: str | None
) -> list[Any]:
    """What a customer opens with: a password, device identities, or both."""
    found: list[Any] = []
    if password_env:
        found.append(Password(_env_secret(password_env, "--password-env")))
    passphrase = (
        _env_secret(identity_passphrase_env, "--identity-passphrase-env")
        if identity_passphrase_env
        else None
    )
    found.extend(X25519Identity.load(path, passphrase=passphrase) for path in identities)
    return found


@contextmanager
def _sealed_input(path: str) -> Iterator[BinaryIO]:
    """IN as a sealed stream; a self-decrypting HTML page gives the document inside."""
    with _input(path) as src:
        start = src.peek(64)[:64] if hasattr(src, "peek") else b""
        page = start.lstrip().lower().startswith((b"<!doctype", b"<html"))
        if start[:4] == fmt.MAGIC or not page:
            yield src
            return
        yield io.BytesIO(sealed_from_html(src.read(_MAX_HTML_PAGE)))


@cli.command("open")
@click.argument("source", metavar="IN")
@click.option("-o", "--output", required=True, metavar="OUT", help="Where to write ('-': stdout).")
@_context_option("Pairs the document's context must hold. Repeatable.")
@click.option(
    "--binding",
    "binding_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="The binding the document was sealed with (e.g. sealdoc:doc_id=...). Repeatable.",
)
@click.option(
    "--password-env",
    metavar="VAR",
    help="Open with the password in this environment variable (a delivered copy).",
)
@click.option(
    "--identity",
    "identities",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, exists=True),
    help="Open with this device identity file (from 'sealdoc identity new'). Repeatable.",
)
@click.option(
    "--identity-passphrase-env",
    metavar="VAR",
    help="Environment variable holding the identity files' passphrase, if they have one.",
)
@click.pass_obj
def open_cmd(
    opts: _Options,
    *,
    source: str,
    output: str,
    pairs: tuple[str, ...],
    binding_pairs: tuple[str, ...],
    password_env: str | None,
    identities: tuple[str, ...],
    identity_passphrase_env: str | None,
) -> None:
    """Open a sealed IN ('-': stdin). Nothing is written unless it all authenticates.

    With --password-env or --identity, IN is a delivered copy (a sealed file
    or a self-decrypting .html page) and the keyring is not used.

    \b
    Examples:
      sealdoc open claim.pdf.sdoc -o claim.pdf --context tenant=acme
      STATEMENT_PW=... sealdoc open statement.html --password-env STATEMENT_PW -o statement.pdf
      sealdoc open statement.sdoc --identity ~/.config/sealdoc/device.key -o statement.pdf
    """
    context = _context(pairs)
    binding = _context(binding_pairs)
    with _errors():
        keys = _recipient_keys(password_env, identities, identity_passphrase_env)
        ring = keys or opts.load()
        with _sealed_input(source) as src, _output(output) as dst:
            reader = open_stream(src, keys=ring, context=context, binding=binding)
            while chunk := reader.read(1024 * 1024):
                dst.write(chunk)


@cli.command("deliver")
@click.argument("store_url")
@click.argument("doc_id")
@click.option("-o", "--output", required=True, metavar="OUT", help="Where to write ('-': stdout).")
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["sealed", "pdf", "html"]),
    default="sealed",
    show_default=True,
    help="sealed: a sealdoc file; pdf: an AES-256 password PDF; html: a self-decrypting page.",
)
@click.option(
    "--password-env",
    metavar="VAR",
    help="Environment variable holding the customer's password (never on the command line).",
)
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    metavar="X25519_PUBLIC_KEY",
    help="A device's recipient string (x25519:...), for the sealed format. Repeatable.",
)
@click.option(
    "--key",
    "key_uris",
    multiple=True,
    metavar="URI",
    help="Key URI that opens the stored document (repeatable); default: the local keyring.",
)
@click.option("--filename", help="html: the name the customer downloads (default: from DOC_ID).")
@click.option(
    "--share-key",
    is_flag=True,
    help="sealed: rewrap instead of re-encrypting (cheaper; the copy shares the stored key).",
)
@click.option(
    "--weak-password-ok",
    is_flag=True,
    help="Skip the password strength check (for passwords you did not choose).",
)
@click.pass_obj
def deliver_cmd(
    opts: _Options,
    *,
    store_url: str,
    doc_id: str,
    output: str,
    out_format: str,
    password_env: str | None,
    recipients: tuple[str, ...],
    key_uris: tuple[str, ...],
    filename: str | None,
    share_key: bool,
    weak_password_ok: bool,
) -> None:
    """A transit copy of DOC_ID from the vault at STORE_URL, for the customer only.

    No wrap under your own keys remains in it. The password is checked for
    strength first (see docs/delivery.md); --weak-password-ok skips that.

    \b
    Examples:
      sealdoc deliver s3://bank-docs C-1029/2026-11 --password-env PW --format html -o s.html
      sealdoc deliver ./vault C-1029/2026-11 --recipient x25519:Ab3... -o statement.sdoc
    """
    if out_format != "sealed" and recipients:
        raise click.UsageError("--recipient is for --format sealed; pdf and html take a password")
    if out_format != "sealed" and share_key:
        raise click.UsageError("--share-key is for --format sealed")
    if not password_env and not recipients:
        raise click.UsageError("give --password-env VAR, or --recipient for --format sealed")
    if out_format != "sealed" and not password_env:
        raise click.UsageError(f"--format {out_format} needs --password-env")
    password = _env_secret(password_env, "--password-env") if password_env else None
    with _errors():
        if password is not None and not weak_password_ok:
            check_password(password)
        vault = Vault(store_url, keys=_keys(opts, key_uris))
        if out_format == "sealed":
            to: list[Any] = [Password(password)] if password is not None else []
            to.extend(X25519Recipient(r) for r in recipients)
            data = vault.deliver(doc_id, to=to, fresh_key=not share_key)
        elif out_format == "pdf":
            assert password is not None
            data = export_pdf(vault.get(doc_id), password=password)
        else:
            assert password is not None
            name = filename or doc_id.rsplit("/", 1)[-1]
            data = export_html(vault.get(doc_id), password=password, filename=name)
        with _output(output) as dst:
            dst.write(data)
    if output != "-":
        click.echo(f"delivered {doc_id} as {out_format} to {output}", err=True)


@cli.group()
def identity() -> None:
    """Device keys (X25519) that receive delivered documents."""


@identity.command("new")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "--passphrase-env",
    "identity_passphrase_env",
    metavar="VAR",
    help="Protect the file with the passphrase in this environment variable.",
)
def identity_new(path: str, identity_passphrase_env: str | None) -> None:
    """Make a device identity in FILE (0600) and print its recipient string.

    \b
    Example:
      sealdoc identity new ~/.config/sealdoc/device.key
    """
    if Path(path).exists():
        raise click.UsageError(f"{path} exists: an identity is never overwritten")
    passphrase = (
        _env_secret(identity_passphrase_env, "--passphrase-env")
        if identity_passphrase_env
        else None
    )
    with _errors():
        made = X25519Identity.generate()
        made.save(path, passphrase=passphrase)
    click.echo(made.recipient)


@identity.command("recipient")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, exists=True))
@click.option("--passphrase-env", "identity_passphrase_env", metavar="VAR")
def identity_recipient(path: str, identity_passphrase_env: str | None) -> None:
    """Print the recipient string (public key) of the identity in FILE."""
    passphrase = (
        _env_secret(identity_passphrase_env, "--passphrase-env")
        if identity_passphrase_env
        else None
    )
    with _errors():
        click.echo(X25519Identity.load(path, passphrase=passphrase).recipient)


@cli.command("inspect")
@click.argument("source", metavar="IN")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect_cmd(source: str, as_json: bool) -> None:
    """Show a sealed document's header. Needs no key; shows no secret.

    \b
    Example:
      sealdoc inspect claim.pdf.sdoc --json
    """
    with _errors(), _input(source) as src:
        header = inspect(src)
    info = {
        "format_version": header.version,
        "suite": header.suite.name,
        "segment_size": header.segment_size,
        "plaintext_length": header.plaintext_length,
        "header_length": header.header_length,
        "has_binding": header.has_binding,
        "context": header.context,
        "wrapped_keys": [
            {"kind": w.kind, "key_id": w.key_id, "version": w.version}
            | ({"kdf": describe_password(w)} if w.kind == "password" else {})
            for w in header.wrapped_keys
        ],
    }
    if as_json:
        click.echo(json.dumps(info, indent=2, sort_keys=True))
        return
    for key in ("format_version", "suite", "segment_size", "plaintext_length", "has_binding"):
        click.echo(f"{key}: {info[key]}")
    click.echo("context:")
    for k, v in header.context.items():
        click.echo(f"  {k} = {v}")
    click.echo("wrapped keys:")
    for w in header.wrapped_keys:
        kdf = describe_password(w) if w.kind == "password" else None
        click.echo(
            f"  {w.label}" + (f"  ({', '.join(f'{k}={v}' for k, v in kdf.items())})" if kdf else "")
        )


__all__ = ["cli"]
