"""ETL tools reading and writing sealed files through ``sealdoc::``, as users run them.

pandas (CSV, Parquet), pyarrow (Parquet, one column by ranged reads), polars
and dask.dataframe (CSV, Parquet) on a real LocalCluster of worker
processes, each on a local folder and on S3 (moto's server over HTTP). The
keys are given both as provider objects and as key URIs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pytest

from sealdoc import LocalKeyring, MemoryKeyring
from sealdoc._format import MAGIC

from .stores import Store, new_bucket, s3_options

PASS = "etl pass phrase"


@pytest.fixture(params=["file", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store every worker process reaches (memory:// is per process)."""
    if request.param == "file":
        return Store("file", f"file://{tmp_path}/lake", {})
    endpoint = request.getfixturevalue("moto_endpoint")
    return Store("s3", f"s3://{new_bucket(endpoint)}/lake", s3_options(endpoint))


@pytest.fixture(scope="module")
def passphrase() -> Iterator[str]:
    # Workers inherit the environment they start with: a keyring's passphrase
    # reaches them that way, never through the task graph.
    previous = os.environ.get("SEALDOC_PASSPHRASE")
    os.environ["SEALDOC_PASSPHRASE"] = PASS
    yield PASS
    if previous is None:
        os.environ.pop("SEALDOC_PASSPHRASE", None)
    else:
        os.environ["SEALDOC_PASSPHRASE"] = previous


@pytest.fixture
def ring(tmp_path: Path, passphrase: str) -> LocalKeyring:
    return LocalKeyring.create(
        tmp_path / "ring.json", passphrase=passphrase, opslimit=1, memlimit=8 << 20
    )


@pytest.fixture(scope="module")
def client(passphrase: str) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def frame(rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "customer": [f"C-{i:05}" for i in range(rows)],
            "balance": rng.normal(1000, 300, rows).round(2),
            "branch": rng.integers(1, 40, rows),
        }
    )


def assert_sealed(store: Store, path: str, *plaintexts: bytes) -> None:
    raw = store.fs().cat_file(f"{store.root}/{path}")
    assert raw.startswith(MAGIC)
    for text in plaintexts:
        assert text not in raw


# -- pandas -------------------------------------------------------------------------


def test_pandas_csv(where: Store, ring: LocalKeyring) -> None:
    df = frame()
    url, options = where.chained("pandas/balances.csv"), where.chained_options(keys=ring)
    df.to_csv(url, index=False, storage_options=options)
    assert_sealed(where, "pandas/balances.csv", b"C-00042")
    pd.testing.assert_frame_equal(pd.read_csv(url, storage_options=options), df)


def test_pandas_parquet(where: Store, ring: LocalKeyring) -> None:
    df = frame()
    url = where.chained("pandas/balances.parquet")
    df.to_parquet(url, storage_options=where.chained_options(keys=ring))
    assert_sealed(where, "pandas/balances.parquet", b"C-00042", b"PAR1")
    uri = f"local://{ring.path}"
    back = pd.read_parquet(url, storage_options=where.chained_options(keys=uri))
    pd.testing.assert_frame_equal(back, df)


# -- pyarrow: one column of a large file, by ranged reads ---------------------------


class CountingFile:
    """A file of the target store that counts the bytes read through it."""

    def __init__(self, inner: Any, counter: list[int]) -> None:
        self._inner, self._counter = inner, counter

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._inner.read(size)
        self._counter[0] += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n: int = self._inner.readinto(buffer)
        self._counter[0] += n
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingFileSystem:
    """The target store with every opened file counted (no read-ahead, no cache)."""

    def __init__(self, inner: Any) -> None:
        self._inner, self.fetched = inner, [0]

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        f = self._inner.open(path, mode, **kwargs)
        return CountingFile(f, self.fetched) if mode == "rb" else f

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_pyarrow_reads_one_column_with_ranged_reads(where: Store, ring: LocalKeyring) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    rows = 200_000  # four incompressible float columns, about 6 MiB sealed
    table = pa.table({name: rng.random(rows) for name in ("a", "b", "c", "d")})
    url, options = where.chained("arrow/wide.parquet"), where.chained_options(keys=ring)
    with fsspec.open(url, "wb", **options) as f:
        pq.write_table(table, f, compression="none")
    size = where.fs().size(f"{where.root}/arrow/wide.parquet")
    counting = CountingFileSystem(where.fs())
    sealed_fs = fsspec.filesystem("sealdoc", keys=ring, fs=counting)
    with sealed_fs.open(f"{where.root}/arrow/wide.parquet", "rb") as f:
        column = pq.ParquetFile(f).read(columns=["c"])
    assert column.column("c").equals(table.column("c"))
    # one column of four, plus the footer: the other three are never fetched
    assert 0 < counting.fetched[0] < 0.4 * size, (counting.fetched[0], size)


# -- polars -------------------------------------------------------------------------


def test_polars_csv_and_parquet(where: Store, ring: LocalKeyring) -> None:
    import polars as pl

    df = pl.from_pandas(frame())
    options = where.chained_options(keys=ring)
    for name, write, read in (
        ("polars/b.parquet", pl.DataFrame.write_parquet, pl.read_parquet),
        ("polars/b.csv", pl.DataFrame.write_csv, pl.read_csv),
    ):
        with fsspec.open(where.chained(name), "wb", **options) as f:
            write(df, f)
        assert_sealed(where, name, b"C-00042")
        with fsspec.open(where.chained(name), "rb", **options) as f:
            back = read(f)
        assert back.equals(df), name


# -- dask.dataframe on a LocalCluster -----------------------------------------------


@pytest.mark.parametrize("keys_as", ["provider", "uri"])
def test_dask_csv_on_a_cluster(client: Any, where: Store, ring: LocalKeyring, keys_as: str) -> None:
    import dask.dataframe as dd

    keys: Any = ring if keys_as == "provider" else f"local://{ring.path}"
    options = where.chained_options(keys=keys)
    df = frame(900)
    dd.from_pandas(df, npartitions=3).to_csv(
        where.chained("dask/csv/part-*.csv"), index=False, storage_options=options
    )
    for i in range(3):
        assert_sealed(where, f"dask/csv/part-{i}.csv", b"C-00")
    back = dd.read_csv(where.chained("dask/csv/part-*.csv"), storage_options=options)
    result = back.compute().sort_values("customer").reset_index(drop=True)
    pd.testing.assert_frame_equal(result, df, check_dtype=False)


@pytest.mark.parametrize("keys_as", ["provider", "uri"])
def test_dask_parquet_on_a_cluster(
    client: Any, where: Store, ring: LocalKeyring, keys_as: str
) -> None:
    import dask.dataframe as dd

    keys: Any = ring if keys_as == "provider" else f"local://{ring.path}"
    options = where.chained_options(keys=keys)
    df = frame(900)
    dd.from_pandas(df, npartitions=3).to_parquet(
        where.chained("dask/pq"), storage_options=options, write_index=False
    )
    listed = sorted(
        p.rsplit("/", 1)[-1] for p in where.fs().ls(f"{where.root}/dask/pq", detail=False)
    )
    assert [p for p in listed if p.endswith(".parquet")] == [f"part.{i}.parquet" for i in range(3)]
    assert_sealed(where, "dask/pq/part.0.parquet", b"C-00", b"PAR1")
    back = dd.read_parquet(where.chained("dask/pq"), storage_options=options)
    result = back.compute().sort_values("customer").reset_index(drop=True)
    pd.testing.assert_frame_equal(result, df, check_dtype=False)


def test_a_memory_keyring_cannot_cross_to_worker_processes(client: Any, where: Store) -> None:
    """It lives in one process: the failure says so rather than opening nothing."""
    import dask.dataframe as dd

    options = where.chained_options(keys=MemoryKeyring())
    with pytest.raises(Exception) as caught:  # noqa: PT011 - distributed wraps the cause
        dd.from_pandas(frame(10), npartitions=1).to_csv(
            where.chained("dask/mem/part-*.csv"), storage_options=options
        )
    chain, exc = [], caught.value
    while exc is not None:
        chain.append(str(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    assert any("MemoryKeyring lives in one process" in m for m in chain), chain
    assert not where.fs().exists(f"{where.root}/dask/mem/part-0.csv")
