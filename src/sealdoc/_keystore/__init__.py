"""Per-subject keys in a database (docs/customer-keys.md): KeyStore and what it reports."""

from ._model import EraseReport, SubjectInfo, VersionInfo
from ._store import KeyStore
from ._subject import SubjectKey

__all__ = ["EraseReport", "KeyStore", "SubjectInfo", "SubjectKey", "VersionInfo"]
