"""Post-quantum device recipients: a document key wrapped for a hybrid ML-KEM-768 + X25519 key.

format.md 8.6. The wrap is HPKE (RFC 9180) in base mode, single shot, with
the hybrid KEM MLKEM768-X25519 (draft-ietf-hpke-pq, the X-Wing combiner),
HKDF-SHA256 and AES-256-GCM, the same shape as the ``x25519`` wrap (8.3)
with a KEM that a quantum computer does not break. The keys are age's
(``age1pq1...`` recipients, ``AGE-SECRET-KEY-PQ-1...`` identities), so an
age identity opens sealdoc copies and the other way round.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from .._age import keys as age_keys
from .._atomic import atomic_file
from .._envelope import open as open_document
from .._envelope import seal
from .._format import DEK_LEN, MAGIC, MAX_KEYS, InternalMap, KeyRef, WrappedKey
from .._wrap_ad import check_key_id
from ..exceptions import FormatError
from ._base import AssociatedData
from ._hpke_wrap import DeviceRecipient, open_wrap
from ._password import Password

KIND = age_keys.HYBRID
VERSION = 1
_SUITE = Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
ENC_LEN = 1120  # ML-KEM-768 ciphertext (1,088) || X25519 ephemeral share (32)
PAYLOAD_LEN = ENC_LEN + DEK_LEN + 16
_CONTENT = {"sealdoc:content": "mlkem768x25519-identity"}


def _public_of(value: object) -> bytes:
    if isinstance(value, str):
        kind, raw = age_keys.parse_recipient(value)
        if kind != KIND:
            raise ValueError("an age1 X25519 recipient, not a hybrid age1pq1 one")
        return raw
    if isinstance(value, bytes):
        age_keys.hybrid_public(value)  # refuses a wrong length or a bad key
        return value
    raise TypeError(
        f"a hybrid recipient is an age1pq1... string or 1,216 bytes, not {type(value).__name__}"
    )


class HybridRecipient(DeviceRecipient):
    """A device's post-quantum public key (``age1pq1...``): seals for the device, opens nothing.

    ``label`` goes in the wrapped key's id (default ``device``); it should
    not name the customer.
    """

    kind = KIND
    _suite = _SUITE
    _opener = "HybridIdentity"

    def __init__(self, public_key: str | bytes, *, label: str = "device") -> None:
        self._raw = _public_of(public_key)
        self._public = age_keys.hybrid_public(self._raw)
        self._label = check_key_id(label)

    @property
    def recipient(self) -> str:
        """The ``age1pq1...`` string: safe to publish, to print, to store."""
        return age_keys.format_recipient(KIND, self._raw)

    def __repr__(self) -> str:
        short = self.recipient
        return f"HybridRecipient({short[:16]}...{short[-8:]}, label={self._label!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (HybridRecipient, (self._raw,), {"_label": self._label})

    def __setstate__(self, state: dict[str, str]) -> None:
        self._label = state["_label"]


class HybridIdentity:
    """A device's post-quantum private key: an age ``AGE-SECRET-KEY-PQ-1...`` identity.

    Make one with :meth:`generate`, keep it with :meth:`save` (an age
    identity file, 0600, that ``age -d -i`` also reads; or sealed under a
    passphrase) and :meth:`load`. Give :attr:`recipient` to whoever seals
    for this device.
    """

    kind = KIND
    #: Every device wrap carries the same label, so an identity tries each of
    #: them (format.md 9.1); one decapsulation costs about as much as an X25519.
    max_unwraps_per_document = MAX_KEYS

    def __init__(self, seed: bytes, *, label: str = "device") -> None:
        self._seed = bytes(seed)
        self._private, self._raw_public = age_keys.hybrid_private(self._seed)
        self._label = check_key_id(label)

    @classmethod
    def generate(cls, *, label: str = "device") -> HybridIdentity:
        return cls(os.urandom(age_keys.SEED_LEN), label=label)

    @classmethod
    def from_string(cls, text: str, *, label: str = "device") -> HybridIdentity:
        """From an ``AGE-SECRET-KEY-PQ-1...`` string."""
        kind, seed = age_keys.parse_identity(text)
        if kind != KIND:
            raise ValueError("an AGE-SECRET-KEY-1 X25519 identity, not a hybrid one")
        return cls(seed, label=label)

    def to_string(self) -> str:
        """The ``AGE-SECRET-KEY-PQ-1...`` string. Handle with care."""
        return age_keys.format_identity(KIND, self._seed)

    @property
    def recipient(self) -> str:
        return age_keys.format_recipient(KIND, self._raw_public)

    def to_recipient(self) -> HybridRecipient:
        return HybridRecipient(self._raw_public, label=self._label)

    def hpke_private_key(self) -> Any:
        """The HPKE private key (for age files); never leaves the process."""
        return self._private

    def __repr__(self) -> str:
        return f"HybridIdentity(<private>, recipient={self.recipient[:16]}...)"

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        overwrite: bool = True,
    ) -> None:
        """Write this identity to ``path`` (mode 0600, atomically).

        Without ``passphrase``, an age identity file (what ``age-keygen -pq``
        writes); with one, a sealed document holding it (Argon2id).
        """
        text = (
            f"# created: {datetime.now(timezone.utc).replace(microsecond=0).isoformat()}\n"
            f"# public key: {self.recipient}\n"
            f"{self.to_string()}\n"
        ).encode("ascii")
        if passphrase is not None:
            text = seal(text, keys=Password(passphrase), context=InternalMap(_CONTENT))
        with atomic_file(Path(path), overwrite=overwrite) as fh:
            fh.write(text)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | None = None,
        label: str = "device",
    ) -> HybridIdentity:
        """Read an identity written by :meth:`save`, ``age-keygen -pq`` or the TypeScript age."""
        found = load_identity_text(path, passphrase=passphrase)
        for line in found.splitlines():
            if line.startswith("AGE-SECRET-KEY-PQ-1"):
                return cls.from_string(line, label=label)
        raise FormatError(f"{os.fspath(path)} holds no AGE-SECRET-KEY-PQ-1 identity")

    # -- the provider protocol --------------------------------------------------------

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return self.to_recipient().wrap(dek, ad)

    def handles(self, wrapped: WrappedKey) -> bool:
        return wrapped.kind == KIND

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        return open_wrap(
            _SUITE, self._private, wrapped, ad, kind=KIND, payload_len=PAYLOAD_LEN, named="a hybrid"
        )

    def current_key(self) -> KeyRef:
        return KeyRef(KIND, self._label, VERSION)

    def __dask_tokenize__(self) -> tuple[str, ...]:
        return (KIND, self._label, self.recipient)


def load_identity_text(path: str | os.PathLike[str], *, passphrase: str | None) -> str:
    """An identity file's text: an age-style file in the clear, or one sealed under a passphrase."""
    data = Path(path).read_bytes()
    if data.startswith(MAGIC):
        if passphrase is None:
            raise ValueError(f"{os.fspath(path)} is protected: give passphrase=")
        return open_document(data, keys=Password(passphrase), context=_CONTENT).decode("ascii")
    return data.decode("ascii", "replace")
