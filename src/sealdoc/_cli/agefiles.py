"""age files in ``sealdoc open`` and ``inspect``: what a bank receives from a partner."""

from __future__ import annotations

from typing import Any, BinaryIO

import click

from .._age import files as age_files
from .._age.header import Header as AgeHeader
from ..providers._devices import load_identities
from . import streams
from .text import shown


def is_age(src: BinaryIO) -> bool:
    return age_files.is_age(streams.sniff(src))


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def open_age_file(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    identities: list[Any],
    passphrase: str | None,
    to_stdout: bool,
    stream: bool,
) -> None:
    """Decrypt an age file; to stdout only once all of it authenticated (unless ``stream``).

    A file output is hidden until complete (streams.open_output), so it is
    written chunk by chunk; stdout gets a first pass into nowhere, then a
    second from the start of the (spooled, seekable) source.
    """
    if to_stdout and not stream:
        start = src.tell()
        age_files.open(src, _Discard(), identities=identities, passphrase=passphrase)  # type: ignore[arg-type]
        src.seek(start)
    age_files.open(src, dst, identities=identities, passphrase=passphrase)


def identities_of(paths: tuple[str, ...], passphrase: str | None) -> list[Any]:
    return [i for path in paths for i in load_identities(path, passphrase=passphrase)]


def age_info(src: BinaryIO) -> dict[str, Any]:
    """An age header as plain data for ``inspect`` (a header holds nothing secret)."""
    armored = streams.sniff(src).lstrip().startswith(b"-----BEGIN")
    header: AgeHeader = age_files.read_header(src)[0]
    info: dict[str, Any] = {
        "format": "age-encryption.org/v1",
        "armored": armored,
        "recipients": [stanza.args[0] for stanza in header.stanzas],
    }
    scrypt = [s for s in header.stanzas if s.args[0] == "scrypt" and len(s.args) == 3]
    if scrypt:
        info["scrypt_work_factor"] = scrypt[0].args[2]
    return info


def print_age_info(info: dict[str, Any]) -> None:
    click.echo(f"format: {info['format']}" + (" (armored)" if info["armored"] else ""))
    click.echo("recipient stanzas:")
    for kind in info["recipients"]:
        click.echo(f"  {shown(kind)}")
    if "scrypt_work_factor" in info:
        click.echo(f"scrypt work factor: 2^{shown(info['scrypt_work_factor'])}")
