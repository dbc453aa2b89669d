"""The root ``sealdoc`` group and its global options."""

from __future__ import annotations

from pathlib import Path

import click

from .config import config_param
from .state import KEYRING_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, State


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--keyring",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=KEYRING_ENV,
    show_default="$SEALDOC_KEYRING, else ~/.config/sealdoc/keyring.json",
    help="The local keyring file.",
)
@click.option(
    "--passphrase-env",
    metavar="VAR",
    show_default=PASSPHRASE_ENV,
    help="Environment variable holding the keyring passphrase.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=PASSPHRASE_FILE_ENV,
    metavar="FILE",
    help="File holding the keyring passphrase (wins over --passphrase-env; "
    "else $SEALDOC_PASSPHRASE_FILE; else a prompt on a terminal).",
)
@click.version_option(package_name="sealdoc")
@click.pass_context
def cli(
    ctx: click.Context,
    keyring: Path | None,
    passphrase_env: str | None,
    passphrase_file: Path | None,
) -> None:
    """Seal and open documents, each under its own key; rotate keys over whole stores.

    Scripts take the passphrase from a file (--passphrase-file, or
    SEALDOC_PASSPHRASE_FILE), never from the command line.
    Exit codes: 0 done, 1 failed (some documents, or a missing secret),
    2 usage error, 3 refused (see docs/cli.md), 130/143 interrupted.

    \b
    Example:
      export SEALDOC_KEYRING=ring.json
      sealdoc keys init                    # asks for a passphrase on a terminal
      sealdoc seal statement.pdf -o statement.pdf.sdoc --context tenant=acme
      sealdoc inspect statement.pdf.sdoc
      sealdoc open statement.pdf.sdoc -o statement.pdf
    """
    ctx.obj = State(
        ctx, keyring=keyring, passphrase_env=passphrase_env, passphrase_file=passphrase_file
    )


cli.params.insert(0, config_param(envvar="SEALDOC_CONFIG"))

__all__ = ["cli"]
