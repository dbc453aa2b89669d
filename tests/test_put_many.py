"""Vault.put_many and put_folder: many documents at once, resumable, with a report."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import sealdoc

RING = sealdoc.MemoryKeyring()
CONTEXT = {"tenant": "acme", "doc_type": "statement"}


def _folder(root: Path, count: int = 6) -> dict[str, bytes]:
    files = {f"C-{i:03d}/2026-11.pdf": os.urandom(100 + i) for i in range(count)}
    files["C-000/notes/empty.txt"] = b""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _stamps(vault_root: Path) -> dict[str, tuple[int, int]]:
    """Inode and mtime of every stored object: a write changes one of them."""
    return {
        str(p.relative_to(vault_root)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in vault_root.rglob("*.sdoc")
    }


def test_every_file_is_stored_under_its_relative_path(tmp_path: Path) -> None:
    files = _folder(tmp_path / "in")
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=RING)
    seen: list[tuple[int, int]] = []
    report = vault.put_folder(
        tmp_path / "in", context=CONTEXT, workers=3, progress=lambda d, t: seen.append((d, t))
    )
    assert (report.operation, report.scanned, report.rewritten) == ("put", len(files), len(files))
    assert (report.skipped, report.failed, report.interrupted) == (0, (), False)
    assert sorted(vault.list()) == sorted(files)
    for doc_id, data in files.items():
        assert vault.get(doc_id, context=CONTEXT) == data
        assert vault.inspect(doc_id).context == CONTEXT
    assert seen[-1] == (len(files), len(files))


def test_a_rerun_skips_what_is_stored_unchanged_and_writes_nothing(tmp_path: Path) -> None:
    files = _folder(tmp_path / "in")
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=RING)
    vault.put_folder(tmp_path / "in", context=CONTEXT)
    before = _stamps(tmp_path / "vault")
    again = vault.put_folder(tmp_path / "in", context=CONTEXT)
    assert (again.scanned, again.rewritten, again.skipped) == (len(files), 0, len(files))
    assert _stamps(tmp_path / "vault") == before


def test_changed_content_or_context_is_replaced_only_when_asked(tmp_path: Path) -> None:
    files = _folder(tmp_path / "in")
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=RING)
    vault.put_folder(tmp_path / "in", context=CONTEXT)
    changed = "C-001/2026-11.pdf"
    (tmp_path / "in" / changed).write_bytes(b"a corrected statement")
    refused = vault.put_folder(tmp_path / "in", context=CONTEXT)
    assert [f.doc_id for f in refused.failed] == [changed]
    assert "other content" in refused.failed[0].error
    assert (refused.rewritten, refused.skipped) == (0, len(files) - 1)
    assert vault.get(changed) == files[changed]  # left as it was
    replaced = vault.put_folder(tmp_path / "in", context=CONTEXT, replace=True)
    assert (replaced.rewritten, replaced.skipped, replaced.failed) == (1, len(files) - 1, ())
    assert vault.get(changed) == b"a corrected statement"
    # the same bytes under another context are not "the same document"
    other = vault.put_folder(tmp_path / "in", context={"tenant": "globex"}, replace=True)
    assert other.rewritten == len(files)
    assert vault.inspect(changed).context == {"tenant": "globex"}


def test_a_document_these_keys_cannot_open_counts_as_different(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/vault"
    sealdoc.Vault(url, keys=sealdoc.MemoryKeyring()).put("a", b"same bytes")
    vault = sealdoc.Vault(url, keys=RING)
    report = vault.put_many({"a": b"same bytes"})
    assert [f.doc_id for f in report.failed] == ["a"]
    assert vault.put_many({"a": b"same bytes"}, replace=True).rewritten == 1
    assert vault.get("a") == b"same bytes"


def test_bad_doc_ids_and_missing_files_fail_alone(tmp_path: Path) -> None:
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=RING)
    report = vault.put_many(
        [("ok", b"fine"), ("bad\\id", b"x"), ("../up", b"x"), ("gone", tmp_path / "no-such")]
    )
    assert report.rewritten == 1
    failed = {f.doc_id: f.error for f in report.failed}
    assert set(failed) == {"bad\\id", "../up", "gone"}
    assert "backslash" in failed["bad\\id"]
    assert "No such file" in failed["gone"]
    assert list(vault.list()) == ["ok"]


def test_put_folder_refuses_a_file_for_a_folder_and_bad_workers(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=RING)
    with pytest.raises(NotADirectoryError):
        vault.put_folder(tmp_path / "f")
    with pytest.raises(ValueError, match="workers"):
        vault.put_many({"a": b"x"}, workers=0)


def test_stop_starts_no_new_document_and_says_it_was_interrupted(tmp_path: Path) -> None:
    _folder(tmp_path / "in", count=40)
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=RING)
    stop = threading.Event()

    def progress(done: int, _total: int) -> None:
        if done >= 2:
            stop.set()

    report = vault.put_folder(tmp_path / "in", workers=1, progress=progress, stop=stop)
    assert report.interrupted
    assert 2 <= report.rewritten < 41
    assert report.scanned == report.rewritten
    resumed = vault.put_folder(tmp_path / "in")
    assert (resumed.skipped, resumed.rewritten) == (report.rewritten, 41 - report.rewritten)


def test_put_many_takes_bytes_and_paths_with_a_prefix(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.txt").write_bytes(b"from a file")
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=RING)
    vault.put_folder(tmp_path / "in", prefix="batch-7/")
    vault.put_many({"mem": bytearray(b"from memory")})
    assert vault.get("batch-7/x.txt") == b"from a file"
    assert vault.get("mem") == b"from memory"


def test_a_vault_with_opaque_names_resumes_too(tmp_path: Path) -> None:
    files = _folder(tmp_path / "in", count=3)
    url = f"file://{tmp_path}/vault"
    vault = sealdoc.Vault(url, keys=RING, name_key=sealdoc.Vault.generate_name_key())
    assert vault.put_folder(tmp_path / "in").rewritten == len(files)
    names = {p.name for p in (tmp_path / "vault").rglob("*") if p.is_file()}
    assert not any("C-0" in name for name in names)  # no doc id in the store's names
    again = vault.put_folder(tmp_path / "in")
    assert (again.rewritten, again.skipped) == (0, len(files))
    assert sorted(vault.list()) == sorted(files)
