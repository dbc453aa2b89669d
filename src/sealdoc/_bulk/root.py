"""A job given the wrong root URL: say so, before any document fails.

A vault's documents are bound to their doc ids, which are paths relative to
the vault's root. Given ``s3://bank-docs`` for a vault rooted at
``s3://bank-docs/statements``, every doc id gains ``statements/``, no
binding matches, and every document fails with "another keyring, or
altered": it reads like tampering. The binding is authenticated, not
stored (format.md 3.4), so no header shows it; the first bound document
that does not open is tried under the doc ids a neighbouring root would
give it. One that opens names the right root, and the job stops before it
starts (a dry run included): nothing was written. Unless another document
looked at opens right here: then the root is right, and the stray copy (a
backup folder inside the vault, or one planted by anyone who can write to
the store) fails in the job's report instead of stopping every rotation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from .._envelope import unlock
from .._format import ParsedHeader
from .._store.base import Entry
from ..exceptions import DecryptionError, SealdocError, WrongRootError
from .document import is_shredded, read_parsed
from .source import Source

LOOK_AT = 3  # listed objects looked at; one bound right here says the root is right
DEPTH = 4  # folders tried above and below the given root


def check_root(source: Source, items: Iterable[tuple[Entry, str | None]]) -> None:
    """WrongRootError if no bound document looked at opens here, and one opens under another root.

    Costs one unwrap when the root is right (and the first document opens), a
    few more only when it does not; a store the keys cannot reach, or a
    document that opens under no candidate either, is left to the job.
    """
    if source.opaque or not source.keys:
        return  # opaque names carry their own doc ids, not paths under the root
    verdict: WrongRootError | None = None
    for entry, doc_id in itertools.islice(items, LOOK_AT):
        if doc_id is None:
            continue
        try:
            _, parsed = read_parsed(source.store, entry.path)
        except SealdocError:
            continue
        if not parsed.public(None).has_binding or is_shredded(source.keys, parsed.wrapped_keys):
            continue
        if _opens(source, parsed, source.binding_for(doc_id)) is not False:
            # One document bound right here: the root is right. A copy placed
            # under a subfolder (a stray backup, or planted by anyone who can
            # write to the store) is left to the job, not taken as the verdict.
            return
        if verdict is None:
            verdict = _elsewhere(source, parsed, entry.path, doc_id)
    if verdict is not None:
        raise verdict


def _elsewhere(
    source: Source, parsed: ParsedHeader, path: str, doc_id: str
) -> WrongRootError | None:
    """The error naming the root under which ``parsed`` opens, if a neighbour is one."""
    for other, root in _neighbours(source.url, doc_id):
        if _opens(source, parsed, source.binding_for(other)):
            return WrongRootError(
                f"{source.url}: the documents here are bound to doc ids under another root "
                f"({path!r} opens as doc id {other!r}, not {doc_id!r}): the vault's "
                f"URL is {root}; run the job there. Nothing was done"
            )
    return None


def _opens(source: Source, parsed: ParsedHeader, binding: Mapping[str, str]) -> bool | None:
    """True or False; None when the keys cannot tell (a provider down)."""
    try:
        unlock(parsed, list(source.keys), {}, binding)
    except DecryptionError:
        return False
    except SealdocError:
        return None
    return True


def _neighbours(url: str, doc_id: str) -> list[tuple[str, str]]:
    """(doc id, root URL) pairs a root a few folders below or above ``url`` would give."""
    base = url.rstrip("/")
    parts = doc_id.split("/")
    found = [
        ("/".join(parts[i:]), f"{base}/{'/'.join(parts[:i])}")
        for i in range(1, min(len(parts), DEPTH + 1))
    ]
    folders = [p for p in urlsplit(base).path.split("/") if p]
    for i in range(1, min(len(folders), DEPTH + 1)):
        above = folders[-i:]
        root = base[: -len("/".join(above)) - 1]
        if "://" in root and root.split("://", 1)[1]:
            found.append(("/".join([*above, doc_id]), root))
    return found
