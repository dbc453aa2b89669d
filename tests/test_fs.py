"""The sealdoc:: fsspec protocol on a local folder, memory and S3, and pandas through it."""

from __future__ import annotations

import os
from typing import NoReturn

import fsspec
import pandas as pd
import pytest

import sealdoc
import sealdoc._writer
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


# -- when a write is discarded, and when it commits (issue 13.4) ---------------------------


def fail(error: Exception) -> NoReturn:
    raise error


class Boom:
    """A cell whose text cannot be made: pandas fails part-way through a CSV."""

    def __str__(self) -> str:
        raise RuntimeError("export crashed")


def _frame(rows: int, *, fail_at: int | None = None) -> pd.DataFrame:
    cells: list[object] = [f"C-{n}" for n in range(rows)]
    if fail_at is not None:
        cells[fail_at] = Boom()
    return pd.DataFrame({"customer": cells, "balance": [float(n) for n in range(rows)]})


def _read(store: Store, ring: MemoryKeyring, name: str) -> bytes:
    with fsspec.open(store.chained(name), "rb", **store.chained_options(keys=ring)) as f:
        data: bytes = f.read()
    return data


def test_pandas_failing_mid_write_leaves_no_document(
    store: Store, ring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    url = store.chained("exports/half.csv")
    options = store.chained_options(keys=ring)
    with pytest.raises(RuntimeError, match="export crashed"):
        # small chunks: several segments are written before the bad row
        _frame(3000, fail_at=2500).to_csv(url, index=False, storage_options=options, chunksize=100)
    assert not store.fs().exists(f"{store.root}/exports/half.csv")
    [warning] = [r for r in caplog.records if r.name == "sealdoc"]
    assert warning.levelname == "WARNING"
    assert "exports/half.csv" in warning.getMessage()
    assert "RuntimeError" in warning.getMessage()
    assert "C-1" not in warning.getMessage()


def test_pandas_writing_inside_an_except_clause_commits(store: Store, ring: MemoryKeyring) -> None:
    url = store.chained("exports/errors.csv")
    options = store.chained_options(keys=ring)
    try:
        fail(KeyError("an unrelated failure, already handled"))
    except KeyError:
        _frame(50).to_csv(url, index=False, storage_options=options)
    back = pd.read_csv(url, storage_options=options)
    pd.testing.assert_frame_equal(back, _frame(50))


def test_close_inside_an_except_clause_commits(store: Store, ring: MemoryKeyring) -> None:
    fs = fsspec.filesystem("sealdoc", keys=ring, fs=store.fs())
    f = fs.open(f"{store.root}/report.bin", "wb")
    f.write(b"the report")
    try:
        fail(ValueError("a retry that failed, and is reported"))
    except ValueError:
        f.close()
    assert _read(store, ring, "report.bin") == b"the report"


def test_a_with_block_inside_an_except_clause_commits(store: Store, ring: MemoryKeyring) -> None:
    options = store.chained_options(keys=ring)
    for mode, data in (("wb", b"binary"), ("w", "text")):
        try:
            fail(OSError("the first store was down"))
        except OSError:
            with fsspec.open(store.chained(f"fallback-{mode}"), mode, **options) as f:
                f.write(data)
        assert _read(store, ring, f"fallback-{mode}") == (b"binary" if mode == "wb" else b"text")


def test_a_text_with_block_that_raises_commits_nothing(store: Store, ring: MemoryKeyring) -> None:
    options = store.chained_options(keys=ring, segment_size=64)

    def write_then_fail() -> None:
        with fsspec.open(store.chained("t.txt"), "w", **options) as f:
            f.write("x" * 1000)
            fail(LookupError())

    with pytest.raises(LookupError):
        write_then_fail()
    assert not store.fs().exists(f"{store.root}/t.txt")


def test_a_writer_made_while_another_block_fails_commits(store: Store, ring: MemoryKeyring) -> None:
    """An error handler that writes a report from inside a failing block's __exit__."""
    options = store.chained_options(keys=ring)

    class Incident:
        def __enter__(self) -> Incident:
            return self

        def __exit__(self, *exc: object) -> None:
            with fsspec.open(store.chained("incident.txt"), "wb", **options) as f:
                f.write(b"what failed")

    with pytest.raises(ZeroDivisionError), Incident():
        1 / 0  # noqa: B018
    assert _read(store, ring, "incident.txt") == b"what failed"


def test_a_with_block_on_the_writer_discards_and_says_so(
    tmp_path: object, ring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    fs = fsspec.filesystem("sealdoc", keys=ring, target_protocol="file")
    target = f"{tmp_path}/direct.bin"

    def write_then_fail() -> None:
        with fs.open(target, "wb") as f:
            f.write(b"half")
            fail(KeyError())

    with pytest.raises(KeyError):
        write_then_fail()
    assert not os.path.exists(target)
    assert "raised KeyError" in caplog.text
    f = fs.open(target, "wb")
    f.write(b"never closed")
    caplog.clear()
    f.discard()  # asked for: nothing committed, nothing to warn about
    assert not os.path.exists(target)
    assert caplog.text == ""


def test_where_the_stack_cannot_be_read_an_exception_means_discard(
    tmp_path: object,
    ring: MemoryKeyring,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a Python without WITH_EXCEPT_START the writer cannot tell: never half a document."""
    monkeypatch.setattr(sealdoc._writer, "_WITH_EXCEPT_START", None)
    fs = fsspec.filesystem("sealdoc", keys=ring, target_protocol="file")
    target = f"{tmp_path}/unsure.bin"
    f = fs.open(target, "wb")
    f.write(b"maybe half")
    try:
        fail(ValueError("handled"))
    except ValueError:
        f.close()
    assert not os.path.exists(target)
    assert "unsure.bin" in caplog.text
    assert "ValueError was being handled" in caplog.text
    with fs.open(target, "wb") as f:  # no exception: it commits as always
        f.write(b"whole")
    with open(target, "rb") as sealed:
        assert sealdoc.open(sealed.read(), keys=ring) == b"whole"
