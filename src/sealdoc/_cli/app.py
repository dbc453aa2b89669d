"""The root ``sealdoc`` group, its global options, and where its commands are.

The commands are imported only when one runs (``lazy``): ``COMMANDS`` names
each one's module and its one-line summary for ``sealdoc --help``. Add a
command in the module of its group, or in a new module named here.
"""

from __future__ import annotations

from pathlib import Path

import click

from .config import add_config_everywhere, config_param
from .lazy import Lazy, LazyGroup
from .state import KEYRING_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, State

# Each summary is the first sentence of the command's docstring
# (tests/test_startup.py holds them equal).
COMMANDS = {
    "keys": Lazy(".keys:keys", "Manage the local keyring."),
    "seal": Lazy(".files:seal_cmd", "Seal IN ('-': stdin) under a fresh document key."),
    "open": Lazy(".files:open_cmd", "Open a sealed IN ('-': stdin)."),
    "inspect": Lazy(
        ".files:inspect_cmd",
        "Show a sealed document's header (.sdoc, a delivered .html page, or an age file).",
    ),
    "rewrap": Lazy(
        ".store:rewrap_cmd",
        "Bring wrapped keys to the current key versions: a whole store, or one file with -o.",
    ),
    "rotate": Lazy(
        ".store:rotate_cmd",
        "Re-encrypt under fresh document keys: a whole store, or one file with -o.",
    ),
    "inventory": Lazy(
        ".store:inventory_cmd",
        "Count documents per wrapped key version, from headers alone (no key is used).",
    ),
    "vault": Lazy(".vault:vault", "Documents in a store by doc id: put, get, ls, rm, inspect."),
    "deliver": Lazy(
        ".deliver:deliver_cmd",
        "A transit copy of DOC_ID from the vault at STORE_URL, for the customer only.",
    ),
    "identity": Lazy(
        ".identity:identity",
        "Device keys (X25519, or hybrid post-quantum) that receive delivered documents.",
    ),
    "serve": Lazy(
        ".serve:serve_cmd",
        "Serve the documents of the vault at STORE_URL at http://HOST:PORT/DOC_ID.",
    ),
    "customers": Lazy(
        ".customers:customers", "Per-customer keys in a key store: add, rotate, hold, erase."
    ),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    on_load=add_config_everywhere,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
