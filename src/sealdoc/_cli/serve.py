"""``sealdoc serve``: a store's documents over HTTP with uvicorn, for operators and trials."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from .errors import CliError, errors
from .options import key_option, store_options
from .state import State
from .stores import StoreFlags, store_flags

pass_state = click.make_pass_decorator(State)


def load_callable(spec: str, what: str) -> Any:
    """``module:function`` (a dotted attribute path after the colon) as the callable it names."""
    module_name, sep, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:  # as uvicorn's --app-dir: the operator's module is here
        sys.path.insert(0, os.getcwd())
    if not sep or not module_name or not attribute:
        raise click.BadParameter(f"{spec!r} is not MODULE:FUNCTION", param_hint=what)
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise click.BadParameter(f"cannot load {spec!r}: {exc}", param_hint=what) from None
    if not callable(target):
        raise click.BadParameter(f"{spec!r} is not callable", param_hint=what)
    return target


@click.command("serve")
@click.argument("store_url")
@click.option(
    "--authorizer",
    required=True,
    metavar="MODULE:FUNCTION",
    help="authorize(request, doc_id, header): a Grant (or True) to serve, falsy to refuse.",
)
@click.option(
    "--email-password",
    metavar="MODULE:FUNCTION",
    help="email_password(request, doc_id, grant): the password of an email copy.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; put a TLS proxy in front before you bind anything public.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--threads",
    default=16,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Worker threads for the store's blocking reads.",
)
@key_option("Key URI to open documents with (repeatable); default: the local keyring.")
@store_options
@pass_state
@store_flags
def serve_cmd(
    state: State,
    *,
    store: StoreFlags,
    authorizer: str,
    email_password: str | None,
    host: str,
    port: int,
    threads: int,
    key_uris: tuple[str, ...],
) -> None:
    """Serve the documents of the vault at STORE_URL at http://HOST:PORT/DOC_ID.

    Every request goes through the --authorizer callable (there is no open
    mode); it binds to 127.0.0.1 unless told otherwise. See docs/serving.md
    for TLS and for mounting the app in your own service.

    \b
    Example:
      sealdoc serve ./vault --authorizer portal.auth:authorize --port 8443
    """
    authorize = load_callable(authorizer, "--authorizer")
    password = load_callable(email_password, "--email-password") if email_password else None
    try:
        import uvicorn  # noqa: PLC0415 - the serve extra, loaded by this command only

        from ..serve import DocumentApp  # noqa: PLC0415
    except ImportError as exc:
        raise CliError(
            f"sealdoc serve needs the serve extra: pip install 'sealdoc[serve]' ({exc})"
        ) from None
    with errors():
        vault = store.open(state.keys(key_uris))
        app = DocumentApp(vault, authorize=authorize, email_password=password, threads=threads)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


__all__ = ["load_callable", "serve_cmd"]
