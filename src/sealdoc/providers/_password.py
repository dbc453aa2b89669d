"""Password recipients: a document key wrapped under a key derived from a password.

For delivery to a customer (format.md 8.2). The KDF and its cost are stored
in the wrapped key and checked against bounds before any work is done, so a
crafted file can neither force a cheap KDF nor hang the reader with an
absurdly expensive one.
"""

from __future__ import annotations

import os
import struct
import unicodedata
from collections.abc import Callable, Sequence

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .._format import DEK_LEN, KeyRef, WrappedKey
from .._wrap_ad import check_key_id, wrap_ad
from ..exceptions import KdfBudgetError, NotMineError
from ._base import AssociatedData, instance_token

KIND = "password"
VERSION = 1
ARGON2ID = 1
PBKDF2_SHA256 = 2
KDF_NAMES = {ARGON2ID: "argon2id", PBKDF2_SHA256: "pbkdf2-sha256"}
_SALT_LEN = 16
_NONCE_LEN = 12
_KIB = 1024

# Defaults: Argon2id at 64 MiB and 3 passes (RFC 9106's second recommended
# setting, with libsodium's single lane); PBKDF2 at OWASP's 2023 figure for
# PBKDF2-HMAC-SHA256, for browsers (WebCrypto has no Argon2).
DEFAULT_ARGON2_MEMORY_KIB = 64 * _KIB
DEFAULT_ARGON2_ITERATIONS = 3
DEFAULT_PBKDF2_ITERATIONS = 600_000


@attrs.frozen
class KdfLimits:
    """What an opener accepts from a wrapped key's stored KDF parameters.

    The floors are OWASP's minimums (Argon2id: 19 MiB with 2 passes, or an
    equal memory-time product with no less than 7 MiB; PBKDF2-HMAC-SHA256:
    600,000 iterations). The ceilings bound the work a crafted file can ask
    of the reader: 1 GiB and 4 GiB-passes for Argon2id (libsodium's
    "sensitive" setting), 10,000,000 PBKDF2 iterations.
    """

    argon2_min_memory_kib: int = 7 * _KIB
    argon2_min_cost: int = 2 * 19 * _KIB  # memory (KiB) x passes
    argon2_max_memory_kib: int = 1024 * _KIB
    argon2_max_cost: int = 4 * 1024 * _KIB
    argon2_max_iterations: int = 16
    pbkdf2_min_iterations: int = 600_000
    pbkdf2_max_iterations: int = 10_000_000

    def check_argon2(self, memory_kib: int, iterations: int) -> None:
        if iterations < 1 or iterations > self.argon2_max_iterations:
            raise ValueError(
                f"Argon2id passes {iterations} are outside 1..{self.argon2_max_iterations}"
            )
        cost = memory_kib * iterations
        if memory_kib < self.argon2_min_memory_kib or cost < self.argon2_min_cost:
            raise ValueError(
                f"Argon2id at {memory_kib} KiB x {iterations} passes is below the minimum "
                f"cost ({self.argon2_min_memory_kib} KiB, {self.argon2_min_cost} KiB-passes): "
                "a file must not choose a cheap KDF"
            )
        if memory_kib > self.argon2_max_memory_kib or cost > self.argon2_max_cost:
            raise ValueError(
                f"Argon2id at {memory_kib} KiB x {iterations} passes is above the limit "
                f"({self.argon2_max_memory_kib} KiB, {self.argon2_max_cost} KiB-passes)"
            )

    def check_pbkdf2(self, iterations: int) -> None:
        if not self.pbkdf2_min_iterations <= iterations <= self.pbkdf2_max_iterations:
            raise ValueError(
                f"PBKDF2 iterations {iterations} are outside "
                f"{self.pbkdf2_min_iterations}..{self.pbkdf2_max_iterations}"
            )


@attrs.frozen
class KdfBudget:
    """How much password-KDF work one opener spends on one document (format.md 8.2).

    :class:`KdfLimits` says which parameters are valid at all; this says
    which an opener is willing to pay for. A document whose password wraps
    ask for more (per KDF, or summed over the wraps the opener would try)
    is refused with :class:`~sealdoc.exceptions.KdfBudgetError` before any
    KDF runs. The default is for a service opening uploads: twice the
    memory and work of the default parameters per KDF, and four default
    KDFs of each kind per document (about 0.6 s of one core and 128 MiB at
    most on a 2020s server), so everything sealdoc writes with its
    defaults, and what ``deliver`` writes, opens. On a customer's own
    device, opening their own documents, :meth:`device` allows all the
    format's valid parameters (what opening cost before the budget).
    """

    #: Argon2id memory per KDF, KiB (the peak memory of an open).
    argon2_max_memory_kib: int = 2 * DEFAULT_ARGON2_MEMORY_KIB
    #: Argon2id memory x passes per KDF, KiB-passes (its time).
    argon2_max_cost: int = 2 * DEFAULT_ARGON2_MEMORY_KIB * DEFAULT_ARGON2_ITERATIONS
    #: Argon2id memory x passes summed over the document's tried wraps.
    argon2_max_document_cost: int = 4 * DEFAULT_ARGON2_MEMORY_KIB * DEFAULT_ARGON2_ITERATIONS
    #: PBKDF2 iterations per KDF.
    pbkdf2_max_iterations: int = 2 * DEFAULT_PBKDF2_ITERATIONS
    #: PBKDF2 iterations summed over the document's tried wraps.
    pbkdf2_max_document_iterations: int = 4 * DEFAULT_PBKDF2_ITERATIONS

    @classmethod
    def device(cls) -> KdfBudget:
        """Every valid parameter (KdfLimits' ceilings), for a customer's own device."""
        ceilings = KdfLimits()
        return cls(
            argon2_max_memory_kib=ceilings.argon2_max_memory_kib,
            argon2_max_cost=ceilings.argon2_max_cost,
            argon2_max_document_cost=4 * ceilings.argon2_max_cost,
            pbkdf2_max_iterations=ceilings.pbkdf2_max_iterations,
            pbkdf2_max_document_iterations=4 * ceilings.pbkdf2_max_iterations,
        )

    def check(self, costs: Sequence[tuple[int, int, int]]) -> None:
        """Refuse ``costs``, (kdf, memory KiB, passes or iterations) per KDF, if over budget."""
        argon2 = pbkdf2 = 0
        for kdf, memory_kib, work in costs:
            if kdf == ARGON2ID:
                if (
                    memory_kib > self.argon2_max_memory_kib
                    or memory_kib * work > self.argon2_max_cost
                ):
                    self._refuse(
                        f"an Argon2id wrap asks for {memory_kib:,} KiB x {work} passes; this "
                        f"opener allows {self.argon2_max_memory_kib:,} KiB and "
                        f"{self.argon2_max_cost:,} KiB-passes per KDF"
                    )
                argon2 += memory_kib * work
            else:
                if work > self.pbkdf2_max_iterations:
                    self._refuse(
                        f"a PBKDF2 wrap asks for {work:,} iterations; this opener allows "
                        f"{self.pbkdf2_max_iterations:,} per KDF"
                    )
                pbkdf2 += work
        if argon2 > self.argon2_max_document_cost:
            self._refuse(
                f"its Argon2id wraps ask for {argon2:,} KiB-passes in all; this opener "
                f"allows {self.argon2_max_document_cost:,} per document"
            )
        if pbkdf2 > self.pbkdf2_max_document_iterations:
            self._refuse(
                f"its PBKDF2 wraps ask for {pbkdf2:,} iterations in all; this opener "
                f"allows {self.pbkdf2_max_document_iterations:,} per document"
            )

    @staticmethod
    def _refuse(what: str) -> None:
        raise KdfBudgetError(
            f"refused before any KDF ran: {what}. If the document comes from a source "
            "you trust (a customer's own device), open it with "
            "Password(..., budget=KdfBudget.device()) or a KdfBudget of your own"
        )


def password_bytes(password: str) -> bytes:
    """UTF-8 of the NFC form, so a password typed on a phone and on a PC agree."""
    if not isinstance(password, str):
        raise TypeError(f"a password is a str, not {type(password).__name__}")
    if not password:
        raise ValueError("the password is empty")
    return unicodedata.normalize("NFC", password).encode("utf-8")


class Password:
    """A recipient that wraps the document key under a password.

    Seal or deliver with it; open with the same password. ``kdf`` is
    ``"argon2id"`` (the default, through PyNaCl) or ``"pbkdf2-sha256"``
    (what a browser can compute, for the self-decrypting HTML export).
    ``limits`` bounds the KDF parameters accepted when opening (a wrap
    outside them is declined), ``budget`` the KDF work one open may spend
    (a document over it is refused before any KDF runs; :class:`KdfBudget`).

    >>> import sealdoc
    >>> from sealdoc.providers import Password
    >>> sealed = sealdoc.seal(b"statement", keys=Password("correct horse battery"))
    >>> sealdoc.open(sealed, keys=Password("correct horse battery"))
    b'statement'

    The password never appears in ``repr()`` or in an error. Apply
    :func:`sealdoc.check_password` before delivery: a Password takes what it
    is given.
    """

    kind = KIND
    #: A document holds one password wrap, or a few (several recipients).
    #: Opening tries at most this many, each a full KDF, so a crafted file
    #: with 32 maximum-cost wraps cannot hang the reader.
    max_unwraps_per_document = 4

    def __init__(
        self,
        password: str,
        *,
        kdf: str = "argon2id",
        memory_kib: int = DEFAULT_ARGON2_MEMORY_KIB,
        iterations: int | None = None,
        label: str = "password",
        limits: KdfLimits | None = None,
        budget: KdfBudget | None = None,
        _randbytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._secret = password_bytes(password)
        self._label = check_key_id(label)
        self._limits = limits or KdfLimits()
        self._budget = budget or KdfBudget()
        self._randbytes = _randbytes
        if kdf == "argon2id":
            self._kdf = ARGON2ID
            self._iterations = DEFAULT_ARGON2_ITERATIONS if iterations is None else iterations
            self._memory_kib = memory_kib
            self._limits.check_argon2(memory_kib, self._iterations)
        elif kdf == "pbkdf2-sha256":
            self._kdf = PBKDF2_SHA256
            self._iterations = DEFAULT_PBKDF2_ITERATIONS if iterations is None else iterations
            self._memory_kib = 0
            self._limits.check_pbkdf2(self._iterations)
        else:
            raise ValueError(f"unknown kdf {kdf!r}: 'argon2id' or 'pbkdf2-sha256'")

    def __repr__(self) -> str:
        cost = (
            f"memory_kib={self._memory_kib}, iterations={self._iterations}"
            if self._kdf == ARGON2ID
            else f"iterations={self._iterations}"
        )
        return f"Password(<hidden>, kdf={KDF_NAMES[self._kdf]!r}, {cost}, label={self._label!r})"

    __str__ = __repr__

    # -- the provider protocol ----------------------------------------------------

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        if len(dek) != DEK_LEN:
            raise ValueError(f"a document key is {DEK_LEN} bytes")
        if self._kdf == ARGON2ID:
            params = struct.pack(">BII", ARGON2ID, self._memory_kib, self._iterations)
        else:
            params = struct.pack(">BI", PBKDF2_SHA256, self._iterations)
        salt = self._randbytes(_SALT_LEN)
        nonce = self._randbytes(_NONCE_LEN)
        kek = self._derive(params, salt)
        sealed = AESGCM(kek).encrypt(nonce, dek, self._aad(ad, params))
        return WrappedKey(KIND, self._label, VERSION, params + salt + nonce + sealed)

    def handles(self, wrapped: WrappedKey) -> bool:
        # Any password wrap: the label is descriptive, and the customer who
        # types a password does not know it.
        return wrapped.kind == KIND

    def check_cost(self, wrapped_keys: Sequence[WrappedKey]) -> None:
        """Refuse the document if the wraps this password would try are over budget (CostlyUnwrap).

        The wraps tried are the first ``max_unwraps_per_document`` password
        wraps in header order (format.md 9.1); those that would be declined
        unread (version, length, KDF id, bounds) cost nothing.
        """
        mine = [w for w in wrapped_keys if w.kind == KIND][: self.max_unwraps_per_document]
        costs = []
        for wrapped in mine:
            try:
                params, _ = _split_params(wrapped, self._limits)
            except ValueError:
                continue
            if params[0] == ARGON2ID:
                _, memory_kib, iterations = struct.unpack(">BII", params)
                costs.append((ARGON2ID, memory_kib, iterations))
            else:
                _, iterations = struct.unpack(">BI", params)
                costs.append((PBKDF2_SHA256, 0, iterations))
        self._budget.check(costs)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        if wrapped.kind != KIND:
            raise NotMineError(f"a {wrapped.kind} key, not a password")
        try:
            params, rest = _split_params(wrapped, self._limits)
        except ValueError as exc:
            # a crafted or damaged wrap: refused before any KDF work is done
            raise NotMineError(f"refused: {exc}") from None
        salt, nonce = rest[:_SALT_LEN], rest[_SALT_LEN : _SALT_LEN + _NONCE_LEN]
        body = rest[_SALT_LEN + _NONCE_LEN :]
        kek = self._derive(params, salt)
        aad = wrap_ad(KIND, wrapped.key_id, wrapped.version, ad.digest) + params
        try:
            return AESGCM(kek).decrypt(nonce, body, aad)
        except InvalidTag:
            raise NotMineError(
                "the password does not open it (wrong password, or altered)"
            ) from None

    def current_key(self) -> KeyRef:
        return KeyRef(KIND, self._label, VERSION)

    def __dask_tokenize__(self) -> tuple[str, ...]:
        """Dask's token: kind, label and this object; never the password or a hash of it."""
        return (KIND, self._label, instance_token(self))

    # -- internals ------------------------------------------------------------------

    def _aad(self, ad: AssociatedData, params: bytes) -> bytes:
        return wrap_ad(KIND, self._label, VERSION, ad.digest) + params

    def _derive(self, params: bytes, salt: bytes) -> bytes:
        if params[0] == ARGON2ID:
            from nacl.pwhash import argon2id  # noqa: PLC0415 - loaded by the first password wrap

            _, memory_kib, iterations = struct.unpack(">BII", params)
            return bytes(
                argon2id.kdf(
                    32, self._secret, salt, opslimit=iterations, memlimit=memory_kib * _KIB
                )
            )
        _, iterations = struct.unpack(">BI", params)
        return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(self._secret)


def _split_params(wrapped: WrappedKey, limits: KdfLimits) -> tuple[bytes, bytes]:
    """The KDF parameter block, checked against ``limits``, and the rest (salt, nonce, key)."""
    if wrapped.version != VERSION:
        raise ValueError(f"unknown password wrap version {wrapped.version}")
    payload = wrapped.payload
    kdf = payload[0] if payload else 0
    if kdf == ARGON2ID and len(payload) >= 9:
        _, memory_kib, iterations = struct.unpack(">BII", payload[:9])
        limits.check_argon2(memory_kib, iterations)
        params, rest = payload[:9], payload[9:]
    elif kdf == PBKDF2_SHA256 and len(payload) >= 5:
        _, iterations = struct.unpack(">BI", payload[:5])
        limits.check_pbkdf2(iterations)
        params, rest = payload[:5], payload[5:]
    else:
        raise ValueError(f"unknown password KDF {kdf}")
    if len(rest) != _SALT_LEN + _NONCE_LEN + DEK_LEN + 16:
        raise ValueError("a password wrap has the wrong length")
    return params, rest


def describe(wrapped: WrappedKey) -> dict[str, int | str]:
    """A password wrap's public KDF parameters, for ``sealdoc inspect``."""
    payload = wrapped.payload
    if payload[:1] == bytes([ARGON2ID]) and len(payload) >= 9:
        _, memory_kib, iterations = struct.unpack(">BII", payload[:9])
        return {"kdf": "argon2id", "memory_kib": memory_kib, "iterations": iterations}
    if payload[:1] == bytes([PBKDF2_SHA256]) and len(payload) >= 5:
        _, iterations = struct.unpack(">BI", payload[:5])
        return {"kdf": "pbkdf2-sha256", "iterations": iterations}
    return {"kdf": "unknown"}
