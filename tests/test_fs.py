"""The sealdoc:: fsspec protocol on a local folder, memory and S3, and pandas through it."""

from __future__ import annotations

import os

import fsspec
import pandas as pd
import pytest

import sealdoc
from sealdoc import DecryptionError, MemoryKeyring

from .stores import Store


def test_write_then_read_with_seeks(store: Store, ring: MemoryKeyring) -> None:
    data = os.urandom(700_000)
    url = store.chained("reports/q3.bin")
    options = store.chained_options(keys=ring, segment_size=4096)
    with fsspec.open(url, "wb", **options) as f:
        for i in range(0, len(data), 99_999):  # uneven writes
            f.write(data[i : i + 99_999])
    raw = store.fs().cat_file(f"{store.root}/reports/q3.bin")
    assert raw[:4] == b"SDOC"
    assert data[:1000] not in raw
    with fsspec.open(url, "rb", **options) as f:
        assert f.read(10) == data[:10]
        f.seek(500_000)
        assert f.read(3000) == data[500_000:503_000]
        f.seek(-7, os.SEEK_END)
        assert f.read() == data[-7:]
    assert sealdoc.open(raw, keys=ring) == data


def test_empty_and_exact_segment_files(store: Store, ring: MemoryKeyring) -> None:
    for size in (0, 4096, 8192):
        url = store.chained(f"f{size}")
        options = store.chained_options(keys=ring, segment_size=4096)
        with fsspec.open(url, "wb", **options) as f:
            f.write(b"z" * size)
        with fsspec.open(url, "rb", **options) as f:
            assert f.read() == b"z" * size


def test_context_is_written_and_checked(store: Store, ring: MemoryKeyring) -> None:
    url = store.chained("ctx.bin")
    with fsspec.open(
        url, "wb", **store.chained_options(keys=ring, context={"tenant": "acme"})
    ) as f:
        f.write(b"x")
    with fsspec.open(
        url, "rb", **store.chained_options(keys=ring, context={"tenant": "acme"})
    ) as f:
        assert f.read() == b"x"
    with (
        pytest.raises(DecryptionError),
        fsspec.open(
            url, "rb", **store.chained_options(keys=ring, context={"tenant": "globex"})
        ) as f,
    ):
        f.read()


def test_a_write_that_fails_commits_nothing(store: Store, ring: MemoryKeyring) -> None:
    url = store.chained("doc.bin")
    options = store.chained_options(keys=ring)
    with fsspec.open(url, "wb", **options) as f:
        f.write(b"version 1")

    def export_that_crashes() -> None:
        with fsspec.open(url, "wb", **options) as f:
            f.write(b"half of version 2")
            raise RuntimeError("export crashed")

    with pytest.raises(RuntimeError, match="export crashed"):
        export_that_crashes()
    with fsspec.open(url, "rb", **options) as f:
        assert f.read() == b"version 1"


def test_pandas_round_trip(store: Store, ring: MemoryKeyring) -> None:
    frame = pd.DataFrame({"customer": ["C-1", "C-2", "C-3"], "balance": [1204.17, -33.5, 0.0]})
    url = store.chained("exports/balances.csv")
    options = store.chained_options(keys=ring)
    frame.to_csv(url, index=False, storage_options=options)
    raw = store.fs().cat_file(f"{store.root}/exports/balances.csv")
    assert b"C-1" not in raw
    back = pd.read_csv(url, storage_options=options)
    pd.testing.assert_frame_equal(back, frame)


def test_no_instance_is_shared_between_keyrings(store: Store) -> None:
    first, second = MemoryKeyring(), MemoryKeyring()
    url = store.chained("k.bin")
    with fsspec.open(url, "wb", **store.chained_options(keys=first)) as f:
        f.write(b"x")
    with (
        pytest.raises(DecryptionError),
        fsspec.open(url, "rb", **store.chained_options(keys=second)) as f,
    ):
        f.read()


def test_the_protocol_is_registered_by_entry_point() -> None:
    cls = fsspec.get_filesystem_class("sealdoc")
    assert cls.__name__ == "SealdocFileSystem"
    assert cls.__module__ == "sealdoc._fs"


def test_unsupported_modes(tmp_path: object, ring: MemoryKeyring) -> None:
    fs = fsspec.filesystem("sealdoc", keys=ring, target_protocol="file")
    with pytest.raises(ValueError, match="'rb', 'wb' or 'xb'"):
        fs.open(f"{tmp_path}/a", "ab")
