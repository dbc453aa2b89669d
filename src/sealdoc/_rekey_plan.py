"""Which wrapped keys a rewritten header holds: the rule rewrap and rotate share.

docs/lifecycle.md, "Which wraps a rewrap or rotate keeps". Nothing here
reads or writes a document: the verbs in ``_rekey`` hand in an unlocked
header and get back the new key section (rewrap) or the recipients of a
fresh document key (rotate), or a WrapLossError/ValueError before anything
is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._args import as_list
from ._envelope import Keys, Unlocked, providers_of, wrap_with
from ._format import KeyRef, WrappedKey
from ._owners import Owners
from ._pq_mix import check_mix
from ._provider_api import AssociatedData, KeyProvider
from .exceptions import WrapLossError

Drop = KeyProvider | KeyRef | str

_NONE_LEFT = "a document needs at least one wrapped key; this would leave none"


def _ad(unlocked: Unlocked) -> AssociatedData:
    parsed = unlocked.parsed
    return AssociatedData(
        digest=unlocked.digest, context=parsed.core.context, binding=unlocked.binding
    )


def _dropped(owners: Owners, drop: Drop | Sequence[Drop] | None) -> Callable[[WrappedKey], bool]:
    """Whether ``drop=`` names a wrap (a provider's own, a KeyRef, or a label)."""
    matchers = [owners.matcher(item) for item in as_list(drop)] if drop is not None else []
    return lambda wrapped: any(m(wrapped) for m in matchers)


def new_wraps(
    unlocked: Unlocked,
    providers: Sequence[KeyProvider],
    to: Keys | None,
    add: Keys | None,
    drop: Drop | Sequence[Drop] | None,
    *,
    allow_classical: bool = False,
) -> list[WrappedKey]:
    """The key section a rewrap writes. Every wrap is made before anything is written.

    A new set (``to``, ``add``) follows the mixing rule (_pq_mix); bringing
    wraps up to date keeps whatever mix the document already has.
    """
    ad = _ad(unlocked)
    existing = list(unlocked.parsed.wrapped_keys)
    if to is not None:
        if add is not None or drop is not None:
            raise ValueError("give either to= (the whole new set) or add=/drop=, not both")
        result = [wrap_with(p, unlocked.dek, ad) for p in providers_of(to)]
    elif add is not None or drop is not None:
        owners = Owners(providers, unlocked)
        dropped = _dropped(owners, drop)
        result = [w for w in existing if not dropped(w)]
        for provider in providers_of(add) if add is not None else ():
            # a provider replaces its own wraps only: the same key id for a
            # keyring, the wraps it can unwrap for a password or a device
            own = owners.own_wraps(provider)
            result = [w for w in result if not own(w)]
            result.append(wrap_with(provider, unlocked.dek, ad))
    else:
        result = _bring_up_to_date(existing, Owners(providers, unlocked), unlocked.dek, ad)
    if to is not None or add is not None:
        check_mix((w.kind for w in result), allow_classical=allow_classical)
    if not result:
        raise ValueError(_NONE_LEFT)
    return result


def _bring_up_to_date(
    existing: list[WrappedKey], owners: Owners, dek: bytes, ad: AssociatedData
) -> list[WrappedKey]:
    """Each wrap brought to its own key id's current version, in place; the others kept.

    A wrap no provider serves, or whose owner cannot be confirmed, is kept
    byte for byte (it stays valid: the header digest does not change). Older
    versions of one key id become one wrap at its current version.
    """
    current_ids = set()
    for wrapped in existing:
        served = owners.served(wrapped)
        if served is not None and served.family and served.is_current(wrapped):
            current_ids.add(served.identity(wrapped))
    result: list[WrappedKey] = []
    done: set[tuple[object, ...]] = set()
    for wrapped in existing:
        served = owners.served(wrapped)
        if served is None or served.is_current(wrapped):
            result.append(wrapped)
            continue
        owner = owners.owner(wrapped)
        if owner is None:
            result.append(wrapped)  # not provably this provider's: leave it alone
            continue
        identity = owner.identity(wrapped)
        if identity in current_ids or identity in done:
            continue  # that key id already has a wrap at its current version
        done.add(identity)
        result.append(wrap_with(owner.provider, dek, ad))
    return result


def rotation_recipients(
    unlocked: Unlocked,
    providers: Sequence[KeyProvider],
    to: Keys | None,
    drop: Drop | Sequence[Drop] | None,
) -> list[KeyProvider]:
    """Who a rotated document is wrapped for: every wrap re-created, or WrapLossError."""
    if to is not None:
        if drop is not None:
            raise ValueError("give either to= (the whole new set) or drop=, not both")
        return list(providers_of(to))
    owners = Owners(providers, unlocked)
    dropped = _dropped(owners, drop)
    chosen: list[KeyProvider] = []
    seen: set[tuple[object, ...]] = set()
    for wrapped in unlocked.parsed.wrapped_keys:
        if dropped(wrapped):
            continue
        owner = owners.owner(wrapped)
        if owner is None:
            raise WrapLossError(
                f"rotating would lose the wrapped key {wrapped.label}, which no provider given "
                "can re-create for the same key or recipient; pass that provider in keys=, "
                f"or drop={wrapped.label!r}, or the whole new set in to=",
                wrapped.label,
            )
        identity = owner.identity(wrapped)
        if identity not in seen:
            seen.add(identity)
            chosen.append(owner.provider)
    if not chosen:
        raise ValueError(_NONE_LEFT)
    return chosen
