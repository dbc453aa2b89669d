"""Pkcs11: document keys wrapped by an AES-256 key inside an HSM (python-pkcs11; extra ``pkcs11``).

The key-encryption key never leaves the token. Its versions are token
objects labelled ``<key>.v<N>`` (a bare ``<key>`` is version 1); the highest
N is the primary. Wrapping is AES-GCM with the same associated data as the
built-in keyrings (format.md 8.1), so a wrapped key is bound to its
document, or optionally RFC 5649 AES key wrap with padding, whose mechanism
number differs between HSMs, over the document key and a digest of that
associated data (format.md 8.5).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from .._format import DEK_LEN, KeyRef, WrappedKey
from .._wrap_ad import wrap_ad
from ..exceptions import KeyProviderError, KeyUriError, NotMineError
from ._base import AssociatedData
from ._pkcs11_token import (
    GCM,
    KWP,
    _duplicate_message,
    _generate,
    _logged_in_session,
    _mapper,
    _scan,
)

KIND = "pkcs11"
# 2: RFC 5649 over the DEK alone (before 0.x; still read). 3: over the DEK
# and SHA-256 of the wrap's associated data, so the wrap itself is bound.
_PAYLOAD_GCM, _PAYLOAD_KWP, _PAYLOAD_KWP_BOUND = 1, 2, 3
_AD_HASH_LEN = 32
_IV_LEN = 12
KWP_SOFTHSM = 0x210A  # SoftHSM2's number for RFC 5649 wrap with padding
KWP_PKCS11_V3 = 0x210B  # CKM_AES_KEY_WRAP_KWP in PKCS#11 v3, used by most HSMs
DEFAULT_PIN_ENV = "SEALDOC_PKCS11_PIN"

# One loaded module and one lock per module path: python-pkcs11 initialises
# a module once per process, and SoftHSM2 does no locking of its own, so
# calls from several threads must not overlap (docs/pkcs11.md, "Threads").
_modules: dict[str, tuple[Any, threading.RLock]] = {}
_modules_lock = threading.Lock()


def _module(path: str) -> tuple[Any, threading.RLock]:
    import pkcs11  # noqa: PLC0415 - the optional extra 'pkcs11'

    with _modules_lock:
        if path not in _modules:
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:  # python-pkcs11 answers SystemError (found by fuzz/)
                raise KeyProviderError("the PKCS#11 module path is not valid text") from None
            try:
                _modules[path] = (pkcs11.lib(path), threading.RLock())
            except (OSError, pkcs11.exceptions.PKCS11Error) as exc:
                raise KeyProviderError(f"cannot load the PKCS#11 module {path}") from exc
        return _modules[path]


def _read_pin(pin: str | None, pin_file: str | os.PathLike[str] | None, pin_env: str) -> str:
    if pin is not None:
        return pin
    if pin_file is not None:
        try:
            return Path(pin_file).read_text().strip()
        except OSError as exc:
            raise KeyProviderError(f"cannot read the PIN file {pin_file}") from exc
    value = os.environ.get(pin_env)
    if not value:
        raise KeyProviderError(f"no PIN: pass pin= or pin_file=, or set {pin_env}")
    return value


class Pkcs11:
    """A key provider whose KEK is a non-extractable AES-256 key in a PKCS#11 token.

    The key is found by ``token_label`` and ``key_label``. ``pool_size``
    sessions are opened and logged in once; every call into the module is
    serialised (SoftHSM2 needs it; real HSMs may not, so measure before
    raising the pool size).
    """

    kind = KIND

    def __init__(
        self,
        *,
        module_path: str,
        token_label: str,
        key_label: str,
        pin: str | None = None,
        pin_file: str | os.PathLike[str] | None = None,
        pin_env: str = DEFAULT_PIN_ENV,
        mechanism: str = GCM,
        kwp_mechanism: int = KWP_SOFTHSM,
        pool_size: int = 2,
    ) -> None:
        if mechanism not in (GCM, KWP):
            raise ValueError(f"mechanism must be {GCM!r} or {KWP!r}")
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        import pkcs11  # noqa: PLC0415 - the optional extra 'pkcs11'

        self._p11 = pkcs11
        self._token_label = token_label
        self._key_label = key_label
        self._mechanism = mechanism
        self._kwp = kwp_mechanism
        self._lib, self._lock = _module(module_path)
        secret = _read_pin(pin, pin_file, pin_env)
        with self._lock:
            try:
                token = self._lib.get_token(token_label=token_label)
            except pkcs11.exceptions.NoSuchToken as exc:
                raise KeyProviderError(
                    f"no PKCS#11 token labelled {token_label!r} in {module_path}"
                ) from exc
            self._sessions: queue.Queue[Any] = queue.Queue()
            try:
                self._sessions.put(_logged_in_session(pkcs11, token, secret))
                for _ in range(pool_size - 1):  # the login is per token and process
                    self._sessions.put(token.open(rw=True, attribute_mapper=_mapper(pkcs11)))
            except pkcs11.exceptions.PinIncorrect as exc:
                raise KeyProviderError(
                    f"the PIN for PKCS#11 token {token_label!r} was refused"
                ) from exc
            except pkcs11.exceptions.PKCS11Error as exc:
                raise KeyProviderError(
                    f"cannot open a session on PKCS#11 token {token_label!r}: {type(exc).__name__}"
                ) from exc
        del secret
        self._module_path = module_path
        self._key_cache: dict[int, Any] = {}
        self._labels: dict[int, str] = {}
        self._primary = 0
        if not self.refresh():
            raise KeyProviderError(
                f"no key {key_label!r} (labels {key_label}.v1, .v2, ...) in token {token_label!r}; "
                "create one with Pkcs11.create_key()"
            )

    def __repr__(self) -> str:
        return f"Pkcs11(token={self._token_label!r}, key={self._key_label!r})"

    @property
    def key_id(self) -> str:
        return f"{self._token_label}/{self._key_label}"

    # -- sessions ------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[Any]:
        session = self._sessions.get()
        try:
            with self._lock:
                yield session
        except self._p11.exceptions.PKCS11Error as exc:
            if isinstance(
                exc, self._p11.exceptions.UserNotLoggedIn | self._p11.exceptions.SessionClosed
            ):
                raise KeyProviderError(
                    f"the session on token {self._token_label!r} is logged out or closed"
                ) from exc
            raise
        finally:
            self._sessions.put(session)

    def _key(self, session: Any, version: int) -> Any:
        key = self._key_cache.get(version)
        if key is None:
            p11 = self._p11
            label = self._labels.get(version, f"{self._key_label}.v{version}")
            try:
                key = session.get_key(
                    label=label, key_type=p11.KeyType.AES, object_class=p11.ObjectClass.SECRET_KEY
                )
            except p11.exceptions.NoSuchKey:
                raise NotMineError(
                    f"token {self._token_label!r} has no key {self._key_label!r} version {version}"
                ) from None
            except p11.exceptions.MultipleObjectsReturned:
                raise KeyProviderError(
                    _duplicate_message(self._module_path, self._token_label, [label])
                ) from None
            self._key_cache[version] = key
        return key

    def refresh(self) -> list[int]:
        """Re-read the key's versions from the token (after another process rotated it).

        A token holding two keys under one versioned label is refused, with
        the way to fix it: sealdoc cannot tell which of them a document used.
        """
        with self._session() as session:
            labels = _scan(self._p11, session, self._key_label)
        duplicates = sorted(
            {label for found in labels.values() if len(found) > 1 for label in found}
        )
        if duplicates:
            raise KeyProviderError(
                _duplicate_message(self._module_path, self._token_label, duplicates)
            )
        self._labels = {version: found[0] for version, found in labels.items()}
        self._key_cache = {}
        found = sorted(labels)
        self._primary = found[-1] if found else 0
        return found

    def versions(self) -> list[int]:
        """The key's versions present in the token, ascending (a bare label is version 1)."""
        with self._session() as session:
            return sorted(_scan(self._p11, session, self._key_label))

    # -- the provider protocol --------------------------------------------------------------

    def current_key(self) -> KeyRef:
        return KeyRef(KIND, self.key_id, self._primary)

    def handles(self, wrapped: WrappedKey) -> bool:
        return wrapped.kind == KIND and wrapped.key_id == self.key_id

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        if len(dek) != DEK_LEN:
            raise ValueError(f"a document key is {DEK_LEN} bytes")
        version = self._primary  # listing the token's objects on every wrap costs 10x the wrap
        p11 = self._p11
        aad = wrap_ad(KIND, self.key_id, version, ad.digest)
        with self._session() as session, self._permitted(version):
            method = "encrypt" if self._mechanism == GCM else "wrap_key"
            kek = self._capable(self._key(session, version), version, method, self._mechanism)
            if self._mechanism == GCM:
                from pkcs11.mechanisms import GCMParams  # noqa: PLC0415

                iv = os.urandom(_IV_LEN)
                sealed = kek.encrypt(
                    dek, mechanism=p11.Mechanism.AES_GCM, mechanism_param=GCMParams(iv, aad, 128)
                )
                payload = bytes([_PAYLOAD_GCM]) + iv + bytes(sealed)
            else:
                # Key wrap works on key objects only: the DEK and the digest
                # of the associated data become a temporary generic secret
                # for the length of the call; RFC 5649's integrity check
                # then covers both, so the wrap is bound to its document.
                temp = session.create_object(
                    {
                        p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY,
                        p11.Attribute.KEY_TYPE: p11.KeyType.GENERIC_SECRET,
                        p11.Attribute.VALUE: dek + hashlib.sha256(aad).digest(),
                        p11.Attribute.TOKEN: False,
                        p11.Attribute.EXTRACTABLE: True,
                        p11.Attribute.SENSITIVE: False,
                    }
                )
                try:
                    wrapped = kek.wrap_key(temp, mechanism=p11.Mechanism(self._kwp))
                finally:
                    temp.destroy()
                payload = bytes([_PAYLOAD_KWP_BOUND]) + bytes(wrapped)
        return WrappedKey(kind=KIND, key_id=self.key_id, version=version, payload=payload)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        if not self.handles(wrapped):
            raise NotMineError(f"not a key of token {self._token_label!r} / {self._key_label!r}")
        p11 = self._p11
        payload = wrapped.payload
        with self._session() as session, self._permitted(wrapped.version):
            kek = self._key(session, wrapped.version)
            if payload[:1] == bytes([_PAYLOAD_GCM]):
                self._capable(kek, wrapped.version, "decrypt", GCM)
                iv, body = payload[1 : 1 + _IV_LEN], payload[1 + _IV_LEN :]
                if len(iv) != _IV_LEN or len(body) != DEK_LEN + 16:  # SoftHSM takes any IV
                    raise NotMineError("the wrapped key has the wrong shape")
                from pkcs11.mechanisms import GCMParams  # noqa: PLC0415

                aad = wrap_ad(KIND, self.key_id, wrapped.version, ad.digest)
                try:
                    dek = kek.decrypt(
                        body,
                        mechanism=p11.Mechanism.AES_GCM,
                        mechanism_param=GCMParams(iv, aad, 128),
                    )
                except (
                    p11.exceptions.GeneralError,
                    p11.exceptions.EncryptedDataInvalid,
                    p11.exceptions.EncryptedDataLenRange,
                ) as exc:
                    # SoftHSM2 reports a failed GCM tag as CKR_GENERAL_ERROR
                    raise NotMineError(
                        "the wrapped key does not open under this HSM key "
                        "(another key or document, or altered)"
                    ) from exc
                return bytes(dek)
            if payload[:1] in (bytes([_PAYLOAD_KWP]), bytes([_PAYLOAD_KWP_BOUND])):
                bound = payload[0] == _PAYLOAD_KWP_BOUND
                self._capable(kek, wrapped.version, "unwrap_key", KWP)
                value = self._kwp_unwrap(kek, payload[1:], bound)
                if not bound:  # a wrap from before binding: commitment and MAC still hold
                    if len(value) != DEK_LEN:
                        raise NotMineError("the wrapped key has the wrong shape")
                    return value
                aad = wrap_ad(KIND, self.key_id, wrapped.version, ad.digest)
                if len(value) != DEK_LEN + _AD_HASH_LEN or not hmac.compare_digest(
                    value[DEK_LEN:], hashlib.sha256(aad).digest()
                ):
                    raise NotMineError(
                        "the wrapped key belongs to another document, key or version"
                    )
                return value[:DEK_LEN]
        raise NotMineError("unknown PKCS#11 wrapped-key payload")

    def _kwp_unwrap(self, kek: Any, wrapped: bytes, bound: bool) -> bytes:
        p11 = self._p11
        key_type = p11.KeyType.GENERIC_SECRET if bound else p11.KeyType.AES
        try:
            temp = kek.unwrap_key(
                p11.ObjectClass.SECRET_KEY,
                key_type,
                wrapped,
                mechanism=p11.Mechanism(self._kwp),
                template={
                    p11.Attribute.TOKEN: False,
                    p11.Attribute.EXTRACTABLE: True,
                    p11.Attribute.SENSITIVE: False,
                },
            )
        except p11.exceptions.PKCS11Error as exc:
            raise NotMineError("the wrapped key does not unwrap under this HSM key") from exc
        try:
            return bytes(temp[p11.Attribute.VALUE])
        finally:
            temp.destroy()

    def _capable(self, kek: Any, version: int, method: str, mechanism: str) -> Any:
        """The KEK, if it can do what ``mechanism`` needs (python-pkcs11's ``method``).

        python-pkcs11 gives a key object ``encrypt``/``wrap_key`` and so on
        only when the key has that capability; a key made for the other mode
        lacks it (docs/pkcs11.md).
        """
        if not callable(getattr(kek, method, None)):
            raise KeyProviderError(
                f"key {self._key_label!r} version {version} in token {self._token_label!r} "
                f"does not permit {mechanism} (was it made for the other mechanism?)"
            )
        return kek

    @contextmanager
    def _permitted(self, version: int) -> Iterator[None]:
        """A token that refuses the mechanism for this key: say so, in sealdoc's terms."""
        try:
            yield
        except self._p11.exceptions.MechanismInvalid as exc:  # CKA_ALLOWED_MECHANISMS says no
            raise KeyProviderError(
                f"key {self._key_label!r} version {version} in token {self._token_label!r} "
                f"does not permit {self._mechanism}"
            ) from exc

    # -- key management ---------------------------------------------------------------------

    def rotate(self) -> int:
        """Generate the next version of the key in the token and make it primary."""
        version = self.refresh()[-1] + 1
        label = f"{self._key_label}.v{version}"
        with self._session() as session:
            _generate(self._p11, session, label, self._mechanism, self._kwp)
        self._labels[version] = label
        self._primary = version
        return version

    # The same connection options as __init__, spelled out rather than shared:
    # both are public signatures that the docs and type checkers show.
    @classmethod
    def create_key(
        cls,
        *,
        module_path: str,
        token_label: str,
        key_label: str,
        pin: str | None = None,
        pin_file: str | os.PathLike[str] | None = None,
        pin_env: str = DEFAULT_PIN_ENV,
        mechanism: str = GCM,
        kwp_mechanism: int = KWP_SOFTHSM,
    ) -> None:
        """Create version 1 of a non-extractable AES-256 KEK in a token.

        The key may do only what ``mechanism`` needs (encrypt and decrypt for
        aes-gcm, wrap and unwrap for aes-kwp; CKA_ALLOWED_MECHANISMS where the
        token takes it), so pass the provider's ``mechanism`` here too. A key
        of that name already in the token is refused: make it once.
        """
        import pkcs11  # noqa: PLC0415

        if mechanism not in (GCM, KWP):
            raise ValueError(f"mechanism must be {GCM!r} or {KWP!r}")
        lib, lock = _module(module_path)
        secret = _read_pin(pin, pin_file, pin_env)
        with lock:
            try:
                token = lib.get_token(token_label=token_label)
                with _logged_in_session(pkcs11, token, secret) as session:
                    existing = _scan(pkcs11, session, key_label)
                    if existing:
                        found = sorted({label for labels in existing.values() for label in labels})
                        raise KeyProviderError(
                            f"token {token_label!r} already has key {key_label!r} "
                            f"({', '.join(found)}): it is made once; use Pkcs11(...) to seal "
                            "with it, and rotate() for a new version"
                        )
                    _generate(pkcs11, session, f"{key_label}.v1", mechanism, kwp_mechanism)
            except pkcs11.exceptions.PKCS11Error as exc:
                raise KeyProviderError(
                    f"cannot create key {key_label!r} in token {token_label!r}: "
                    f"{type(exc).__name__}"
                ) from exc

    def __dask_tokenize__(self) -> tuple[str, ...]:
        """Dask's token: kind, token and key labels, mechanism and module; never the PIN."""
        module = next((path for path, (lib, _) in _modules.items() if lib is self._lib), "?")
        return (KIND, self.key_id, self._mechanism, module)


def from_uri(uri: str, **options: Any) -> Pkcs11:
    """RFC 7512: ``pkcs11:token=T;object=K?module-path=/path.so&pin-source=file:/p``.

    ``pin-value`` is accepted as RFC 7512 allows, but a PIN in a URI ends up
    in logs: prefer ``pin-source``, or pass ``pin=`` or set SEALDOC_PKCS11_PIN.
    """
    if not uri.startswith("pkcs11:"):
        raise KeyUriError("a PKCS#11 URI starts with pkcs11:")
    path_part, _, query = uri[len("pkcs11:") :].partition("?")
    attrs: dict[str, str] = {}
    for item in filter(None, path_part.split(";")):
        name, sep, value = item.partition("=")
        if not sep:
            raise KeyUriError(f"bad PKCS#11 URI attribute {name!r}")
        attrs[name] = unquote(value)
    params = {k: v[0] for k, v in parse_qs(query).items()}
    module = params.get("module-path") or options.pop("module_path", None)
    if "token" not in attrs or "object" not in attrs or not module:
        raise KeyUriError("a PKCS#11 key URI needs token=, object= and ?module-path=")
    pin_source = params.get("pin-source")
    if pin_source is not None:
        options.setdefault("pin_file", pin_source.removeprefix("file:"))
    if "pin-value" in params:
        options.setdefault("pin", params["pin-value"])
    return Pkcs11(
        module_path=module, token_label=attrs["token"], key_label=attrs["object"], **options
    )
