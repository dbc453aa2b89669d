"""Inventory per subject: a vault's counts joined with what the store holds of each subject."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ._model import KIND, SubjectInfo, subject_of
from ._store import KeyStore

_DESTROYED = "destroyed"


@attrs.frozen
class SubjectInventory:
    """One subject across a store of documents.

    ``documents``: version -> documents with a wrap under it. ``shredded``:
    documents that depend only on destroyed versions (open nowhere, unless a
    password or device wrap remains). ``info``: versions, hold, retention.
    """

    subject: str
    documents: dict[int, int] = attrs.field(hash=False)
    shredded: int
    info: SubjectInfo


def subjects_in(store: KeyStore, inventory: Any) -> Iterator[SubjectInventory]:
    """Each of ``store``'s subjects that documents in ``inventory`` are wrapped under, in order."""
    nested = inventory.by_kind.get(KIND, {})
    for key_id in sorted(nested):
        subject = subject_of(key_id, store.store_id)
        if subject is None:
            continue  # another store's subject
        info = store.info(subject)
        states = {v.version: v.state for v in info.versions}
        shredded = sum(
            inventory.only_on.get(f"{KIND}:{key_id}#{version}", 0)
            for version, state in states.items()
            if state == _DESTROYED
        )
        yield SubjectInventory(
            subject=subject, documents=dict(nested[key_id]), shredded=shredded, info=info
        )
