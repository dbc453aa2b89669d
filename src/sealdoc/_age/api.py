"""``export_age`` and ``open_age``: sealdoc's public doors to age files."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO, cast, overload

from .._passwords import check_password
from .._types import BytesLike, WritableStream
from . import files, stanzas


@overload
def export_age(
    data: BytesLike,
    dst: None = None,
    *,
    to: Sequence[Any] = (),
    passphrase: str | None = None,
    armor: bool = False,
    work_factor: int = stanzas.DEFAULT_WORK_FACTOR,
    weak_password_ok: bool = False,
    personal: Iterable[str] = (),
    allow_classical: bool = False,
) -> bytes: ...
@overload
def export_age(
    data: BytesLike | BinaryIO | Any,
    dst: WritableStream,
    *,
    to: Sequence[Any] = (),
    passphrase: str | None = None,
    armor: bool = False,
    work_factor: int = stanzas.DEFAULT_WORK_FACTOR,
    weak_password_ok: bool = False,
    personal: Iterable[str] = (),
    allow_classical: bool = False,
) -> int: ...
def export_age(
    data: BytesLike | BinaryIO | Any,
    dst: WritableStream | None = None,
    *,
    to: Sequence[Any] = (),
    passphrase: str | None = None,
    armor: bool = False,
    work_factor: int = stanzas.DEFAULT_WORK_FACTOR,
    weak_password_ok: bool = False,
    personal: Iterable[str] = (),
    allow_classical: bool = False,
) -> bytes | int:
    """A standard age v1 file of ``data`` (bytes, or a readable stream) that ``age -d`` opens.

    ``to``: device recipients (``age1...``, ``age1pq1...``, ``x25519:...``,
    or X25519Recipient/HybridRecipient objects); or ``passphrase``, alone
    (age's rule), through scrypt at ``work_factor`` (log2 N, 1 to 20; age's
    default 18), checked for strength first as :func:`deliver` does
    (``weak_password_ok=True`` skips it). A hybrid recipient is not mixed
    with an X25519 one unless ``allow_classical=True``. ``armor=True``
    writes the ASCII armor. With ``dst`` the file is streamed there in
    constant memory and the plaintext length returned; without, the bytes.
    """
    if passphrase is not None:
        stanzas.check_work_factor(work_factor)
        if not weak_password_ok:
            check_password(passphrase, personal=personal)
    src: BinaryIO = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    out = io.BytesIO()
    count = files.export(
        src,
        out if dst is None else cast(BinaryIO, dst),  # files writes only
        to=to,
        passphrase=passphrase,
        work_factor=work_factor,
        armor=armor,
        allow_classical=allow_classical,
    )
    return out.getvalue() if dst is None else count


@overload
def open_age(
    data: BytesLike,
    dst: None = None,
    *,
    keys: Sequence[Any] = (),
    passphrase: str | None = None,
    max_work_factor: int = stanzas.MAX_WORK_FACTOR,
) -> bytes: ...
@overload
def open_age(
    data: BytesLike | BinaryIO | Any,
    dst: WritableStream,
    *,
    keys: Sequence[Any] = (),
    passphrase: str | None = None,
    max_work_factor: int = stanzas.MAX_WORK_FACTOR,
) -> int: ...
def open_age(
    data: BytesLike | BinaryIO | Any,
    dst: WritableStream | None = None,
    *,
    keys: Sequence[Any] = (),
    passphrase: str | None = None,
    max_work_factor: int = stanzas.MAX_WORK_FACTOR,
) -> bytes | int:
    """The plaintext of an age file (binary or armored), with device identities or a passphrase.

    ``keys``: X25519Identity and HybridIdentity objects (age identity files
    load with :meth:`~sealdoc.providers.HybridIdentity.load` or
    :meth:`~sealdoc.providers.X25519Identity.load`). A malformed or hostile
    header (too many stanzas, long lines, an scrypt work factor over
    ``max_work_factor``, scrypt mixed with other stanzas) raises FormatError
    before any key work; a wrong key or an altered file DecryptionError.
    With ``dst``, each 64 KiB chunk is written once authenticated (on
    failure, discard what was written); without, the whole plaintext.
    """
    src: BinaryIO = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    out = io.BytesIO()
    count = files.open(
        src,
        out if dst is None else cast(BinaryIO, dst),  # files writes only
        identities=keys,
        passphrase=passphrase,
        max_work_factor=max_work_factor,
    )
    return out.getvalue() if dst is None else count
