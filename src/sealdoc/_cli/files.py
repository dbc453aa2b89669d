"""``sealdoc seal | open | inspect``, and rewrap/rotate of one file: single documents.

IN and OUT are paths, ``-`` (stdin/stdout) or fsspec URLs (``s3://bucket/x.sdoc``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from inspect import signature as inspect_signature
from typing import Any, BinaryIO

import attrs
import click

from .. import _format as fmt
from .._envelope import inspect, open_stream, seal_stream
from .._format import Header
from .._rekey import rewrap_stream, rotate_stream
from ..providers import KdfBudget, Password
from ..providers._password import describe as describe_password
from . import agefiles, streams
from .credentials import SecretFlags, secret_options
from .errors import errors
from .options import (
    F,
    apply_options,
    binding_option,
    context_option,
    dumps,
    force_option,
    json_option,
    key_option,
    packed,
    pairs,
    storage_option,
    storage_options,
)
from .state import State
from .text import shown

pass_state = click.make_pass_decorator(State)
OUTPUT_OPTION = click.option(
    "-o", "--output", required=True, metavar="OUT", help="Where to write ('-': stdout)."
)


@attrs.frozen
class DocumentFlags:
    """What seal and open both take: OUT, the key URIs, the context and binding pairs."""

    output: str
    key_uris: tuple[str, ...]
    context: dict[str, str]
    binding: dict[str, str]


def _document_flags(
    output: str,
    key_uris: tuple[str, ...],
    context_pairs: tuple[str, ...],
    binding_pairs: tuple[str, ...],
) -> DocumentFlags:
    context = pairs(context_pairs, "--context")
    return DocumentFlags(output, key_uris, context, pairs(binding_pairs, "--binding"))


def document_options(*, context_help: str, key_help: str | None = None) -> Callable[[F], F]:
    """-o, --key, --context and --binding, handed to the command as ``doc=DocumentFlags``."""
    fields = ("output", "key_uris", "context_pairs", "binding_pairs")

    def decorate(command: F) -> F:
        return apply_options(
            packed("doc", _document_flags, *fields)(command),
            [
                OUTPUT_OPTION,
                key_option() if key_help is None else key_option(key_help),
                context_option(context_help),
                binding_option,
            ],
        )

    return decorate


@click.command("seal")
@click.argument("source", metavar="IN")
@document_options(
    key_help="Key URI to seal for (repeatable); default: the local keyring.",
    context_help="Encryption context (stored in the clear, authenticated). Repeatable.",
)
@click.option("--segment-size", type=int, default=fmt.DEFAULT_SEGMENT_SIZE, show_default=True)
@storage_option
@force_option
@pass_state
def seal_cmd(
    state: State,
    *,
    source: str,
    doc: DocumentFlags,
    segment_size: int,
    storage_options: tuple[str, ...],
    force: bool,
) -> None:
    """Seal IN ('-': stdin) under a fresh document key.

    \b
    Examples:
      sealdoc seal claim.pdf -o claim.pdf.sdoc --context tenant=acme --context type=claim
      sealdoc seal claim.pdf -o s3://bank-docs/claim.pdf.sdoc --key 'aws-kms://alias/docs'
    """
    options = _storage(storage_options)
    with errors():
        target = streams.check_output(doc.output, force=force, storage_options=options)
        keys = state.keys(doc.key_uris)
        with streams.open_input(source, options) as src, streams.open_output(target) as dst:
            seal_stream(
                src,
                dst,
                keys=keys,
                context=doc.context,
                binding=doc.binding,
                segment_size=segment_size,
            )


def _storage(values: tuple[str, ...]) -> dict[str, Any]:
    return storage_options(values)


#: ``--kdf-budget``: what one open may spend on password KDFs (format.md 8.2).
KDF_BUDGETS = {"service": KdfBudget(), "device": KdfBudget.device()}


def _password_for(secret: str, header: Header | None, budget: KdfBudget) -> Password:
    """A Password opener that matches the document's KDF, so messages name the right one.

    An HTML copy is sealed with PBKDF2 (what a browser computes), a sealed
    copy with Argon2id; the KDF actually run comes from each wrap either way.
    """
    wraps = [w for w in header.wrapped_keys if w.kind == "password"] if header else []
    kdf = describe_password(wraps[0]) if wraps else {}
    if kdf.get("kdf") == "pbkdf2-sha256":
        try:
            return Password(
                secret, kdf="pbkdf2-sha256", iterations=int(kdf["iterations"]), budget=budget
            )
        except ValueError:  # over the limits: opening will refuse it and say so
            return Password(secret, kdf="pbkdf2-sha256", budget=budget)
    return Password(secret, budget=budget)


def recipient_keys(
    *,
    password: str | None,
    identities: tuple[str, ...],
    identity_passphrase: str | None,
    header: Header | None,
    kdf_budget: str = "service",
) -> list[Any]:
    """What a customer opens with: a password, device identities, or both."""
    found: list[Any] = []
    if password is not None:
        found.append(_password_for(password, header, KDF_BUDGETS[kdf_budget]))
    found.extend(agefiles.identities_of(identities, identity_passphrase))
    return found


def _header(src: BinaryIO, seekable: bool) -> Header | None:
    return inspect(src) if seekable else None  # inspect() seeks back to where it started


password_options = secret_options(
    "password",
    "--password",
    env_help="Environment variable holding the password (a delivered copy).",
    file_help="File holding the password (a delivered copy).",
)


@click.command("open")
@click.argument("source", metavar="IN")
@document_options(context_help="Pairs the document's context must hold. Repeatable.")
@password_options
@click.option(
    "--identity",
    "identities",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, exists=True),
    help="Open with this device identity file ('sealdoc identity new', or an age "
    "identity file). Repeatable.",
)
@secret_options(
    "identity_passphrase",
    "--identity-passphrase",
    env_help="Environment variable holding the identity files' passphrase, if they have one.",
    file_help="File holding the identity files' passphrase, if they have one.",
)
@click.option(
    "--stream",
    is_flag=True,
    help="UNSAFE with -o -: write to stdout while reading, before the end is "
    "authenticated. A tampered or cut document then leaves partial plaintext "
    "on stdout (and exit 1). Only for consumers that discard output on failure.",
)
@click.option(
    "--kdf-budget",
    type=click.Choice(sorted(KDF_BUDGETS)),
    default="service",
    show_default=True,
    help="Password KDF work one open may spend: 'service' refuses a document asking "
    "for more than about four default KDFs (uploads from anyone); 'device' allows "
    "every valid parameter (a customer opening their own copy).",
)
@storage_option
@force_option
@pass_state
def open_cmd(
    state: State,
    *,
    source: str,
    doc: DocumentFlags,
    password: SecretFlags,
    identities: tuple[str, ...],
    identity_passphrase: SecretFlags,
    kdf_budget: str,
    stream: bool,
    storage_options: tuple[str, ...],
    force: bool,
) -> None:
    """Open a sealed IN ('-': stdin). Nothing is written unless it all authenticates.

    OUT appears only once the whole document has authenticated. With -o -
    the document is authenticated to its end before the first byte goes to
    stdout (stdin is first copied, still sealed, to a private temporary
    file); --stream skips that, see its warning.

    With --password-env/--password-file or --identity, IN is a delivered copy
    (a sealed file or a self-decrypting .html page) and the keyring is not used.

    \b
    Examples:
      sealdoc open claim.pdf.sdoc -o claim.pdf --context tenant=acme
      sealdoc open s3://bank-docs/claim.pdf.sdoc -o - --key 'aws-kms://alias/docs' | less
      sealdoc open statement.html --password-file pw.txt -o statement.pdf
      sealdoc open statement.sdoc --identity ~/.config/sealdoc/device.key -o statement.pdf
      sealdoc open report.age --identity partner.key -o report.pdf

    An age file (binary or armored, from age or a partner) opens with
    --identity (an age identity file) or --password-env/--password-file
    (its scrypt passphrase).
    """
    options = _storage(storage_options)
    secret, passphrase = password.read(), identity_passphrase.read()
    to_stdout = doc.output == "-"
    spool = not (stream and to_stdout)
    with errors():
        target = streams.check_output(doc.output, force=force, storage_options=options)
        with streams.sealed_input(source, options, spool=spool) as (src, _html):
            if agefiles.is_age(src):
                if doc.context or doc.binding or doc.key_uris:
                    raise click.UsageError(
                        "an age file has no context or binding and opens with --identity "
                        "or a password, not --key"
                    )
                if not identities and secret is None:
                    raise click.UsageError(
                        "an age file opens with --identity FILE or --password-env/--password-file"
                    )
                with streams.open_output(target) as dst:
                    agefiles.open_age_file(
                        src,
                        dst,
                        identities=agefiles.identities_of(identities, passphrase),
                        passphrase=secret,
                        to_stdout=to_stdout,
                        stream=stream,
                    )
                return
            keys = recipient_keys(
                password=secret,
                identities=identities,
                identity_passphrase=passphrase,
                header=_header(src, spool),
                kdf_budget=kdf_budget,
            )
            keys.extend(state.key(u) for u in doc.key_uris)
            opener = keys or state.load()
            reader = open_stream(src, keys=opener, context=doc.context, binding=doc.binding)
            with streams.open_output(target) as dst:
                streams.copy_authenticated(reader, dst, to_stdout=to_stdout, stream=stream)


@click.command("inspect")
@click.argument("source", metavar="IN")
@json_option
@storage_option
def inspect_cmd(source: str, as_json: bool, storage_options: tuple[str, ...]) -> None:
    """Show a sealed document's header (.sdoc, a delivered .html page, or an age file). No key.

    \b
    Examples:
      sealdoc inspect claim.pdf.sdoc --json
      sealdoc inspect statement.html
      sealdoc inspect s3://bank-docs/claim.pdf.sdoc --storage-option anon=false
    """
    with errors(), streams.sealed_input(source, _storage(storage_options)) as (src, html):
        if agefiles.is_age(src):
            age = agefiles.age_info(src)
            if as_json:
                click.echo(dumps(age))
            else:
                agefiles.print_age_info(age)
            return
        header = inspect(src)
        # a seekable source whose body length fits no document: inspect() gives None
        sized = bool(getattr(src, "seekable", lambda: False)())
    info = header_info(header)
    if html:
        info["html_page"] = True
    if sized and header.plaintext_length is None:
        info["body_incomplete"] = True
    if as_json:
        click.echo(dumps(info))
        return
    print_header(info)


def header_info(header: Header) -> dict[str, Any]:
    """A header as plain data for ``--json`` (nothing in a header is secret)."""
    return {
        "format_version": header.version,
        "suite": header.suite.name,
        "segment_size": header.segment_size,
        "plaintext_length": header.plaintext_length,
        "header_length": header.header_length,
        "has_binding": header.has_binding,
        "context": dict(header.context),
        "wrapped_keys": [
            {"kind": w.kind, "key_id": w.key_id, "version": w.version}
            | ({"kdf": describe_password(w)} if w.kind == "password" else {})
            for w in header.wrapped_keys
        ],
    }


def print_header(info: Mapping[str, Any]) -> None:
    """The header for a person, every value from the document escaped."""
    for key in ("format_version", "suite", "segment_size", "plaintext_length", "has_binding"):
        if key == "plaintext_length" and info.get("body_incomplete"):
            click.echo(
                "plaintext_length: unknown: the body is incomplete (its length fits no whole "
                "document: cut short or extended); it will not open"
            )
            continue
        click.echo(f"{key}: {info[key]}")
    if info.get("html_page"):
        click.echo("html_page: True (a self-decrypting copy; open it with its password)")
    click.echo("context:")
    for k, v in info["context"].items():
        click.echo(f"  {shown(k)} = {shown(v)}")
    click.echo("wrapped keys:")
    for w in info["wrapped_keys"]:
        kdf = w.get("kdf")
        extra = f"  ({', '.join(f'{k}={v}' for k, v in kdf.items())})" if kdf else ""
        click.echo(f"  {shown(w['kind'])}:{shown(w['key_id'])}#{w['version']}{extra}")


def rekey_file(
    state: State,
    operation: str,
    *,
    source: str,
    output: str,
    key_uris: tuple[str, ...],
    to_uris: tuple[str, ...],
    binding: Mapping[str, str],
    drops: tuple[str, ...] = (),
    adds: tuple[str, ...] = (),
    allow_classical: bool = False,
    storage_options: Mapping[str, Any],
    force: bool,
) -> None:
    """File-mode ``rewrap``/``rotate``: one document from IN to OUT."""
    verb = rewrap_stream if operation == "rewrap" else rotate_stream
    extra: dict[str, Any] = {}
    accepted = inspect_signature(verb).parameters
    for flag, name, value in (
        ("--drop", "drop", list(drops)),
        ("--add", "add", list(adds)),
        ("--allow-classical", "allow_classical", allow_classical),
    ):
        if value:
            if name not in accepted:
                raise click.UsageError(f"{flag} is not available for {operation} in this version")
            extra[name] = value
    with errors():
        if "add" in extra:
            extra["add"] = [state.key(u) for u in adds]
        target = streams.check_output(output, force=force, storage_options=storage_options)
        keys = state.keys(key_uris)
        to = [state.key(u) for u in to_uris] or None
        with (
            streams.open_input(source, storage_options) as src,
            streams.open_output(target) as dst,
        ):
            verb(src, dst, keys=keys, to=to, binding=binding or None, **extra)


__all__ = [
    "header_info",
    "inspect_cmd",
    "open_cmd",
    "print_header",
    "recipient_keys",
    "rekey_file",
    "seal_cmd",
]
