"""The one local atomic writer: old file or new file, never a mix, never readable by others."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sealdoc._atomic import (
    TargetExistsError,
    atomic_file,
    create_new,
    temp_paths,
    write_atomic,
)
from sealdoc._bulk.checkpoint import Checkpoint
from sealdoc._store.local import LocalStore, is_partial


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_a_new_file_is_private_and_a_mode_can_be_asked_for(tmp_path: Path, umask: None) -> None:
    write_atomic(tmp_path / "secret", b"one")
    assert (tmp_path / "secret").read_bytes() == b"one"
    assert _mode(tmp_path / "secret") == 0o600
    write_atomic(tmp_path / "shared", b"two", mode=0o640)
    assert _mode(tmp_path / "shared") == 0o640
    assert _leftovers(tmp_path) == []


def test_a_write_that_raises_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "ring.json"
    target.write_bytes(b"the old keyring")

    def half_then_crash() -> None:
        with atomic_file(target) as fh:
            fh.write(b"half of the new")
            raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        half_then_crash()
    assert target.read_bytes() == b"the old keyring"
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"the old keyring"
    assert _leftovers(tmp_path) == []


def test_the_temp_file_is_hidden_beside_the_target_and_locked_while_written(
    tmp_path: Path,
) -> None:
    store = LocalStore(str(tmp_path))
    with atomic_file(tmp_path / "doc.sdoc") as fh:
        fh.write(b"body")
        (temp,) = _leftovers(tmp_path)
        assert is_partial(temp)  # never listed as a document
        assert _mode(tmp_path / temp) == 0o600
        # a cleaner that takes every partial older than tomorrow leaves a live one
        assert store.clean_partials("", time.time() + 86400) == 0
        assert [e.path for e in store.list()] == []
    assert (tmp_path / "doc.sdoc").read_bytes() == b"body"
    assert _leftovers(tmp_path) == []


def test_no_overwrite_refuses_a_target_that_appeared_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "out.pdf"

    def raced() -> None:
        with atomic_file(target, overwrite=False) as fh:
            fh.write(b"plaintext")
            target.write_bytes(b"someone else's")

    with pytest.raises(TargetExistsError):
        raced()
    assert target.read_bytes() == b"someone else's"
    assert _leftovers(tmp_path) == []
    fresh = tmp_path / "fresh.pdf"
    with atomic_file(fresh, overwrite=False) as fh:
        fh.write(b"mine")
    assert fresh.read_bytes() == b"mine"


def test_keep_mode_replaces_the_contents_not_who_may_read_them(tmp_path: Path, umask: None) -> None:
    target = tmp_path / "report.txt"
    target.write_bytes(b"old")
    target.chmod(0o644)
    with atomic_file(target, keep_mode=True) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o644
    with atomic_file(target) as fh:
        fh.write(b"newer")
    assert _mode(target) == 0o600


def test_create_new_never_follows_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    (tmp_path / "link").symlink_to(victim)
    with pytest.raises(FileExistsError):
        create_new(tmp_path / "link")
    assert not victim.exists()
    with create_new(tmp_path / "spool", read=True) as fh:
        fh.write(b"abc")
        fh.seek(0)
        assert fh.read() == b"abc"
    assert _mode(tmp_path / "spool") & 0o077 == 0


def test_a_checkpoint_removes_what_a_killed_write_of_it_left(tmp_path: Path) -> None:
    path = tmp_path / "job.checkpoint"
    left = tmp_path / f".job.checkpoint.{'0' * 16}.partial"  # a kill between open and rename
    left.write_bytes(b'{"sealdoc_checkpoint"')
    other = tmp_path / f".other.{'0' * 16}.partial"  # another file's: not this job's to remove
    other.write_bytes(b"")
    assert temp_paths(path) == [left]
    marks = Checkpoint(path, {"operation": "rewrap", "url": "memory://x", "prefix": ""})
    marks.close()
    assert not left.exists()
    assert other.exists()


def test_a_file_system_without_locks_still_gets_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def refused(*_: object) -> None:
        raise OSError(errno.ENOLCK, "No locks available")  # NFS without a lock daemon

    monkeypatch.setattr("sealdoc._atomic.fcntl.flock", refused)
    write_atomic(tmp_path / "out", b"data")
    assert (tmp_path / "out").read_bytes() == b"data"
    assert _leftovers(tmp_path) == []

    def broken(*_: object) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")  # anything else still fails

    monkeypatch.setattr("sealdoc._atomic.fcntl.flock", broken)
    with pytest.raises(OSError, match="Bad file descriptor"):
        write_atomic(tmp_path / "other", b"data")
    assert _leftovers(tmp_path) == []


def test_keep_mode_takes_no_mode_through_a_planted_symlink(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.write_bytes(b"")
    public.chmod(0o666)
    target = tmp_path / "out.pdf"
    target.symlink_to(public)
    with atomic_file(target, keep_mode=True) as fh:
        fh.write(b"plaintext")
    assert not target.is_symlink()
    assert _mode(target) == 0o600
    assert _mode(public) == 0o666  # and the file it pointed to is untouched
    assert public.read_bytes() == b""
    own = tmp_path / "mine"
    own.write_bytes(b"old")
    own.chmod(0o640)
    with atomic_file(own, keep_mode=True) as fh:
        fh.write(b"new")
    assert _mode(own) == 0o640  # a regular file of the user's own lends its mode
