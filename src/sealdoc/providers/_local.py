"""LocalKeyring: versioned KEKs in a file sealed under a passphrase (docs/keyring.md)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._atomic import TargetExistsError, atomic_file, temp_paths, write_atomic
from .._audit import record
from .._format import KeyRef, WrappedKey
from ..exceptions import (
    FormatError,
    KeyringError,
    KeyringExistsError,
    KeyringRollbackError,
    KeyUriError,
)
from ._base import AssociatedData
from ._keyring import KeyringBase
from ._keyring_model import (
    DEFAULT_KEY_ID,
    KEK_LEN,
    NamedKey,
    RingMeta,
    _check_now,
    _now,
    new_named_key,
    new_ring_id,
)
from ._local_format import (
    DEFAULT_MEMLIMIT,
    DEFAULT_OPSLIMIT,
    SALT_LEN,
    Body,
    b64,
    check_kdf_limits,
    decode_body,
    encode_body,
    encode_keys,
    kdf_aad,
    outer_bytes,
    parse_outer,
    read_sidecar,
    sidecar_bytes,
    sidecar_floor,
    sidecar_path,
)
from ._local_lock import clean_partials, file_lock, write_lock_record

__all__ = ["DEFAULT_MEMLIMIT", "DEFAULT_OPSLIMIT", "LocalKeyring", "from_uri"]

_T = TypeVar("_T")
_encode_keys = encode_keys  # for tests that read a keyring's plain body
_log = logging.getLogger(__name__)

MAX_FILE_LEN = 16 * 1024 * 1024
MIN_PASSPHRASE_LEN = 8


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
    # Argon2 is loaded when a keyring is unlocked, not by `import sealdoc` or `--help`
    import nacl.pwhash  # noqa: PLC0415

    key: bytes = nacl.pwhash.argon2id.kdf(
        KEK_LEN, passphrase, salt, opslimit=opslimit, memlimit=memlimit
    )
    return key


def _new_file_key(
    passphrase: str | bytes, opslimit: int, memlimit: int
) -> tuple[bytes, dict[str, Any]]:
    """A file key under a fresh salt, and the ``kdf`` object that records it."""
    secret = _passphrase_bytes(passphrase)
    check_kdf_limits(opslimit, memlimit)
    salt = os.urandom(SALT_LEN)
    kdf = {"name": "argon2id", "salt": b64(salt), "opslimit": opslimit, "memlimit": memlimit}
    return _kdf(secret, salt, opslimit, memlimit), kdf


@attrs.define(repr=False)
class _FileState:
    """What every provider made from one loaded keyring shares about its file.

    ``generation`` is the highest generation this object has read or
    written: a file with a lower one is a rolled-back copy. ``floor`` is a
    generation the next save must exceed (a sidecar seen when a backup was
    restored on purpose). ``next_key`` is a file key the next save switches
    to (a passphrase change). ``seen`` is what ``stat`` said of the file
    this object last read or wrote: a file that stats otherwise was
    replaced since, and is read again before the next wrap or unwrap.
    """

    file_key: bytes
    kdf: dict[str, Any]
    generation: int
    floor: int = 0
    restoring: bool = False
    next_key: tuple[bytes, dict[str, Any]] | None = None
    seen: tuple[int, ...] | None = None


def _stat_key(info: os.stat_result) -> tuple[int, ...]:
    # every save renames a new file in: the inode changes, and an inode
    # number reused later comes with other times
    return (info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class LocalKeyring(KeyringBase):
    """Versioned AES-256 KEKs in a local file, encrypted under a passphrase.

    Create one with :meth:`create`, open it again with :meth:`load`. Seal
    wraps under the primary version of key ``default``; open uses whichever
    version the document names.
    """

    kind = "local"
    _path: Path
    _file: _FileState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("use LocalKeyring.create(path, passphrase=...) or LocalKeyring.load(...)")

    @classmethod
    def _make(cls, path: Path, body: Body, state: _FileState) -> LocalKeyring:
        ring = cls.__new__(cls)
        KeyringBase.__init__(ring, body.keys, key_id=DEFAULT_KEY_ID, meta=body.meta)
        ring._path = path
        ring._file = state
        return ring

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

        The keyring gets a random id (``ring_id``) that its wraps carry.
        Never replaces a file: a keyring at ``path``, even one another
        process creates at the same moment, is a :class:`KeyringExistsError`
        (the file is published with a create-only link). The file is written
        atomically with mode 0600.
        """
        target = Path(path)
        _passphrase_bytes(passphrase)
        check_kdf_limits(opslimit, memlimit)
        if os.path.lexists(target):
            raise _exists(target)
        file_key, kdf = _new_file_key(passphrase, opslimit, memlimit)
        meta = RingMeta(ring_id=new_ring_id(), plain_ids=False)
        body = Body(keys={DEFAULT_KEY_ID: new_named_key(_now())}, meta=meta, generation=0)
        ring = cls._make(target, body, _FileState(file_key=file_key, kdf=kdf, generation=0))
        with file_lock(target):
            clean_partials(target)
            ring._persist(ring._keys, ring._meta, exclusive=True)
        return ring

    # Shaped like create(): path, then keyword-only secrets; nothing to share.
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | bytes,
        allow_rollback: bool = False,
    ) -> LocalKeyring:
        """Open an existing keyring file. A wrong passphrase is a KeyringError.

        A file older than the generation recorded beside it (``.NAME.generation``)
        is a :class:`~sealdoc.exceptions.KeyringRollbackError`, unless
        ``allow_rollback`` (restoring a backup on purpose; the next save then
        goes above the recorded generation).
        """
        target = Path(path)
        secret = _passphrase_bytes(passphrase)
        if temp_paths(target):  # a glob first: a load that finds none writes nothing
            with file_lock(target, wait=False) as locked:
                if locked:  # else a save is under way: its own end leaves nothing behind
                    clean_partials(target)
        sidecar = read_sidecar(target)  # first: see read_sidecar
        try:
            with open(target, "rb") as fh:
                raw = fh.read(MAX_FILE_LEN + 1)
                seen = _stat_key(os.fstat(fh.fileno()))
        except OSError as exc:
            raise KeyringError(f"cannot read keyring {target}: {exc.strerror}") from exc
        except ValueError:  # a NUL byte or a lone surrogate in the path (found by fuzz/)
            raise KeyringError(f"cannot read keyring {str(target)!r}: not a usable path") from None
        if len(raw) > MAX_FILE_LEN:
            raise KeyringError(f"{target} is larger than any keyring ({MAX_FILE_LEN} bytes)")
        try:
            kdf, salt, nonce, ciphertext = parse_outer(raw)
        except (ValueError, FormatError) as exc:
            raise KeyringError(f"{target} is not a valid keyring file: {exc}") from None
        file_key = _kdf(secret, salt, kdf["opslimit"], kdf["memlimit"])
        try:
            plain = AESGCM(file_key).decrypt(nonce, ciphertext, kdf_aad(kdf))
        except InvalidTag:
            raise KeyringError(
                f"wrong passphrase for keyring {target}, or the file was altered"
            ) from None
        try:
            body = decode_body(plain)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"keyring {target} holds malformed key entries") from exc
        recorded = sidecar_floor(sidecar, body.meta.ring_id)
        if recorded > body.generation and not allow_rollback:
            raise _rollback(target, body.generation, recorded)
        state = _FileState(
            file_key=file_key,
            kdf=dict(kdf),
            generation=body.generation,
            floor=recorded,
            restoring=allow_rollback,
            seen=seen,
        )
        return cls._make(target, body, state)

    def _transact(
        self,
        change: Callable[[dict[str, NamedKey], RingMeta], _T],
        now: datetime,
        *,
        only_if_due: bool = False,
    ) -> tuple[_T | None, list[KeyRef]]:
        """As KeyringBase's, under a lock on the file, starting from the file's contents.

        Another process may have changed the keyring since this one loaded it
        (two operators rotating, a cron job adding a customer key): reading
        the file again under an exclusive lock means neither change is lost.
        """
        with self._lock, file_lock(self._path):
            clean_partials(self._path)  # a killed save's copy never outlives a change
            self._reload()
            return super()._transact(change, now, only_if_due=only_if_due)

    # -- noticing another process's change -------------------------------------------

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        """As KeyringBase's, after reading the file again if it changed since (see below)."""
        self._refresh()
        return super().wrap(dek, ad)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        self._refresh()
        return super().unwrap(wrapped, ad)

    def current_key(self) -> KeyRef:
        self._refresh()
        return super().current_key()

    def _refresh(self) -> None:
        """Read the keyring again if another process replaced the file since this one did.

        One ``stat`` per call (sealing is a hot path); the file is read only
        when it changed. So a version that another process destroyed or
        disabled is never used here again, and a seal under a primary
        destroyed elsewhere fails instead of making a document nobody can open.
        """
        try:
            now = _stat_key(os.stat(self._path))
        except OSError as exc:
            raise KeyringError(
                f"keyring {self._path} cannot be checked for changes ({exc.strerror}); "
                "nothing was sealed or opened with it"
            ) from None
        if now == self._file.seen:
            return
        with self._lock:
            self._reload()

    def _reload(self) -> None:
        """Replace the keys in memory with the file's (the caller holds the file lock)."""
        try:
            with open(self._path, "rb") as fh:
                raw = fh.read(MAX_FILE_LEN + 1)
                seen = _stat_key(os.fstat(fh.fileno()))
        except FileNotFoundError:
            raise KeyringError(f"keyring {self._path} is gone; nothing was changed") from None
        except OSError as exc:
            raise KeyringError(f"cannot read keyring {self._path}: {exc.strerror}") from exc
        try:
            kdf, _, nonce, ciphertext = parse_outer(raw)
        except (ValueError, FormatError) as exc:
            raise KeyringError(
                f"keyring {self._path} changed on disk and cannot be read: {type(exc).__name__}"
            ) from None
        if kdf != self._file.kdf:
            raise KeyringError(
                f"keyring {self._path} was re-encrypted (its passphrase was changed) or "
                "replaced by another keyring; load it again; nothing was changed"
            )
        try:
            plain = AESGCM(self._file.file_key).decrypt(nonce, ciphertext, kdf_aad(kdf))
            body = decode_body(plain)
        except (ValueError, InvalidTag, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(
                f"keyring {self._path} changed on disk and cannot be read: {type(exc).__name__}"
            ) from None
        floor = self._file.generation
        if not self._file.restoring:
            floor = max(floor, sidecar_floor(read_sidecar(self._path), body.meta.ring_id))
        if body.generation < floor:
            raise _rollback(self._path, body.generation, floor)
        self._file.generation = body.generation
        self._file.seen = seen
        self._keys.clear()
        self._keys.update(body.keys)
        self._meta.ring_id, self._meta.plain_ids = body.meta.ring_id, body.meta.plain_ids

    def _persist(
        self, keys: dict[str, NamedKey], meta: RingMeta, *, exclusive: bool = False
    ) -> None:
        """Re-encrypt the whole key set under a fresh nonce and replace the file atomically.

        The generation goes up by one on every save; the sidecar that records
        it is written after the keyring, so a crash between the two leaves a
        sidecar behind the file, never ahead of it. ``exclusive``: the file
        must not exist when it is published (create). The caller holds the
        file lock.
        """
        state = self._file
        file_key, kdf = state.next_key or (state.file_key, state.kdf)
        generation = max(state.generation, state.floor) + 1
        nonce = os.urandom(12)
        body = encode_body(keys, meta, generation)
        ciphertext = AESGCM(file_key).encrypt(nonce, body, kdf_aad(kdf))
        try:
            with atomic_file(self._path, mode=0o600, overwrite=not exclusive) as fh:
                fh.write(outer_bytes(kdf, nonce, ciphertext))
            state.seen = _stat_key(os.stat(self._path))
        except TargetExistsError:
            raise _exists(self._path) from None
        except OSError as exc:
            raise KeyringError(f"cannot write keyring {self._path}: {exc.strerror}") from exc
        state.file_key, state.kdf = file_key, kdf
        state.generation, state.floor, state.restoring = generation, 0, False
        record = sidecar_bytes(meta.ring_id, generation)
        try:
            write_atomic(sidecar_path(self._path), record)
            write_lock_record(self._path, record)
        except OSError as exc:  # the keyring is saved; only the fresh-process check is weaker
            _log.warning("cannot record keyring generation beside %s: %s", self._path, exc)

    # -- passphrase and destroy ---------------------------------------------------

    def change_passphrase(
        self,
        new_passphrase: str | bytes,
        *,
        opslimit: int | None = None,
        memlimit: int | None = None,
    ) -> None:
        """Re-encrypt the keyring under ``new_passphrase``, with a fresh salt, atomically.

        Copies of the file made before (backups, snapshots) still open with
        the old passphrase: see docs/keyring.md on making a destroy final.
        Other processes holding the keyring must load it again.
        """
        self._rekeyed(
            lambda: self._change(lambda keys, meta: None), new_passphrase, opslimit, memlimit
        )
        record("keyring.change-passphrase", "ok", kind=self.kind, detail=str(self._path))

    # KeyringBase.destroy's signature again, plus new_passphrase: an override
    # that forwards, spelled out so that the public signature shows every option.
    def destroy(
        self,
        version: int,
        key_id: str | None = None,
        *,
        after: timedelta | None = None,
        confirm: bool = False,
        now: datetime | None = None,
        new_passphrase: str | bytes | None = None,
    ) -> None:
        """As :meth:`KeyringBase.destroy`; ``new_passphrase`` also re-encrypts the file, at once.

        Destroying under a new passphrase means copies of the file made
        before no longer open with the passphrase in use from now on. With
        ``after``, give the new passphrase to :meth:`purge` instead, when the
        key material really goes.
        """
        if new_passphrase is None:
            super().destroy(version, key_id, after=after, confirm=confirm, now=now)
            return
        if after is not None:
            raise ValueError(
                "with after=, the key material stays until it is purged: "
                "pass new_passphrase to purge() then"
            )
        self._rekeyed(
            lambda: super(LocalKeyring, self).destroy(version, key_id, confirm=confirm, now=now),
            new_passphrase,
            None,
            None,
        )

    def purge(
        self, now: datetime | None = None, *, new_passphrase: str | bytes | None = None
    ) -> list[KeyRef]:
        """As :meth:`KeyringBase.purge`; ``new_passphrase`` re-encrypts the file as it purges.

        With ``new_passphrase`` the file is re-encrypted whether or not a
        version was due (another change may have purged it already): the
        passphrase in use afterwards is always the new one.
        """
        if new_passphrase is None:
            return super().purge(now)
        when = _check_now(now)
        _, purged = self._rekeyed(
            lambda: self._transact(lambda keys, meta: None, when), new_passphrase, None, None
        )
        record("keyring.change-passphrase", "ok", kind=self.kind, detail=str(self._path))
        return purged

    def _rekeyed(
        self,
        action: Callable[[], _T],
        new_passphrase: str | bytes,
        opslimit: int | None,
        memlimit: int | None,
    ) -> _T:
        """Run ``action`` (one change) so that its save switches to a new file key."""
        current = self._file.kdf
        ops = current["opslimit"] if opslimit is None else opslimit
        mem = current["memlimit"] if memlimit is None else memlimit
        next_key = _new_file_key(new_passphrase, ops, mem)  # slow: outside the file lock
        with self._lock:
            self._file.next_key = next_key
            try:
                return action()
            finally:
                self._file.next_key = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def generation(self) -> int:
        """The generation of the file as this object last read or wrote it."""
        return self._file.generation

    def __repr__(self) -> str:
        return (
            f"LocalKeyring(path={str(self._path)!r}, key_id={self._key_id!r}, "
            f"ring_id={self._meta.ring_id!r})"
        )

    def __dask_tokenize__(self) -> tuple[str, ...]:
        """Dask's token: kind, key id and file; never a key or the passphrase."""
        return (self.kind, self._key_id, str(self._path))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by reference, as its key URI: no key material in the pickle.

        A Dask worker (or any process) that unpickles it loads the keyring
        file again, with the passphrase from its own ``SEALDOC_PASSPHRASE``,
        exactly as the key URI ``local:///path#key-id`` would be resolved there.
        """
        path = quote(str(self._path.absolute()))
        return (from_uri, (f"local://{path}#{quote(self._key_id, safe='')}",))

    def __copy__(self) -> LocalKeyring:
        # key() makes shallow copies that share keys, lock and file: not the pickle path
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone


def _exists(path: Path) -> KeyringExistsError:
    return KeyringExistsError(
        f"keyring {path} already exists; load it instead (nothing was written)"
    )


def _rollback(path: Path, found: int, seen: int) -> KeyringRollbackError:
    return KeyringRollbackError(
        f"keyring {path} is generation {found}, older than generation {seen} already seen: "
        "an old copy may hold keys destroyed since. If you are restoring a backup on "
        "purpose, load it with allow_rollback=True"
    )


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
    if not parts.fragment:
        return ring
    try:
        return ring.key(unquote(parts.fragment))
    except (KeyError, ValueError) as exc:  # no such key, or not a key name at all
        raise KeyUriError(f"{uri}: {exc.args[0] if exc.args else exc}") from None
