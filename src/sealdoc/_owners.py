"""Which provider serves, and which one owns, each wrapped key of a document.

The rule rewrap, rotate and is_current share (docs/lifecycle.md, "Which
wraps a rewrap or rotate keeps"): a wrap is identified by its provider kind
and key id, and is up to date when it is at that key id's current version.

* A keyring (a :class:`~sealdoc.providers.KeyFamily`) serves a wrap through
  a provider bound to the wrap's own key id, so a per-customer or escrow
  wrap stays under its key.
* Any other provider serves the wraps its ``handles()`` accepts. When a
  wrap is to be replaced (brought up to date, re-created by rotate, or
  replaced by ``add=``), ownership is decided by a successful unwrap to the
  document's key: a password or X25519 identity handles every wrap of its
  kind, but owns only its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from ._audit import record
from ._envelope import Spent, Unlocked
from ._format import KeyRef, WrappedKey
from ._provider_api import AssociatedData, KeyProvider, is_provider, powers
from ._schedule import same
from .exceptions import DecryptionError, FormatError, KeyProviderError, NotMineError, SealdocError

# How many of one document's wraps one provider unwraps to learn which are
# its own. A password unwrap is a full KDF: a crafted document with 32 of
# them must not multiply the cost. A wrap left unconfirmed is never
# replaced: rewrap keeps it, rotate refuses (WrapLossError).
MAX_PROBES = 4


@attrs.frozen
class Served:
    """A provider that serves a wrap, bound to the wrap's key id."""

    source: KeyProvider  # the provider given in keys=
    provider: KeyProvider  # bound to the wrap's key id (a keyring's key(...)), or source
    current: KeyRef | None  # that key id's current version; None: it cannot say
    family: bool

    def is_current(self, wrapped: WrappedKey) -> bool:
        if self.current is None:
            return False
        if self.family:
            # The whole reference: a keyring that was given an id after the
            # fact serves its old plain-id wraps as the same keys, and a
            # routine rewrap relabels them (docs/keyring.md, "Migration").
            return wrapped.ref == self.current
        # a password's or device's label is descriptive: the version decides
        return wrapped.version == self.current.version

    def identity(self, wrapped: WrappedKey) -> tuple[object, ...]:
        """What one re-made wrap stands for: a keyring key id, or one provider."""
        if self.family:
            return (id(self.source), wrapped.kind, wrapped.key_id)
        return (id(self.source),)


def serve(provider: KeyProvider, wrapped: WrappedKey) -> Served | None:
    """How ``provider`` serves ``wrapped``, from public fields alone, or None."""
    found = powers(provider)
    family = found.family is not None
    if found.family is not None:
        bound = found.family.provider_for(wrapped)
        if bound is None:
            return None
    elif provider.handles(wrapped):
        bound = provider
    else:
        return None
    versioned = powers(bound).versioned
    current = None
    if versioned is not None:
        try:
            current = versioned.current_key()
        except KeyProviderError:
            if not family:
                raise  # a KMS that is down: say so, do not guess
            # a keyring key whose primary version was destroyed: it can
            # neither bring this wrap up to date nor re-create it
            return None
    return Served(provider, bound, current, family)


def own_ref(provider: KeyProvider) -> KeyRef:
    """The key a keyring-bound provider wraps under (to match its own wraps)."""
    versioned = powers(provider).versioned
    if versioned is None:
        raise ValueError(
            f"{provider!r} holds several keys but cannot say which one it wraps under; "
            "name the wraps by label (kind:key_id) instead"
        )
    try:
        return versioned.current_key()
    except KeyProviderError as exc:
        raise KeyProviderError(
            f"{provider!r} cannot say which key it wraps under ({exc}): to add it, rotate "
            "that key first; to drop its wraps, name them by label (kind:key_id)"
        ) from exc


class Owners:
    """Who serves and who owns each wrap of one document, for one operation.

    ``unlocked`` is None for header-only questions (is_current), which never
    unwrap anything.
    """

    def __init__(self, providers: Sequence[KeyProvider], unlocked: Unlocked | None) -> None:
        self._providers = tuple(providers)
        self._unlocked = unlocked
        self._verdicts: dict[tuple[int, WrappedKey], bool] = {}
        self._probes: dict[int, int] = {}
        self._owning: set[int] = set()
        self._keep_alive: list[KeyProvider] = []  # ids stay unique while cached
        if unlocked is not None and unlocked.opened_with is not None:
            opener, wrapped = unlocked.opened_with
            self._verdicts[(id(opener), wrapped)] = True
            self._owning.add(id(opener))
            self._keep_alive.append(opener)

    def served(self, wrapped: WrappedKey) -> Served | None:
        """The first provider in keys that serves ``wrapped`` (header only)."""
        for provider in self._providers:
            found = serve(provider, wrapped)
            if found is not None:
                return found
        return None

    def owner(self, wrapped: WrappedKey) -> Served | None:
        """The provider that can re-make ``wrapped`` for the same key or recipient."""
        candidates = [s for p in self._providers if (s := serve(p, wrapped)) is not None]
        for found in candidates:
            if found.family:
                return found  # a keyring owns a wrap by its key id
        # providers that own no wrap yet first: n recipients cost n unwraps
        candidates.sort(key=lambda s: id(s.source) in self._owning)
        for found in candidates:
            if self.unwraps(found.source, wrapped):
                return found
        return None

    def own_wraps(self, provider: KeyProvider) -> Callable[[WrappedKey], bool]:
        """Which wraps are ``provider``'s own (what ``add=`` replaces and ``drop=`` removes)."""
        family = powers(provider).family
        if family is not None:
            ref = own_ref(provider)
            return lambda w: (
                (w.kind, w.key_id) == (ref.kind, ref.key_id) and family.provider_for(w) is not None
            )
        return lambda w: provider.handles(w) and self.unwraps(provider, w)

    def unwraps(self, provider: KeyProvider, wrapped: WrappedKey) -> bool:
        """Whether ``provider`` unwraps ``wrapped`` to this document's key (at most MAX_PROBES)."""
        key = (id(provider), wrapped)
        if key in self._verdicts:
            return self._verdicts[key]
        unlocked = self._unlocked
        if unlocked is None or self._probes.get(id(provider), 0) >= MAX_PROBES:
            return False
        # The open's own budgets, not fresh ones: a crafted document's extra wraps
        # of one key must not buy more KMS calls or KDF work here than an open may.
        spent = unlocked.spent.setdefault(id(provider), Spent(provider))
        if not spent.take_checked(wrapped):
            self._verdicts[key] = False
            return False
        self._probes[id(provider)] = self._probes.get(id(provider), 0) + 1
        self._keep_alive.append(provider)
        ad = AssociatedData(
            digest=unlocked.digest, context=unlocked.parsed.core.context, binding=unlocked.binding
        )
        try:
            dek = provider.unwrap(wrapped, ad)
        except (NotMineError, FormatError, DecryptionError):
            ok = False
        except SealdocError:
            raise
        except Exception as exc:
            raise KeyProviderError(
                f"{provider!r} failed while checking whether the wrapped key "
                f"{wrapped.label} is its own"
            ) from exc
        else:
            ok = isinstance(dek, bytes) and same(dek, unlocked.dek)
        record(
            "unwrap",
            "ok" if ok else "declined",
            kind=wrapped.kind,
            key_id=wrapped.key_id,
            version=wrapped.version,
            context=unlocked.parsed.core.context,
            detail="owner check",
        )
        self._verdicts[key] = ok
        if ok:
            self._owning.add(id(provider))
        return ok

    def matcher(self, item: object) -> Callable[[WrappedKey], bool]:
        """``drop=`` takes a provider (its own wraps), a KeyRef, or a label."""
        if isinstance(item, KeyRef):
            return lambda w: w.ref == item
        if isinstance(item, str):
            return label_matcher(item)
        if is_provider(item):
            return self.own_wraps(item)  # type: ignore[arg-type]
        raise TypeError(f"drop takes providers, KeyRefs or key labels, not {type(item).__name__}")


def label_matcher(label: str) -> Callable[[WrappedKey], bool]:
    """``kind:key_id`` (every version) or ``kind:key_id#version``."""
    kind, sep, rest = label.partition(":")
    if not sep or not rest:
        raise ValueError(f"{label!r} is not a key label (kind:key_id or kind:key_id#version)")
    key_id, hash_, version = rest.rpartition("#") if "#" in rest else (rest, "", "")
    if hash_ and not version.isdigit():
        raise ValueError(f"{label!r}: the version after # must be a number")
    return lambda w: (
        w.kind == kind and w.key_id == key_id and (not hash_ or w.version == int(version))
    )
