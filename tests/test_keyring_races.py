"""A keyring file shared by processes: creates at once, killed saves, changes seen by others.

Every test here runs real processes: two creates racing for one path, a
save killed (SIGKILL) between writing its copy and renaming it, another
process destroying the version a long-running one seals under.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sealdoc
from sealdoc import KeyProviderError, KeyringError, KeyringExistsError, LocalKeyring
from sealdoc._atomic import temp_paths
from sealdoc.providers._local_format import sidecar_path

from .errors import fails_with

PASS = "correct horse battery staple"
FAST = {"opslimit": 1, "memlimit": 8 * 1024 * 1024}
SRC = str(Path(sealdoc.__file__).parent.parent)


def python(code: str, *args: str, timeout: float = 120) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


# -- 1. two creates at once ------------------------------------------------------------

_CREATE = """
import sys, time
from sealdoc import KeyringExistsError, LocalKeyring
path, go = sys.argv[1], float(sys.argv[2])
while time.time() < go:
    pass
try:
    # the default KDF cost: a window of a good 100 ms between the check and the publish
    ring = LocalKeyring.create(path, passphrase=sys.argv[3])
except KeyringExistsError as exc:
    print("exists", exc)
else:
    print("created", ring.ring_id)
"""


def test_two_processes_creating_one_keyring_one_wins_and_the_other_is_told(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ring.json"
    go = time.time() + 1.5  # every child is started and spinning by then
    procs = [python(_CREATE, str(path), str(go), PASS) for _ in range(3)]
    results = [finish(p) for p in procs]
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    outs = [out.split() for _, out, _ in results]
    winners = [words[1] for words in outs if words[0] == "created"]
    assert len(winners) == 1, outs
    assert sum(words[0] == "exists" for words in outs) == 2
    # the file is the winner's: what it seals opens from the file
    assert LocalKeyring.load(path, passphrase=PASS).ring_id == winners[0]
    assert temp_paths(path) == []


def test_create_never_replaces_a_file_even_one_that_appears_during_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ring.json"
    from sealdoc.providers import _local

    real = _local._new_file_key

    def slow_kdf(*args: object, **kwargs: object) -> object:
        path.write_bytes(b"another keyring")  # the other creator publishes meanwhile
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_local, "_new_file_key", slow_kdf)
    with fails_with(KeyringExistsError, "already exists"):
        LocalKeyring.create(path, passphrase=PASS, **FAST)
    assert path.read_bytes() == b"another keyring"
    assert not sidecar_path(path).exists()
    assert temp_paths(path) == []
    assert issubclass(KeyringExistsError, KeyringError)


# -- 2. purge(new_passphrase=...) ------------------------------------------------------


def test_purge_changes_the_passphrase_even_when_nothing_is_due(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase=PASS, **FAST)
    ring.rotate()
    ring.destroy(1, confirm=True)  # already gone: the purge finds nothing due
    assert ring.purge(new_passphrase="the new passphrase") == []
    with fails_with(KeyringError, "wrong passphrase"):
        LocalKeyring.load(path, passphrase=PASS)
    assert LocalKeyring.load(path, passphrase="the new passphrase").versions() == {
        1: "destroyed",
        2: "enabled",
    }


# -- 3. a killed save ------------------------------------------------------------------

_KILLED_SAVE = """
import os, signal, sys
from sealdoc import LocalKeyring
ring = LocalKeyring.load(sys.argv[1], passphrase=sys.argv[2])

def die(fd):
    # the copy is written; the process dies before the rename, as with kill -9
    os.kill(os.getpid(), signal.SIGKILL)

os.fsync = die
ring.rotate()
"""


def killed_save(path: Path) -> Path:
    """Kill a process in the middle of a save; the copy it left beside the keyring."""
    code, _, err = finish(python(_KILLED_SAVE, str(path), PASS))
    assert code == -9, err
    (partial,) = temp_paths(path)
    assert json.loads(partial.read_bytes())["format"] == "sealdoc-keyring"  # a whole keyring
    return partial


def test_a_change_removes_what_a_killed_save_left_and_a_destroy_is_final(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase=PASS, **FAST)
    ring.rotate()
    partial = killed_save(path)  # it holds version 1
    ring.destroy(1, confirm=True)
    assert not partial.exists()
    assert temp_paths(path) == []
    assert LocalKeyring.load(path, passphrase=PASS).versions()[1] == "destroyed"


def test_a_load_removes_what_a_killed_save_left(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    LocalKeyring.create(path, passphrase=PASS, **FAST)
    partial = killed_save(path)
    LocalKeyring.load(path, passphrase=PASS)
    assert not partial.exists()


_HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("held", ["partial", "keyring lock"])
def test_a_copy_a_live_writer_holds_is_left_alone(tmp_path: Path, held: str) -> None:
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase=PASS, **FAST)
    live = path.with_name(f".{path.name}.{'0' * 16}.partial")
    live.write_bytes(b"being written")
    target = live if held == "partial" else path.with_name(f".{path.name}.lock")
    writer = python(_HOLD, str(target))
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "held\n"
        LocalKeyring.load(path, passphrase=PASS)  # never waits for the lock
        assert live.exists()
        if held == "partial":
            ring.rotate()
            assert live.exists()
    finally:
        writer.kill()
        writer.communicate()
    ring.rotate()  # the writer is gone: its copy is a leftover now
    assert not live.exists()


# -- 7. a change made by another process ------------------------------------------------

_CHANGE = """
import sys
from sealdoc import LocalKeyring
ring = LocalKeyring.load(sys.argv[1], passphrase=sys.argv[2])
for step in sys.argv[3:]:
    verb, _, version = step.partition(":")
    if verb == "rotate":
        ring.rotate()
    elif verb == "destroy":
        ring.destroy(int(version), confirm=True)
    elif verb == "disable":
        ring.disable(int(version))
"""


def change_elsewhere(path: Path, *steps: str) -> None:
    code, _, err = finish(python(_CHANGE, str(path), PASS, *steps))
    assert code == 0, err


def test_a_seal_follows_a_rotation_and_destroy_made_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    service = LocalKeyring.create(path, passphrase=PASS, **FAST)
    assert sealdoc.inspect(sealdoc.seal(b"x", keys=service)).wrapped_keys[0].version == 1
    change_elsewhere(path, "rotate", "destroy:1")
    doc = sealdoc.seal(b"after", keys=service)
    assert sealdoc.inspect(doc).wrapped_keys[0].version == 2
    fresh = LocalKeyring.load(path, passphrase=PASS)
    assert sealdoc.open(doc, keys=fresh) == b"after"


def test_no_seal_under_a_primary_another_process_destroyed(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    service = LocalKeyring.create(path, passphrase=PASS, **FAST)
    old = sealdoc.seal(b"old", keys=service)
    change_elsewhere(path, "destroy:1")
    with fails_with(KeyProviderError, "no enabled primary version"):
        sealdoc.seal(b"lost", keys=service)
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(old, keys=service)


def test_a_version_disabled_by_another_process_opens_nothing_here(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    service = LocalKeyring.create(path, passphrase=PASS, **FAST)
    old = sealdoc.seal(b"old", keys=service)
    change_elsewhere(path, "rotate", "disable:1")
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(old, keys=service)


def test_sealing_reads_the_file_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ring.json"
    service = LocalKeyring.create(path, passphrase=PASS, **FAST)
    reads: list[LocalKeyring] = []
    real = LocalKeyring._reload

    def counted(self: LocalKeyring) -> None:
        if self._file is service._file:
            reads.append(self)
        real(self)

    monkeypatch.setattr(LocalKeyring, "_reload", counted)
    for _ in range(20):
        sealdoc.open(sealdoc.seal(b"x", keys=service), keys=service)
    assert reads == []
    LocalKeyring.load(path, passphrase=PASS).rotate()  # another writer
    sealdoc.seal(b"x", keys=service)
    sealdoc.seal(b"x", keys=service)
    assert len(reads) == 1


def test_a_keyring_file_gone_stops_sealing(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    service = LocalKeyring.create(path, passphrase=PASS, **FAST)
    path.unlink()
    with fails_with(KeyringError, "cannot be checked for changes"):
        sealdoc.seal(b"x", keys=service)


def test_two_keys_init_at_once_one_wins_the_other_exits_3(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALDOC_")}
    env.update(PYTHONPATH=SRC, SEALDOC_KEYRING=str(tmp_path / "ring.json"), SEALDOC_PASSPHRASE=PASS)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sealdoc", "keys", "init"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    results = sorted(finish(p) for p in procs)
    (ok, out, _), (refused, _, err) = results
    assert (ok, refused) == (0, 3), results
    assert out.startswith("created keyring")
    assert err.startswith("sealdoc: keyring ")
    assert "already exists" in err
    assert len(err.splitlines()) == 1
    assert LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS).versions() == {1: "enabled"}
