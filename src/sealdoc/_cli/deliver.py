"""``sealdoc deliver``: a stored document as a copy for its customer only."""

from __future__ import annotations

from typing import Any

import click

from .._age.api import export_age
from .._html import export_html
from .._passwords import check_password
from .._pdf import export_pdf
from ..providers import Password
from ..providers._x25519 import recipient_from_uri
from . import streams
from .credentials import SecretFlags
from .errors import errors
from .files import OUTPUT_OPTION, password_options
from .options import force_option, key_option, store_options
from .state import State
from .stores import StoreFlags, store_flags

pass_state = click.make_pass_decorator(State)


@click.command("deliver")
@click.argument("store_url")
@click.argument("doc_id")
@OUTPUT_OPTION
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["sealed", "pdf", "html", "age"]),
    default="sealed",
    show_default=True,
    help="sealed: a sealdoc file; pdf: an AES-256 password PDF; html: a self-decrypting "
    "page; age: a standard age file (age -d opens it) for --recipient or a password.",
)
@password_options
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="A device's recipient: age1pq1... (hybrid post-quantum), age1... or x25519:... "
    "(X25519). For --format sealed or age. Repeatable.",
)
@click.option(
    "--allow-classical",
    is_flag=True,
    help="Allow X25519 recipients beside an age1pq1 one (the copy is then only as "
    "strong as X25519 against a quantum computer).",
)
@click.option("--armor", is_flag=True, help="age: write the ASCII-armored form.")
@key_option("Key URI that opens the stored document (repeatable); default: the local keyring.")
@click.option("--filename", help="html: the name the customer downloads (default: from DOC_ID).")
@click.option(
    "--share-key",
    is_flag=True,
    help="sealed: rewrap instead of re-encrypting (cheaper; the copy shares the stored key).",
)
@click.option(
    "--personal",
    multiple=True,
    metavar="VALUE",
    help="The customer's own data the password must not contain (phone, birth date, "
    "account number...). Repeatable; never printed.",
)
@click.option(
    "--weak-password-ok",
    is_flag=True,
    help="Skip the password strength check (for passwords you did not choose).",
)
@store_options
@force_option
@pass_state
@store_flags
def deliver_cmd(
    state: State,
    *,
    store: StoreFlags,
    doc_id: str,
    output: str,
    out_format: str,
    password: SecretFlags,
    recipients: tuple[str, ...],
    allow_classical: bool,
    armor: bool,
    key_uris: tuple[str, ...],
    filename: str | None,
    share_key: bool,
    personal: tuple[str, ...],
    weak_password_ok: bool,
    force: bool,
) -> None:
    """A transit copy of DOC_ID from the vault at STORE_URL, for the customer only.

    No wrap under your own keys remains in it. The password is checked for
    strength first (see docs/delivery.md), also against each --personal
    value; --weak-password-ok skips that.

    \b
    Examples:
      sealdoc deliver s3://bank-docs C-1029/2026-11 --password-file pw --format html -o s.html
      sealdoc deliver ./vault C-1029/2026-11 --password-env PW --personal +41791234567 -o s.sdoc
      sealdoc deliver ./vault C-1029/2026-11 --recipient x25519:Ab3... -o statement.sdoc
      sealdoc deliver ./vault C-1029/2026-11 --recipient age1pq1... -o statement.sdoc
      sealdoc deliver ./vault C-1029/2026-11 --recipient age1... --format age -o s.age
    """
    _check_usage(out_format, password=password, recipients=recipients, share_key=share_key)
    secret = password.read()
    with errors():
        target = streams.check_output(output, force=force)
        if secret is not None and not weak_password_ok:
            check_password(secret, personal=personal)
        vault = store.open(state.keys(key_uris))
        devices = [recipient_from_uri(r) for r in recipients]
        data: bytes | None = None  # the age format streams instead
        if out_format == "age":
            with vault.open(doc_id) as plain, streams.open_output(target) as dst:
                export_age(
                    plain,
                    dst,
                    to=devices,
                    passphrase=secret,
                    armor=armor,
                    weak_password_ok=True,  # checked above, with --personal
                    allow_classical=allow_classical,
                )
        elif out_format == "sealed":
            to: list[Any] = [Password(secret)] if secret is not None else []
            to.extend(devices)
            data = vault.deliver(
                doc_id, to=to, fresh_key=not share_key, allow_classical=allow_classical
            )
        else:
            assert secret is not None  # _check_usage: pdf and html need a password
            name = filename or doc_id.rsplit("/", 1)[-1]
            # the copy keeps the document's context (docs/delivery.md); sealdoc's own
            # pairs (a filename, a media type) are the copy's to set afresh
            stored = vault.inspect(doc_id).context
            context = {k: v for k, v in stored.items() if not k.startswith("sealdoc:")}
            data = _exported(
                vault.get(doc_id), out_format, password=secret, filename=name, context=context
            )
        if data is not None:
            with streams.open_output(target) as dst:
                dst.write(data)
    if output != "-":
        click.echo(f"delivered {doc_id} as {out_format} to {output}", err=True)


def _check_usage(
    out_format: str, *, password: SecretFlags, recipients: tuple[str, ...], share_key: bool
) -> None:
    """Flags that do not go together: a usage error (exit 2) before anything is read."""
    if out_format in ("pdf", "html") and recipients:
        raise click.UsageError(
            "--recipient is for --format sealed or age; pdf and html take a password"
        )
    if out_format != "sealed" and share_key:
        raise click.UsageError("--share-key is for --format sealed")
    if not password.given and not recipients:
        raise click.UsageError(
            "give --password-env VAR or --password-file FILE, or --recipient for --format sealed"
        )
    if out_format == "age" and password.given and recipients:
        raise click.UsageError("an age file takes --recipient or a password, not both (age's rule)")
    if out_format in ("pdf", "html") and not password.given:
        raise click.UsageError(f"--format {out_format} needs --password-env or --password-file")


def _exported(
    data: bytes, out_format: str, *, password: str, filename: str, context: dict[str, str]
) -> bytes:
    """A password copy for a customer without sealdoc: a PDF, or a self-decrypting page."""
    if out_format == "pdf":
        return export_pdf(data, password=password)  # a PDF has no place for a context
    return export_html(data, password=password, filename=filename, context=context)


__all__ = ["deliver_cmd"]
