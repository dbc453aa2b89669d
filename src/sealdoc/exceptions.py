"""The errors sealdoc raises.

Every error derives from :class:`SealdocError`, and also from the built-in
exception it resembles, so callers can catch either::

    SealdocError(Exception)
    ├── FormatError(SealdocError, ValueError)
    │       not a sealed document, unknown version or suite, a length over a
    │       limit, a truncated header
    ├── DecryptionError(SealdocError, ValueError)
    │       "cannot open this document": tampering, a wrong key, a wrong
    │       context or binding, a truncated or extended body. One opaque
    │       failure to an attacker; ``attempts`` tells a developer which
    │       providers were tried and why each declined.
    ├── KdfBudgetError(SealdocError, ValueError)
    │       a document's password wraps ask for more KDF work (memory, passes,
    │       iterations, or in total) than the opener's ``KdfBudget``; refused
    │       before any KDF ran
    ├── KeyProviderError(SealdocError, RuntimeError)
    │   │   a provider failed (down, no access, misconfigured); the cause is
    │   │   kept as ``__cause__``. Never raised for tampering.
    │   └── KeyringError
    │       │   a keyring file cannot be created or loaded (wrong passphrase,
    │       │   altered or unreadable file)
    │       ├── KeyringRollbackError
    │       │       a keyring file older than one already seen (a restored
    │       │       copy that may hold destroyed keys)
    │       └── KeyringExistsError
    │               create found a keyring at that path (even one created
    │               at the same moment); nothing was written
    ├── NotMineError(SealdocError, LookupError)
    │       raised by a provider's ``unwrap`` when it cannot open that wrapped
    │       key; sealdoc catches it and tries the next provider.
    ├── DocumentNotFoundError(SealdocError, FileNotFoundError)
    │       a vault has no document with that id
    ├── KeyStoreError(SealdocError, ValueError)
    │   │   a KeyStore request its rules refuse (an unknown or erased
    │   │   subject, a subject that exists, a destroy without confirm=True)
    │   └── RetentionError
    │           a destroy refused because a legal hold or a retention date
    │           keeps the subject's key; the message names the hold or date
    ├── KeyUriError(SealdocError, ValueError)
    │       a key URI that names no installed provider, or is malformed; the
    │       message says which extra or package to install
    ├── InvalidDocumentIdError(SealdocError, ValueError)
    │       a doc id that is empty, too long, absolute, has ``..`` or empty
    │       segments, or control characters
    ├── CheckpointError(SealdocError, ValueError)
    │       a bulk job's checkpoint file belongs to another job (another
    │       operation, store, prefix or target key version), or is no
    │       checkpoint; nothing was done
    ├── EmptyStoreError(SealdocError, LookupError)
    │       a bulk job or inventory found no object under the URL and prefix
    │       (a typo, a missing folder or bucket); ``allow_empty=True`` accepts it
    ├── UnsafeStoreError(SealdocError, ValueError)
    │       the store cannot refuse to overwrite a document changed under a
    │       bulk job; ``allow_unconditional=True`` accepts the risk
    ├── WeakPasswordError(SealdocError, ValueError)
    │       ``check_password`` refused a delivery password; ``reasons`` says
    │       why (never the password itself)
    ├── WrapLossError(SealdocError, ValueError)
    │       rewrap, rotate or a bulk job would leave a document without a
    │       wrapped key it had, without being told to (``to=``/``drop=``);
    │       nothing was written
    ├── WrongRootError(SealdocError, ValueError)
    │       a bulk job's URL is not the vault's root: its documents are
    │       bound to doc ids under another one (named); nothing was done
    └── StoreError(SealdocError, OSError)
        │   the store failed or cannot be reached (the fsspec/botocore/OS
        │   error is kept as ``__cause__``); the previous version of a
        │   document stays readable
        ├── DocumentChangedError
        │       a conditional replace found the document changed since it
        │       was read; nothing was written
        └── DocumentExistsError(StoreError, FileExistsError)
                an exclusive create (``sealdoc::`` mode ``xb``) found the
                object already there when it published; nothing was written

No message, attribute or repr of these errors holds key bytes, passphrases or
plaintext.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ._text import safe

__all__ = [
    "Attempt",
    "CheckpointError",
    "DecryptionError",
    "DocumentChangedError",
    "DocumentExistsError",
    "DocumentNotFoundError",
    "EmptyStoreError",
    "FormatError",
    "InvalidDocumentIdError",
    "KdfBudgetError",
    "KeyProviderError",
    "KeyStoreError",
    "KeyUriError",
    "KeyringError",
    "NotMineError",
    "RetentionError",
    "SealdocError",
    "StoreError",
    "UnsafeStoreError",
    "WeakPasswordError",
    "WrapLossError",
    "WrongRootError",
]


class SealdocError(Exception):
    """The root of every error sealdoc raises."""


class FormatError(SealdocError, ValueError):
    """The bytes are not a well-formed sealed document (or keyring file)."""


@attrs.frozen
class Attempt:
    """One provider's try at a wrapped key, for :class:`DecryptionError`.

    For the developer and the operator, not for the party who sent the
    document: ``key`` and ``reason`` name key ids, versions and their
    states, which is why ``str()`` of the error leaves them out.
    """

    provider: str
    """The provider's repr (providers keep secrets out of it)."""
    key: str
    """Which wrapped key: ``kind:key_id#version``, or ``-`` for no key."""
    reason: str
    """Why it did not open the document."""
    outcome: str = "declined"
    """``declined`` (not mine, refused, over budget) or ``failed`` (the provider failed)."""

    @property
    def label(self) -> str:
        """The same as ``key``: ``kind:key_id#version``."""
        return self.key

    def __str__(self) -> str:
        return f"{self.provider} on {self.key}: {self.outcome}: {self.reason}"


_CANNOT_OPEN = "cannot open this document"


def _describe(headline: str, reason: str, attempts: Sequence[Attempt]) -> str:
    lines = [headline + (f": {reason}" if reason else "")]
    lines += [f"  tried {a}" for a in attempts]
    return "\n".join(safe(line) for line in lines)


class DecryptionError(SealdocError, ValueError):
    """The document cannot be opened with the keys, context and binding given.

    Tampering, a wrong key and a wrong context all raise this same error,
    and ``str()`` is always "cannot open this document": safe to show the
    party who sent the document, because it names no key id, version or
    key state and does not say which check failed. For the developer,
    ``reason`` says which check failed, ``attempts`` lists each provider
    tried and why it declined, and :meth:`details` puts both in one
    escaped text (the same text is logged at DEBUG on the ``sealdoc``
    logger). None of them holds a secret.
    """

    def __init__(self, reason: str = "", attempts: Sequence[Attempt] = ()) -> None:
        self.reason = reason
        self.attempts: tuple[Attempt, ...] = tuple(attempts)
        super().__init__(_CANNOT_OPEN)

    def details(self) -> str:
        """The reason and every attempt, one per line, escaped: for logs and ``--verbose``."""
        return _describe(_CANNOT_OPEN, self.reason, self.attempts)


class KdfBudgetError(SealdocError, ValueError):
    """A document's password KDFs would cost more than the opener allows (format.md 8.2).

    Raised before any KDF runs. The message names the cost asked and the
    budget; both are public (``sealdoc inspect`` shows a wrap's parameters).
    """


class KeyProviderError(SealdocError, RuntimeError):
    """A key provider failed to wrap or unwrap (down, denied, misconfigured).

    The underlying exception is kept as ``__cause__``. This is never raised
    for a tampered document: that is :class:`DecryptionError`. When opening
    fails because a provider failed, ``attempts`` lists what every provider
    said; as with DecryptionError they stay out of ``str()``, and
    :meth:`details` shows them.
    """

    def __init__(self, message: str, attempts: Sequence[Attempt] = ()) -> None:
        self.attempts: tuple[Attempt, ...] = tuple(attempts)
        super().__init__(message)

    def details(self) -> str:
        """The message and every attempt, one per line, escaped."""
        return _describe(str(self), "", self.attempts)


class KeyringError(KeyProviderError):
    """A keyring cannot be created, loaded or saved."""


class KeyringRollbackError(KeyringError):
    """A keyring file is older (a lower generation) than one already seen.

    An old copy (a backup, a snapshot) may still hold versions destroyed
    since; docs/keyring.md says how to restore a backup on purpose.
    """


class KeyringExistsError(KeyringError):
    """``LocalKeyring.create`` found a keyring file at its path; it never replaces one."""


class NotMineError(SealdocError, LookupError):
    """A provider cannot unwrap this wrapped key; the next one is tried.

    Providers raise it from ``unwrap`` for a key they do not hold, a version
    they no longer have, or a payload that fails authentication under their
    key. It is not fatal and callers of sealdoc normally never see it.
    """


class DocumentNotFoundError(SealdocError, FileNotFoundError):
    """A vault has no document with this id."""


class InvalidDocumentIdError(SealdocError, ValueError):
    """A doc id that cannot name a document safely."""


class StoreError(SealdocError, OSError):
    """The store failed or is unreachable; the underlying error is ``__cause__``."""


class DocumentChangedError(StoreError):
    """A conditional replace found the object changed (or gone) since it was read.

    Nothing was written: the newer version stays as it is.
    """


class DocumentExistsError(StoreError, FileExistsError):
    """An exclusive create found the object already there; nothing was written.

    Checked when the object is published (a create-only link locally,
    ``If-None-Match: *`` on S3), not only when the file was opened.
    """


class CheckpointError(SealdocError, ValueError):
    """A checkpoint file that this job must not resume from; nothing was done."""


class EmptyStoreError(SealdocError, LookupError):
    """No object under the URL and prefix: check them, or pass ``allow_empty=True``."""


class UnsafeStoreError(SealdocError, ValueError):
    """The store cannot replace a document only if unchanged (no compare-and-swap)."""


class KeyStoreError(SealdocError, ValueError):
    """A KeyStore request its rules refuse; nothing was written."""


class RetentionError(KeyStoreError):
    """A destroy refused: a legal hold, or a retention date not yet reached, keeps the key."""


class KeyUriError(SealdocError, ValueError):
    """A key URI that cannot be resolved; the message says what to install."""


class WeakPasswordError(SealdocError, ValueError):
    """A password too weak to protect a delivered document; ``reasons`` says why.

    Neither the message nor ``reasons`` holds the password.
    """

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons: tuple[str, ...] = tuple(reasons)
        super().__init__("the password is too weak: " + "; ".join(self.reasons))


class WrapLossError(SealdocError, ValueError):
    """An operation would drop a wrapped key the document had, unasked; nothing was written.

    ``label`` is the wrap's public ``kind:key_id#version``. Pass the provider
    that can re-create it in ``keys=``, or say what to do with it: the whole
    new set in ``to=``, or ``drop=`` that wrap.
    """

    def __init__(self, message: str, label: str = "") -> None:
        self.label = label
        super().__init__(message)


class WrongRootError(SealdocError, ValueError):
    """A bulk job was given a URL above or below the vault's root; nothing was done.

    Documents are bound to their doc ids, which are paths under the root the
    vault was written at; the message names that root.
    """
