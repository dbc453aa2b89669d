"""Device recipients: a document key wrapped for an X25519 public key (format.md 8.3).

The wrap is HPKE (RFC 9180) in base mode, single shot, with
DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, and the format's
wrap associated data as HPKE ``info``. It is the standard construction that
mobile platforms ship (Apple CryptoKit's HPKE, Tink on Android), so an app
holding a device key can open a document without sealdoc. A sealed box
(libsodium ``crypto_box_seal``) cannot carry associated data, so it could
not bind the wrap to its document.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from .._age import keys as age_keys
from .._atomic import atomic_file
from .._codec import url_b64decode, url_b64encode

# save/load(passphrase=) keep the identity file as a sealed document. The
# envelope imports only sealdoc._provider_api, never this package: no cycle.
from .._envelope import open as open_document
from .._envelope import seal
from .._format import DEK_LEN, MAGIC, MAX_KEYS, InternalMap, KeyRef, WrappedKey
from .._wrap_ad import check_key_id
from ..exceptions import FormatError, KeyUriError
from ._base import AssociatedData
from ._hpke_wrap import DeviceRecipient, open_wrap
from ._hybrid import HybridRecipient
from ._password import Password

KIND = "x25519"
VERSION = 1
RECIPIENT_PREFIX = "x25519:"
_IDENTITY_PREFIX = "SEALDOC-X25519-IDENTITY:"
_AGE_IDENTITY_PREFIX = "AGE-SECRET-KEY-1"
_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_ENC_LEN = 32
_PAYLOAD_LEN = _ENC_LEN + DEK_LEN + 16
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = url_b64decode(text)
    except ValueError:  # binascii.Error is one
        raise ValueError(f"{what} is not base64url") from None
    if len(raw) != 32:
        raise ValueError(f"{what} must decode to 32 bytes")
    return raw


def _public_bytes(key: x25519.X25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, _RAW_PUBLIC)


class X25519Recipient(DeviceRecipient):
    """A device's public key: seals for the device, opens nothing.

    ``public_key`` is the recipient string (``x25519:`` and 43 base64url
    characters, what :attr:`X25519Identity.recipient` gives), the 32 raw
    bytes, or a PyNaCl ``PublicKey``. ``label`` goes in the wrapped key's
    public key id (default ``device``); it should not name the customer.
    """

    kind = KIND
    _suite = _SUITE
    _opener = "X25519Identity"

    def __init__(self, public_key: str | bytes | object, *, label: str = "device") -> None:
        self._public = x25519.X25519PublicKey.from_public_bytes(_raw_public(public_key))
        self._label = check_key_id(label)

    @property
    def recipient(self) -> str:
        """The recipient string: safe to publish, to print, to store."""
        return RECIPIENT_PREFIX + url_b64encode(_public_bytes(self._public))

    def __repr__(self) -> str:
        return f"X25519Recipient({self.recipient!r}, label={self._label!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A public key: safe to pickle, so an ETL job on worker processes can seal for it.
        return (_recipient, (self.recipient, self._label))


class X25519Identity:
    """A device's private key: opens what was sealed for its recipient, and seals too.

    Make one with :meth:`generate`; keep it with :meth:`save` (a 0600 file,
    optionally sealed under a passphrase) and :meth:`load`, or in the
    platform's key store through :meth:`private_bytes` and
    :meth:`from_private_bytes`. Give :attr:`recipient` to whoever seals for
    this device.
    """

    kind = KIND
    #: Every device wrap carries the same label, so an identity tries each of
    #: them (format.md 9.1); a try is one X25519 and costs little.
    max_unwraps_per_document = MAX_KEYS

    def __init__(self, private_key: x25519.X25519PrivateKey, *, label: str = "device") -> None:
        self._private = private_key
        self._public = private_key.public_key()
        self._label = check_key_id(label)

    @classmethod
    def generate(cls, *, label: str = "device") -> X25519Identity:
        return cls(x25519.X25519PrivateKey.generate(), label=label)

    @classmethod
    def from_private_bytes(cls, raw: bytes, *, label: str = "device") -> X25519Identity:
        """From 32 raw private-key bytes (as PyNaCl's ``bytes(PrivateKey)`` gives)."""
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise ValueError("an X25519 private key is 32 bytes")
        return cls(x25519.X25519PrivateKey.from_private_bytes(raw), label=label)

    def private_bytes(self) -> bytes:
        """The 32 raw private-key bytes, for a platform key store. Handle with care."""
        return self._private.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def recipient(self) -> str:
        return RECIPIENT_PREFIX + url_b64encode(_public_bytes(self._public))

    def to_recipient(self) -> X25519Recipient:
        return X25519Recipient(self.recipient, label=self._label)

    def __repr__(self) -> str:
        return f"X25519Identity(<private>, recipient={self.recipient!r})"

    # -- files ----------------------------------------------------------------------

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        overwrite: bool = True,
    ) -> None:
        """Write this identity to ``path`` (mode 0600, atomically).

        With ``passphrase``, the file is a sealed document holding the key,
        wrapped under the passphrase (Argon2id, :class:`Password`); without,
        a text file in the clear, like an SSH or age key. ``overwrite=False``
        never replaces a file at ``path``, even one that appears while the
        identity is being written: FileExistsError, and that file stays.
        """
        raw = self.private_bytes()
        if passphrase is not None:
            data = seal(
                raw,
                keys=Password(passphrase),
                context=InternalMap({"sealdoc:content": "x25519-identity"}),
            )
        else:
            data = (
                "# sealdoc X25519 identity: a device's private key. Keep it secret.\n"
                f"# recipient: {self.recipient}\n"
                f"{_IDENTITY_PREFIX}{url_b64encode(raw)}\n"
            ).encode("ascii")
        with atomic_file(Path(path), overwrite=overwrite) as fh:
            fh.write(data)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        label: str = "device",
    ) -> X25519Identity:
        """Read an identity written by :meth:`save`."""
        data = Path(path).read_bytes()
        if data.startswith(MAGIC):
            if passphrase is None:
                raise ValueError(f"{os.fspath(path)} is protected: give passphrase=")
            raw = open_document(
                data,
                keys=Password(passphrase),
                context={"sealdoc:content": "x25519-identity"},
            )
            return cls.from_private_bytes(raw, label=label)
        for line in data.decode("ascii", "replace").splitlines():
            if line.startswith(_IDENTITY_PREFIX):
                raw = _unb64(line[len(_IDENTITY_PREFIX) :].strip(), "the identity")
                return cls.from_private_bytes(raw, label=label)
            if line.startswith(_AGE_IDENTITY_PREFIX):  # what age-keygen writes
                return cls.from_age_string(line, label=label)
        raise FormatError(f"{os.fspath(path)} is not a sealdoc X25519 identity file")

    @classmethod
    def from_age_string(cls, text: str, *, label: str = "device") -> X25519Identity:
        """From age's ``AGE-SECRET-KEY-1...`` string."""
        kind, seed = age_keys.parse_identity(text)
        if kind != KIND:
            raise ValueError("a hybrid AGE-SECRET-KEY-PQ-1 identity: use HybridIdentity")
        return cls.from_private_bytes(seed, label=label)

    def to_age_string(self) -> str:
        """age's ``AGE-SECRET-KEY-1...`` string of this identity. Handle with care."""
        return age_keys.format_identity(KIND, self.private_bytes())

    @property
    def age_recipient(self) -> str:
        """age's ``age1...`` string of this identity's public key."""
        return age_keys.format_recipient(KIND, _public_bytes(self._public))

    # -- the provider protocol --------------------------------------------------------

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return self.to_recipient().wrap(dek, ad)

    def handles(self, wrapped: WrappedKey) -> bool:
        # The key id is a label, not the public key (a stolen copy should not
        # say which device it is for), so an identity tries every X25519 wrap.
        return wrapped.kind == KIND

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        return open_wrap(
            _SUITE,
            self._private,
            wrapped,
            ad,
            kind=KIND,
            payload_len=_PAYLOAD_LEN,
            named="an X25519",
        )

    def current_key(self) -> KeyRef:
        return KeyRef(KIND, self._label, VERSION)

    def __dask_tokenize__(self) -> tuple[str, ...]:
        """Dask's token: kind, label and the public half; never the private key."""
        return (KIND, self._label, self.recipient)


def _raw_public(value: object) -> bytes:
    if isinstance(value, str):
        if value.startswith("age1"):  # age's encoding of the same key
            kind, raw = age_keys.parse_recipient(value)
            if kind != KIND:
                raise ValueError("a hybrid age1pq1 recipient: use HybridRecipient")
            return raw
        if not value.startswith(RECIPIENT_PREFIX):
            raise ValueError(f"a recipient string starts with {RECIPIENT_PREFIX!r} or age1")
        return _unb64(value[len(RECIPIENT_PREFIX) :], "the recipient")
    if isinstance(value, bytes):
        raw = value
    elif hasattr(type(value), "__bytes__"):  # a PyNaCl PublicKey
        raw = bytes(value)  # type: ignore[call-overload]
    else:
        raise TypeError(
            f"a recipient is a recipient string, 32 bytes or a PyNaCl PublicKey, "
            f"not {type(value).__name__}"
        )
    if len(raw) != 32:
        raise ValueError("an X25519 public key is 32 bytes")
    return raw


def recipient_from_uri(uri: str, **_options: object) -> X25519Recipient | HybridRecipient:
    """The ``x25519:`` key-URI scheme, and age's ``age1...``/``age1pq1...`` recipients.

    A recipient string names a device. Errors name the problem, never a
    bech32 internal, and quote only the start of a long string.
    """
    shown = uri if len(uri) <= 80 else uri[:40] + "..."
    hybrid = uri.startswith("age1pq1")
    try:
        return HybridRecipient(uri) if hybrid else X25519Recipient(uri)
    except ValueError as exc:
        what = "a hybrid (age1pq1)" if hybrid else "an X25519"
        raise KeyUriError(f"{shown!r} is not {what} recipient: {exc}") from None


def _recipient(recipient: str, label: str) -> X25519Recipient:
    """Unpickles an X25519Recipient (its recipient string and label)."""
    return X25519Recipient(recipient, label=label)
