"""Console-script entry point: says which extra to install when click is missing."""

from __future__ import annotations

import sys


def main() -> None:
    from _sealdoc_start import quiet_interrupts  # noqa: PLC0415 - python -m sealdoc comes here first

    quiet_interrupts()
    try:
        import click  # noqa: F401, PLC0415 - probing for the optional extra
    except ImportError:
        sys.stderr.write("The sealdoc command needs the 'cli' extra: pip install 'sealdoc[cli]'\n")
        raise SystemExit(2) from None
    from ._cli import cli  # noqa: PLC0415 - only once click is known to be there

    cli()
