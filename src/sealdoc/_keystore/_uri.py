"""Key URIs naming a KeyStore subject: ``keystore+sqlite:///path/keys.db#C-1007``.

The URI names the database and the subject; the master is never in it (a
URI ends up in logs). It comes from ``master=`` (a provider or a key URI),
else from the key URI in the environment variable ``SEALDOC_KEYSTORE_MASTER``
(for example ``local:///etc/sealdoc/master.json#master``, its passphrase from
``SEALDOC_PASSPHRASE`` as usual, or ``aws-kms://...``).
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from .._uri import key_from_uri
from ..exceptions import KeyUriError
from ._store import KeyStore
from ._subject import SubjectKey

MASTER_ENV = "SEALDOC_KEYSTORE_MASTER"
_PREFIX = "keystore+"

# One KeyStore per (database, master URI) in a process, so that every key URI
# naming a subject of it shares one connection and one cache.
_OPEN: dict[tuple[str, str], KeyStore] = {}
_LOCK = threading.Lock()


def store_url(uri: str) -> tuple[str, str]:
    """The database URL and the subject (may be empty) a keystore key URI names."""
    if not uri.startswith(_PREFIX):
        raise KeyUriError(
            "a key store URI is keystore+sqlite:///path#subject or keystore+postgresql://...#subject"
        )
    parts = urlsplit(uri[len(_PREFIX) :])
    if parts.scheme not in ("sqlite", "postgresql"):
        raise KeyUriError("a key store URI is keystore+sqlite:... or keystore+postgresql:...")
    url = parts._replace(fragment="").geturl()
    return url, unquote(parts.fragment)


def open_store(url: str, master: Any = None, *, master_env: str = MASTER_ENV) -> KeyStore:
    """The KeyStore at ``url`` with the master given or named in the environment."""
    if master is None:
        master_uri = os.environ.get(master_env)
        if not master_uri:
            raise KeyUriError(
                f"no master for the key store: pass master= or set {master_env} to a key URI"
            )
        with _LOCK:
            found = _OPEN.get((url, master_uri))
            if found is None:
                found = _OPEN[(url, master_uri)] = KeyStore(url, master=key_from_uri(master_uri))
            return found
    if isinstance(master, str):
        master = key_from_uri(master)
    return KeyStore(url, master=master)


def from_uri(
    uri: str, *, master: Any = None, master_env: str = MASTER_ENV
) -> KeyStore | SubjectKey:
    """The entry point of the ``keystore+sqlite`` and ``keystore+postgresql`` schemes.

    With a fragment, the provider of that subject; without, the store (it
    opens any subject's documents).
    """
    url, subject = store_url(uri)
    store = open_store(url, master, master_env=master_env)
    return store.key(subject) if subject else store
