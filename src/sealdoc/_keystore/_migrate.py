"""Moving customers held as keyring keys into a KeyStore (docs/customer-keys.md, "Migration").

Two steps. The store makes a subject for each of the keyring's keys (new key
material: a keyring KEK never leaves its keyring). Then the documents follow
through the bulk engine: for each customer, a rewrap of the documents that
carry a wrap under that keyring key, with ``to=`` that customer's subject
(plus any other providers the documents keep, escrow). Inventory shows the
move: the ``local:<name>@kr-...`` counts go down as the
``keystore:<name>@ks-...`` ones go up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._format import Header
from ._store import KeyStore


def keyring_subjects(ring: Any, names: Iterable[str] | None = None) -> list[str]:
    """The keyring keys to move: ``names``, or every key but ``default``."""
    held = list(ring.key_ids())
    if names is None:
        return [n for n in held if n != "default"]
    chosen = list(names)
    missing = [n for n in chosen if n not in held]
    if missing:
        raise KeyError(f"the keyring has no key {missing[0]!r}")
    return chosen


def import_keyring(store: KeyStore, ring: Any, names: Iterable[str] | None = None) -> list[str]:
    """Make a subject in ``store`` for each chosen key of ``ring``; return the subjects."""
    subjects = keyring_subjects(ring, names)
    store.add_many(subjects)
    return subjects


def under_keyring_key(ring: Any, name: str) -> Callable[[Header], bool]:
    """A bulk ``select``: documents with a wrap under keyring key ``name``."""
    key_id = ring.key(name).current_key().key_id
    kind = ring.kind

    def select(header: Header) -> bool:
        return any(w.kind == kind and w.key_id == key_id for w in header.wrapped_keys)

    return select


def move_documents(
    vault: Any,
    ring: Any,
    store: KeyStore,
    names: Sequence[str],
    *,
    keep: Sequence[Any] = (),
    **bulk: Any,
) -> dict[str, Any]:
    """Rewrap each customer's documents from the keyring key to the subject; reports by name.

    ``keep`` are providers the documents keep beside the subject (an escrow
    key); every other wrap is replaced. The vault needs keys that open the
    documents (the keyring). Each rewrap is a resumable bulk job: run again,
    it finds nothing left under the keyring key.
    """
    reports = {}
    for name in names:
        reports[name] = vault.rewrap_all(
            to=[store.key(name), *keep], select=under_keyring_key(ring, name), **bulk
        )
    return reports
