"""LocalKeyring: the passphrase-protected keyring file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import sealdoc
from sealdoc import KeyringError, LocalKeyring, MemoryKeyring

from .errors import fails_with

PASS = "correct horse battery staple"
FAST = {"opslimit": 1, "memlimit": 8 * 1024 * 1024}  # the smallest load() accepts


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


def test_create_then_load_opens_what_was_sealed(keyring_path: Path) -> None:
    ring = LocalKeyring.create(keyring_path, passphrase=PASS)
    sealed = sealdoc.seal(b"statement", keys=ring)
    header = sealdoc.inspect(sealed)
    labels = [(w.kind, w.key_id, w.version) for w in header.wrapped_keys]
    assert ring.ring_id is not None
    assert labels == [("local", f"default@{ring.ring_id}", 1)]
    again = LocalKeyring.load(keyring_path, passphrase=PASS)
    assert sealdoc.open(sealed, keys=again) == b"statement"


def test_file_mode_is_0600_and_holds_no_plain_key(keyring_path: Path) -> None:
    ring = LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    assert stat.S_IMODE(os.stat(keyring_path).st_mode) == 0o600
    kek = ring._keys["default"].versions[1].secret
    raw = keyring_path.read_bytes()
    assert kek not in raw
    assert kek.hex().encode() not in raw
    assert PASS.encode() not in raw
    # no temp file left; the sidecar and the lock file record the generation only
    names = sorted(p.name for p in keyring_path.parent.iterdir())
    assert names == [".keyring.json.generation", ".keyring.json.lock", "keyring.json"]
    record = {"generation": 1, "ring_id": ring.ring_id}
    for name in names[:2]:
        assert json.loads((keyring_path.parent / name).read_bytes()) == record


def test_wrong_passphrase_is_a_clear_error(keyring_path: Path) -> None:
    LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    with pytest.raises(KeyringError, match="wrong passphrase") as info:
        LocalKeyring.load(keyring_path, passphrase="not the passphrase")
    assert "not the passphrase" not in str(info.value)
    assert isinstance(info.value, sealdoc.KeyProviderError)


def test_create_refuses_to_overwrite(keyring_path: Path) -> None:
    LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    before = keyring_path.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    assert keyring_path.read_bytes() == before


@pytest.mark.parametrize("passphrase", ["", "short"])
def test_short_passphrases_are_refused(keyring_path: Path, passphrase: str) -> None:
    with pytest.raises(ValueError, match="at least 8"):
        LocalKeyring.create(keyring_path, passphrase=passphrase)
    assert not keyring_path.exists()


def test_missing_file(keyring_path: Path) -> None:
    with pytest.raises(KeyringError, match="cannot read keyring"):
        LocalKeyring.load(keyring_path, passphrase=PASS)


def _edit(path: Path, **changes: object) -> None:
    doc = json.loads(path.read_text())
    for dotted, value in changes.items():
        target = doc
        *parents, last = dotted.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "something-else"}, "not a sealdoc keyring"),
        ({"version": 2}, "unsupported keyring version"),
        ({"kdf__opslimit": 0}, "opslimit"),
        ({"kdf__memlimit": 2**40}, "memlimit"),
        ({"kdf__name": "scrypt"}, "argon2id"),
        ({"nonce": "!!"}, "base64"),
        ({"kdf__opslimit": 2}, "wrong passphrase"),  # the KDF inputs are authenticated
        ({"ciphertext": "AAAA"}, "wrong passphrase"),
    ],
)
def test_altered_or_malformed_files(
    keyring_path: Path, changes: dict[str, object], message: str
) -> None:
    LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    _edit(keyring_path, **changes)
    with pytest.raises(KeyringError, match=message):
        LocalKeyring.load(keyring_path, passphrase=PASS)


def test_not_json(keyring_path: Path) -> None:
    keyring_path.write_bytes(b"\x00\x01 not json")
    with pytest.raises(KeyringError, match="not a valid keyring"):
        LocalKeyring.load(keyring_path, passphrase=PASS)


def test_another_keyring_cannot_open(keyring_path: Path, tmp_path: Path) -> None:
    ring = LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    other = LocalKeyring.create(tmp_path / "other.json", passphrase=PASS, **FAST)
    sealed = sealdoc.seal(b"x", keys=ring)
    with fails_with(sealdoc.DecryptionError, f"local:default@{ring.ring_id}#1"):
        sealdoc.open(sealed, keys=other)


def test_memory_and_local_keyrings_do_not_confuse_kinds(keyring_path: Path) -> None:
    ring = LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    sealed = sealdoc.seal(b"x", keys=ring)
    with fails_with(sealdoc.DecryptionError, "no provider given holds"):
        sealdoc.open(sealed, keys=MemoryKeyring())


def test_direct_construction_is_refused() -> None:
    with pytest.raises(TypeError, match=r"LocalKeyring\.create"):
        LocalKeyring()


def test_repr_names_the_file_not_the_key(keyring_path: Path) -> None:
    ring = LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    assert repr(ring) == (
        f"LocalKeyring(path={str(keyring_path)!r}, key_id='default', ring_id={ring.ring_id!r})"
    )


def test_a_crash_while_saving_leaves_the_old_file(
    keyring_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = LocalKeyring.create(keyring_path, passphrase=PASS, **FAST)
    before = keyring_path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyringError, match="No space left"):
        ring._persist(ring._keys, ring._meta)
    monkeypatch.undo()
    assert keyring_path.read_bytes() == before
    names = sorted(p.name for p in keyring_path.parent.iterdir())
    assert names == [".keyring.json.generation", ".keyring.json.lock", "keyring.json"]
    assert LocalKeyring.load(keyring_path, passphrase=PASS).versions() == {1: "enabled"}


_WRITER = """
import sys
from sealdoc import LocalKeyring
ring = LocalKeyring.load(sys.argv[1], passphrase="pass phrase")  # loaded once, then stale
sys.stdin.readline()  # start together
for n in range(int(sys.argv[3])):
    ring.add_key(f"{sys.argv[2]}-{n}")
    ring.rotate()
"""


def test_processes_changing_one_keyring_lose_no_change(tmp_path: Path) -> None:
    """Two processes add keys and rotate at once: every change is in the file."""
    path = tmp_path / "ring.json"
    LocalKeyring.create(path, passphrase="pass phrase", opslimit=1, memlimit=8 << 20)
    rounds = 15
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name, str(rounds)],
            stdin=subprocess.PIPE,
        )
        for name in ("alpha", "beta")
    ]
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write(b"go\n")
        writer.stdin.close()
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    ring = LocalKeyring.load(path, passphrase="pass phrase")
    expected = {"default"} | {f"{name}-{n}" for name in ("alpha", "beta") for n in range(rounds)}
    assert set(ring.key_ids()) == expected
    # each process rotated "default" 15 times: 30 new versions, none overwritten
    assert sorted(ring.versions()) == list(range(1, 2 * rounds + 2))


def test_the_keyring_layouts_argon2_constants_are_libsodiums() -> None:
    # spelled out in _local_format so that reading the layout does not load Argon2
    import nacl.pwhash

    from sealdoc.providers import _local_format

    assert _local_format.SALT_LEN == nacl.pwhash.argon2id.SALTBYTES
    assert _local_format.OPSLIMIT_RANGE[0] == max(1, nacl.pwhash.argon2id.OPSLIMIT_MIN)
