"""AwsKms: document keys wrapped by an AWS KMS key (boto3; extra ``aws``).

Wrap is KMS ``Encrypt`` of the document key, unwrap is ``Decrypt``. The KMS
encryption context carries the document's context, its binding and its
header digest, so the key's CloudTrail log says which document each call was
for, and a wrapped key moved to another document fails at KMS.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from .._codec import std_b64encode
from .._format import KeyRef, WrappedKey
from ..exceptions import KeyProviderError, KeyUriError, NotMineError
from ._base import AssociatedData

KIND = "aws-kms"
_DIGEST_KEY = "sealdoc:header"
_BINDING_PREFIX = "sealdoc:binding:"
# Errors that mean "this key cannot open that", not "KMS failed".
_NOT_MINE = {"InvalidCiphertextException", "IncorrectKeyException"}
_OUT_OF_SERVICE = {"DisabledException", "KMSInvalidStateException"}


@attrs.define
class DekCache:
    """An opt-in cache of unwrapped document keys, bounded by age, uses and size.

    It saves a KMS ``Decrypt`` each time the same document is opened again
    within ``max_age`` seconds. It holds document keys in memory: only a
    process that may hold them anyway should use one. There is deliberately
    no cache of *data keys* for sealing: every document gets a fresh key.
    """

    max_age: float = 300.0
    max_uses: int = 1000
    max_entries: int = 10_000
    _entries: OrderedDict[bytes, list[Any]] = attrs.field(factory=OrderedDict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def __repr__(self) -> str:
        size = len(self._entries)
        return f"DekCache(max_age={self.max_age}, max_uses={self.max_uses}, entries={size})"

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            dek, born, uses = entry
            if time.monotonic() - born > self.max_age or uses >= self.max_uses:
                del self._entries[key]
                return None
            entry[2] = uses + 1
            return dek  # type: ignore[no-any-return]

    def put(self, key: bytes, dek: bytes) -> None:
        with self._lock:
            self._entries[key] = [dek, time.monotonic(), 1]
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class AwsKms:
    """A key provider backed by one AWS KMS key (id, ARN, alias ARN or ``alias/name``).

    ``client`` is a boto3 KMS client (made from ``region``/``endpoint_url``
    and the usual AWS environment when not given), with botocore's standard
    retries: throttling and network faults are retried with backoff, then
    raised as :class:`KeyProviderError` with the cause kept.
    """

    kind = KIND

    def __init__(
        self,
        key: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        cache: DekCache | None = None,
        max_attempts: int = 5,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError("key must be a KMS key id, ARN or alias (a non-empty str)")
        self._key = key
        self._cache = cache
        self._arn: str | None = key if ":key/" in key else None
        self._arn_lock = threading.Lock()
        if client is None:
            import boto3  # noqa: PLC0415 - the optional extra 'aws', needed only here
            from botocore.config import Config  # noqa: PLC0415

            client = boto3.client(
                "kms",
                region_name=region or _region_of(key),
                endpoint_url=endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": max_attempts}),
            )
        self._client = client
        self._calls_lock = threading.Lock()
        self.calls = 0
        """KMS requests made (Encrypt, Decrypt, DescribeKey), for cost tracking."""

    def __repr__(self) -> str:
        return f"AwsKms({self._key!r})"

    # -- the provider protocol --------------------------------------------------------

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        response = self._call(
            "Encrypt", KeyId=self._key, Plaintext=dek, EncryptionContext=_context(ad)
        )
        arn = str(response["KeyId"])
        return WrappedKey(kind=KIND, key_id=arn, version=0, payload=response["CiphertextBlob"])

    def handles(self, wrapped: WrappedKey) -> bool:
        if wrapped.kind != KIND:
            return False
        return _same_key(wrapped.key_id, self.key_arn())

    def budget_key(self, wrapped: WrappedKey) -> str:
        """The key id without region or account (BudgetKey).

        A multi-region key's replicas answer under one ``mrk-`` id in every
        region's ARN, and every version of a wrap is the one KMS key: a
        crafted document naming them all still gets two Decrypt calls.
        """
        return _key_part(wrapped.key_id)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        if wrapped.kind != KIND:
            raise NotMineError(f"a {wrapped.kind} key, not an AWS KMS one")
        context = _context(ad)
        cache_key = b""
        if self._cache is not None:
            cache_key = wrapped.payload + repr(sorted(context.items())).encode()
            cached = self._cache.get(cache_key)
            if cached is not None:
                return cached
        response = self._call(
            "Decrypt",
            CiphertextBlob=wrapped.payload,
            KeyId=self.key_arn(),  # this region's replica, for a multi-region key
            EncryptionContext=context,
        )
        dek = bytes(response["Plaintext"])
        if self._cache is not None:
            self._cache.put(cache_key, dek)
        return dek

    def current_key(self) -> KeyRef:
        """KMS rotates key material itself; a document is current once wrapped by this key."""
        return KeyRef(KIND, self.key_arn(), 0)

    # -- KMS ---------------------------------------------------------------------------

    def key_arn(self) -> str:
        """The key's ARN (an alias is resolved once, with DescribeKey)."""
        with self._arn_lock:
            if self._arn is None:
                self._arn = str(self._call("DescribeKey", KeyId=self._key)["KeyMetadata"]["Arn"])
            return self._arn

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - extra 'aws'

        method = getattr(self._client, _SNAKE[operation])
        with self._calls_lock:  # the provider is shared by threads
            self.calls += 1
        try:
            return method(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_MINE:
                raise NotMineError(
                    f"KMS could not decrypt it with {self._key} "
                    "(another key, another document or context, or altered)"
                ) from None
            if code in _OUT_OF_SERVICE:
                raise KeyProviderError(
                    f"KMS key {self._key} is disabled or pending deletion ({code})"
                ) from exc
            if code == "NotFoundException":
                raise KeyProviderError(
                    f"KMS key {self._key} was not found in {self._region()}: "
                    "check the key id or alias and the region"
                ) from exc
            if code in ("AccessDeniedException", "AccessDenied"):
                raise KeyProviderError(
                    f"access to KMS key {self._key} was denied for {operation}: check the "
                    "key policy and the caller's IAM permissions"
                ) from exc
            raise KeyProviderError(f"KMS {operation} failed for {self._key}: {code}") from exc
        except BotoCoreError as exc:
            raise KeyProviderError(
                f"KMS could not be reached for {operation} on {self._key} in {self._region()}: "
                f"{type(exc).__name__}"
            ) from exc

    def _region(self) -> str:
        return str(getattr(getattr(self._client, "meta", None), "region_name", "?"))

    def __dask_tokenize__(self) -> tuple[str, ...]:
        """Dask's token: kind, the key as given, and where its KMS is (region, endpoint)."""
        endpoint = getattr(getattr(self._client, "meta", None), "endpoint_url", "?")
        return (KIND, self._key, self._region(), str(endpoint))


_SNAKE = {"Encrypt": "encrypt", "Decrypt": "decrypt", "DescribeKey": "describe_key"}


def _context(ad: AssociatedData) -> dict[str, str]:
    """The KMS encryption context: the document's context, binding and header digest."""
    context = dict(ad.context)
    for key, value in ad.binding.items():
        context[_BINDING_PREFIX + key] = value
    context[_DIGEST_KEY] = std_b64encode(ad.digest)
    return context


def _region_of(key: str) -> str | None:
    parts = key.split(":")
    return parts[3] if key.startswith("arn:") and len(parts) > 4 else None


def _same_key(a: str, b: str) -> bool:
    """The same key, or replicas of one multi-region key (``mrk-`` ids) in other regions."""
    if a == b:
        return True
    id_a, id_b = _key_part(a), _key_part(b)
    return id_a.startswith("mrk-") and id_a == id_b


def _key_part(key_id: str) -> str:
    """The key's own id from an ARN (``arn:...:key/ID`` -> ``ID``), else the text as given."""
    return key_id.rsplit("/", 1)[-1]


def from_uri(uri: str, **options: Any) -> AwsKms:
    """``aws-kms://arn:aws:kms:REGION:ACCOUNT:key/ID`` or ``aws-kms://alias/NAME?region=R``."""
    parts = urlsplit(uri)
    if parts.scheme != "aws-kms":
        raise KeyUriError("an AWS KMS key URI starts with aws-kms://")
    key = uri[len("aws-kms://") :].split("?", 1)[0]
    if not key or not (key.startswith(("arn:aws", "alias/")) or _looks_like_key_id(key)):
        raise KeyUriError(
            "an AWS KMS key URI is aws-kms://arn:aws:kms:REGION:ACCOUNT:key/ID, "
            "aws-kms://arn:...:alias/NAME or aws-kms://alias/NAME?region=REGION"
        )
    query = parse_qs(parts.query)
    region = query.get("region", [None])[0] or options.pop("region", None)
    if region is None and not key.startswith("arn:"):
        raise KeyUriError("an AWS KMS key URI without an ARN needs ?region=REGION")
    name = region if region is not None else _region_of(key)
    if isinstance(name, str) and not _REGION.match(name):
        # botocore would refuse it with its own exception type (found by fuzz/)
        raise KeyUriError(f"{name!r} is not an AWS region name")
    return AwsKms(key, region=region, **options)


# botocore's own rule for a region name (botocore.utils.validate_region_name)
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\Z")


def _looks_like_key_id(key: str) -> bool:
    return len(key) >= 36 and all(c.isalnum() or c == "-" for c in key)
