"""LocalKeyring: versioned KEKs in a file sealed under a passphrase (docs/keyring.md)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import nacl.pwhash
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._atomic import write_atomic
from ..exceptions import FormatError, KeyringError, KeyUriError
from ._keyring import (
    DEFAULT_KEY_ID,
    DESTROYED,
    KEK_LEN,
    STATES,
    KeyringBase,
    KeyVersion,
    NamedKey,
    _now,
    check_key_id,
    new_named_key,
)

_T = TypeVar("_T")

FORMAT_NAME = "sealdoc-keyring"
FORMAT_VERSION = 1
_AAD_LABEL = b"sealdoc-keyring-v1"
_SALT_LEN = nacl.pwhash.argon2id.SALTBYTES  # 16

# RFC 9106's second recommended option (t=3, m=64 MiB); libsodium uses one lane.
DEFAULT_OPSLIMIT = 3
DEFAULT_MEMLIMIT = 64 * 1024 * 1024
# What load() accepts: a file cannot force a trivially cheap KDF, nor one
# so expensive that loading it hangs the process.
OPSLIMIT_RANGE = (max(1, nacl.pwhash.argon2id.OPSLIMIT_MIN), 16)
MEMLIMIT_RANGE = (8 * 1024 * 1024, 1024 * 1024 * 1024)
MAX_FILE_LEN = 16 * 1024 * 1024
MIN_PASSPHRASE_LEN = 8


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise FormatError(f"keyring field {what} is not a string")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise FormatError(f"keyring field {what} is not base64") from None


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    if isinstance(passphrase, str):
        raw = passphrase.encode("utf-8")
    elif isinstance(passphrase, bytes | bytearray):
        raw = bytes(passphrase)
    else:
        raise TypeError(f"passphrase must be str or bytes, not {type(passphrase).__name__}")
    if len(raw) < MIN_PASSPHRASE_LEN:
        raise ValueError(f"a keyring passphrase must be at least {MIN_PASSPHRASE_LEN} bytes")
    return raw


def _kdf(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    key: bytes = nacl.pwhash.argon2id.kdf(
        KEK_LEN, passphrase, salt, opslimit=opslimit, memlimit=memlimit
    )
    return key


def _kdf_aad(kdf: Mapping[str, Any]) -> bytes:
    return _AAD_LABEL + json.dumps(kdf, sort_keys=True, separators=(",", ":")).encode()


class LocalKeyring(KeyringBase):
    """Versioned AES-256 KEKs in a local file, encrypted under a passphrase.

    Create one with :meth:`create`, open it again with :meth:`load`. Seal
    wraps under the primary version of key ``default``; open uses whichever
    version the document names.
    """

    kind = "local"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("use LocalKeyring.create(path, passphrase=...) or LocalKeyring.load(...)")

    @classmethod
    def _make(
        cls, path: Path, keys: dict[str, NamedKey], file_key: bytes, kdf: dict[str, Any]
    ) -> LocalKeyring:
        ring = cls.__new__(cls)
        KeyringBase.__init__(ring, keys, key_id=DEFAULT_KEY_ID)
        ring._path = path
        ring._file_key = file_key
        ring._kdf_params = kdf
        return ring

    _path: Path
    _file_key: bytes
    _kdf_params: dict[str, Any]

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | bytes,
        opslimit: int = DEFAULT_OPSLIMIT,
        memlimit: int = DEFAULT_MEMLIMIT,
    ) -> LocalKeyring:
        """Create a new keyring file with one key, ``default``, at version 1.

        Refuses to overwrite an existing file. The file is written atomically
        with mode 0600.
        """
        target = Path(path)
        secret = _passphrase_bytes(passphrase)
        _check_kdf_limits(opslimit, memlimit)
        if target.exists():
            raise KeyringError(f"keyring {target} already exists; load it instead")
        salt = os.urandom(_SALT_LEN)
        kdf = {"name": "argon2id", "salt": _b64(salt), "opslimit": opslimit, "memlimit": memlimit}
        ring = cls._make(target, {DEFAULT_KEY_ID: new_named_key(_now())}, b"", kdf)
        ring._file_key = _kdf(secret, salt, opslimit, memlimit)
        ring._persist(ring._keys)
        return ring

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, passphrase: str | bytes) -> LocalKeyring:
        """Open an existing keyring file. A wrong passphrase is a KeyringError."""
        target = Path(path)
        secret = _passphrase_bytes(passphrase)
        try:
            with open(target, "rb") as fh:
                raw = fh.read(MAX_FILE_LEN + 1)
        except OSError as exc:
            raise KeyringError(f"cannot read keyring {target}: {exc.strerror}") from exc
        except ValueError:  # a NUL byte or a lone surrogate in the path (found by fuzz/)
            raise KeyringError(f"cannot read keyring {str(target)!r}: not a usable path") from None
        if len(raw) > MAX_FILE_LEN:
            raise KeyringError(f"{target} is larger than any keyring ({MAX_FILE_LEN} bytes)")
        try:
            kdf, salt, nonce, ciphertext = _parse_outer(raw)
        except (ValueError, FormatError) as exc:
            raise KeyringError(f"{target} is not a valid keyring file: {exc}") from None
        opslimit, memlimit = kdf["opslimit"], kdf["memlimit"]
        file_key = _kdf(secret, salt, opslimit, memlimit)
        try:
            plain = AESGCM(file_key).decrypt(nonce, ciphertext, _kdf_aad(kdf))
        except InvalidTag:
            raise KeyringError(
                f"wrong passphrase for keyring {target}, or the file was altered"
            ) from None
        try:
            keys = _decode_keys(json.loads(plain))
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"keyring {target} holds malformed key entries") from exc
        return cls._make(target, keys, file_key, dict(kdf))

    def _change(self, change: Callable[[dict[str, NamedKey]], _T]) -> _T:
        """As KeyringBase's, under a lock on the file, starting from the file's contents.

        Another process may have changed the keyring since this one loaded it
        (two operators rotating, a cron job adding a customer key): reading
        the file again under an exclusive lock means neither change is lost.
        """
        with self._lock, _file_lock(self._path):
            self._reload()
            return super()._change(change)

    def _reload(self) -> None:
        """Replace the keys in memory with the file's (the caller holds the file lock)."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            raise KeyringError(f"keyring {self._path} is gone; nothing was changed") from None
        except OSError as exc:
            raise KeyringError(f"cannot read keyring {self._path}: {exc.strerror}") from exc
        try:
            kdf, _, nonce, ciphertext = _parse_outer(raw)
            if kdf != self._kdf_params:
                raise KeyringError(f"keyring {self._path} was replaced by another keyring")
            plain = AESGCM(self._file_key).decrypt(nonce, ciphertext, _kdf_aad(kdf))
            keys = _decode_keys(json.loads(plain))
        except (ValueError, FormatError, InvalidTag, KeyError, TypeError) as exc:
            raise KeyringError(
                f"keyring {self._path} changed on disk and cannot be read: {type(exc).__name__}"
            ) from None
        self._keys.clear()
        self._keys.update(keys)

    def _persist(self, keys: dict[str, NamedKey]) -> None:
        """Re-encrypt the whole key set under a fresh nonce and replace the file atomically."""
        body = json.dumps(_encode_keys(keys), sort_keys=True).encode()
        nonce = os.urandom(12)
        ciphertext = AESGCM(self._file_key).encrypt(nonce, body, _kdf_aad(self._kdf_params))
        outer = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "kdf": self._kdf_params,
            "cipher": "aes-256-gcm",
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
        }
        data = json.dumps(outer, indent=2, sort_keys=True).encode() + b"\n"
        try:
            write_atomic(self._path, data, mode=0o600)
        except OSError as exc:
            raise KeyringError(f"cannot write keyring {self._path}: {exc.strerror}") from exc

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"LocalKeyring(path={str(self._path)!r}, key_id={self._key_id!r})"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on a file beside the keyring (POSIX flock).

    The lock file is never the keyring itself: the keyring is replaced by
    rename, so a lock on it would be a lock on a file that is gone. Where
    there is no fcntl (Windows), only the in-process lock applies.
    """
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise KeyringError(f"cannot lock keyring {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _parse_outer(raw: bytes) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """The unencrypted envelope of a keyring file: KDF parameters, nonce, ciphertext."""
    outer = json.loads(raw)
    if not isinstance(outer, dict) or outer.get("format") != FORMAT_NAME:
        raise FormatError("not a sealdoc keyring file")
    if outer.get("version") != FORMAT_VERSION:
        raise FormatError(f"unsupported keyring version {outer.get('version')!r}")
    kdf = outer.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "argon2id":
        raise FormatError("keyring KDF must be argon2id")
    opslimit, memlimit = kdf.get("opslimit"), kdf.get("memlimit")
    if not isinstance(opslimit, int) or not isinstance(memlimit, int):
        raise FormatError("keyring KDF limits must be integers")
    _check_kdf_limits(opslimit, memlimit)
    salt = _unb64(kdf.get("salt"), "kdf.salt")
    nonce = _unb64(outer.get("nonce"), "nonce")
    ciphertext = _unb64(outer.get("ciphertext"), "ciphertext")
    if len(salt) != _SALT_LEN or len(nonce) != 12:
        raise FormatError("keyring salt or nonce has the wrong length")
    return kdf, salt, nonce, ciphertext


def _check_kdf_limits(opslimit: int, memlimit: int) -> None:
    lo, hi = OPSLIMIT_RANGE
    if not lo <= opslimit <= hi:
        raise ValueError(f"Argon2id opslimit must be {lo}..{hi}")
    lo, hi = MEMLIMIT_RANGE
    if not lo <= memlimit <= hi:
        raise ValueError(f"Argon2id memlimit must be {lo}..{hi} bytes")


def _encode_keys(keys: dict[str, NamedKey]) -> dict[str, Any]:
    return {
        "keys": {
            key_id: {
                "primary": named.primary,
                "versions": {
                    str(v): {"secret": _b64(kv.secret), "state": kv.state, "created": kv.created}
                    for v, kv in named.versions.items()
                },
            }
            for key_id, named in keys.items()
        }
    }


def _decode_keys(doc: Any) -> dict[str, NamedKey]:
    keys: dict[str, NamedKey] = {}
    for key_id, named in doc["keys"].items():
        check_key_id(key_id)
        versions = {}
        for v, kv in named["versions"].items():
            secret = base64.b64decode(kv["secret"], validate=True)
            if len(secret) != (0 if kv["state"] == DESTROYED else KEK_LEN):
                raise ValueError("a KEK is 32 bytes, and a destroyed one none")
            state = str(kv["state"])
            if state not in STATES:
                raise ValueError(f"unknown key state {state!r}")
            versions[int(v)] = KeyVersion(secret=secret, state=state, created=str(kv["created"]))
        primary = None if named["primary"] is None else int(named["primary"])
        if primary is not None and primary not in versions:
            raise ValueError("primary version missing")
        keys[key_id] = NamedKey(primary=primary, versions=versions)
    if not keys:
        raise ValueError("empty keyring")
    return keys


def from_uri(
    uri: str,
    *,
    passphrase: str | bytes | None = None,
    passphrase_env: str = "SEALDOC_PASSPHRASE",  # noqa: S107 - a variable's name, not a secret
) -> LocalKeyring:
    """``local:///path/to/keyring.json#key-id``: the entry point for the ``local`` scheme.

    The passphrase never travels in the URI (URIs end up in logs and shell
    histories): it comes from ``passphrase`` or the environment variable
    ``passphrase_env``.
    """
    parts = urlsplit(uri)
    if parts.scheme != "local" or parts.netloc or not parts.path:
        raise KeyUriError("a local key URI is local:///absolute/path/to/keyring.json[#key-id]")
    if parts.query:
        raise KeyUriError("a local key URI takes no query: pass the passphrase as a parameter")
    secret = passphrase if passphrase is not None else os.environ.get(passphrase_env)
    if not secret:
        raise KeyUriError(
            f"no passphrase for {parts.path}: pass passphrase= or set {passphrase_env}"
        )
    ring = LocalKeyring.load(unquote(parts.path), passphrase=secret)
    return ring.key(unquote(parts.fragment)) if parts.fragment else ring
