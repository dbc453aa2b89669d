"""Unlocking a header: recover its document key and check it (format.md 9).

``unlock`` is the loop over providers and wraps; each concern it needs is a
small function beside it: which wraps a provider may try (``handles`` and
the unwrap budget, ``budget.py``), one unwrap (``try_unwrap``), the key
commitment and header MAC checks (``checked_keys``), and what each try said
(``attempts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import _format as fmt
from .._format import ParsedHeader, WrappedKey
from .._provider_api import AssociatedData, KeyProvider, check_costs
from .._schedule import DocumentKeys, derive, header_digest, header_mac, same
from .._stream import SegmentCipher
from ..exceptions import DecryptionError, FormatError, NotMineError
from .attempts import Attempts, logged
from .budget import OVER_BUDGET, Spent


class Unlocked:
    """A header whose document key has been recovered and checked."""

    def __init__(
        self,
        parsed: ParsedHeader,
        keys: DocumentKeys,
        dek: bytes,
        digest: bytes,
        binding: Mapping[str, str],
        *,
        opened_with: tuple[KeyProvider, WrappedKey] | None = None,
        spent: Mapping[int, Spent] | None = None,
    ) -> None:
        self.parsed = parsed
        self.keys = keys
        self.dek = dek
        self.digest = digest
        self.binding = binding
        # which provider opened which wrap: rekey then knows that wrap's owner
        # without unwrapping it again (a second KDF or KMS call)
        self.opened_with = opened_with
        # each provider's tries so far (by id), for rekey's owner checks to spend from
        self.spent = dict(spent or {})

    def cipher(self) -> SegmentCipher:
        core = self.parsed.core
        return SegmentCipher(core.suite, self.keys.payload_key, core.nonce_prefix, self.digest)

    def __repr__(self) -> str:
        return "Unlocked(<secret>)"


def unlock(
    parsed: ParsedHeader,
    providers: Sequence[KeyProvider],
    context: Mapping[str, str],
    binding: Mapping[str, str],
) -> Unlocked:
    """Recover the DEK with any provider; check commitment and header MAC (format.md 9)."""
    digest = checked_digest(parsed, context, binding)
    check_costs(providers, parsed.wrapped_keys)  # over budget: refused before any KDF runs
    ad = AssociatedData(digest=digest, context=parsed.core.context, binding=binding)
    tried = Attempts(ad)
    spent: dict[int, Spent] = {}
    for provider in providers:  # the caller's order, then the header's (format.md 9.1)
        budget = spent.setdefault(id(provider), Spent(provider))
        for wrapped in parsed.wrapped_keys:
            if not may_try(provider, wrapped, budget, tried):
                continue
            dek = try_unwrap(provider, wrapped, ad, tried)
            if dek is None:
                continue
            keys = checked_keys(parsed, dek, digest, (provider, wrapped), tried)
            if keys is None:
                continue
            tried.audit(wrapped, "ok")
            return Unlocked(
                parsed, keys, dek, digest, binding, opened_with=(provider, wrapped), spent=spent
            )
    raise tried.error(parsed, providers)


def checked_digest(
    parsed: ParsedHeader, context: Mapping[str, str], binding: Mapping[str, str]
) -> bytes:
    """The header digest, once the caller's context and binding fit the document."""
    try:
        check_context(parsed.core.context, context)
        return header_digest(parsed.core_bytes, binding_block(parsed, binding))
    except DecryptionError as exc:
        raise logged(exc) from None


def check_context(stored: Mapping[str, str], expected: Mapping[str, str]) -> None:
    """Every pair the caller expects is in the document's context."""
    for key, value in expected.items():
        if key not in stored:
            raise DecryptionError(f"context mismatch: the document has no key {key!r}")
        if stored[key] != value:
            raise DecryptionError(f"context mismatch on key {key!r}")


def binding_block(parsed: ParsedHeader, binding: Mapping[str, str]) -> bytes:
    """The encoded binding the digest covers; given exactly when the document has one."""
    required = bool(parsed.core.flags & fmt.FLAG_BINDING)
    if required and not binding:
        raise DecryptionError("the document was sealed with a binding; pass binding=")
    if binding and not required:
        raise DecryptionError("a binding was given but the document was sealed without one")
    return fmt.encode_map(binding, what="binding") if binding else b""


def may_try(provider: KeyProvider, wrapped: WrappedKey, budget: Spent, tried: Attempts) -> bool:
    """Whether ``provider`` handles ``wrapped`` and still has a try left for it."""
    try:
        if not provider.handles(wrapped):
            return False
    except Exception as exc:
        tried.failed(provider, wrapped, exc)
        return False
    if not budget.take(wrapped):
        tried.add(provider, wrapped, "declined", OVER_BUDGET)
        return False
    return True


def try_unwrap(
    provider: KeyProvider, wrapped: WrappedKey, ad: AssociatedData, tried: Attempts
) -> bytes | None:
    """One provider on one wrap: the DEK, or None with the reason recorded."""
    try:
        dek = provider.unwrap(wrapped, ad)
    except (NotMineError, FormatError, DecryptionError) as exc:
        tried.add(provider, wrapped, "declined", str(exc) or "not mine")
        return None
    except Exception as exc:  # a provider that is down is not tampering
        tried.failed(provider, wrapped, exc)
        return None
    if not isinstance(dek, bytes) or len(dek) != fmt.DEK_LEN:
        tried.add(provider, wrapped, "declined", "provider returned a malformed key")
        return None
    return dek


def checked_keys(
    parsed: ParsedHeader,
    dek: bytes,
    digest: bytes,
    opened_with: tuple[KeyProvider, WrappedKey],
    tried: Attempts,
) -> DocumentKeys | None:
    """The document keys of ``dek``, if it is the key the header commits to.

    A key that fails the commitment is some other document's: None, and the
    next wrap is tried. A committed key whose header MAC fails means the
    header itself was altered: that raises at once.
    """
    provider, wrapped = opened_with
    keys = derive(dek, parsed.core.salt, parsed.core.suite)
    if not same(keys.commitment, parsed.core.commitment):
        tried.add(provider, wrapped, "declined", "key commitment mismatch")
        return None
    if not same(header_mac(keys.mac_key, digest, parsed.signed_part), parsed.mac):
        tried.add(provider, wrapped, "declined", "header authentication failed")
        raise logged(DecryptionError("the header was altered", tried.items))
    return keys
