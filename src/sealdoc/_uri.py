"""Key URIs: one function turns `local:///...`, `aws-kms://...` or `pkcs11:...` into a provider.

Schemes are registered under the entry-point group ``sealdoc.key_providers``
(name: the scheme; value: a callable ``(uri, **options) -> provider``), the
built-in ones exactly as a third-party package registers its own. Nothing is
imported until a URI of that scheme is resolved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ._provider_api import KeyProvider, is_provider
from .exceptions import KeyUriError, SealdocError

GROUP = "sealdoc.key_providers"

#: What ``keys=`` takes where URIs are welcome: providers, key URIs, or a mix.
KeysOrUris = KeyProvider | str | Sequence[KeyProvider | str]
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*\Z")
# Schemes whose provider ships in a sealdoc extra that may not be installed.
_EXTRAS = {"aws-kms": "aws", "pkcs11": "pkcs11"}


def _entry_points() -> Any:
    """The installed key-provider schemes: read when a URI is resolved, not at import."""
    from importlib import metadata  # noqa: PLC0415 - about 20 ms that --help need not pay

    return metadata.entry_points(group=GROUP)


def _scheme(uri: str) -> str:
    scheme, sep, _ = uri.partition(":")
    if not sep or not _SCHEME.match(scheme):
        # Not echoed: a str given as keys= by mistake may be a passphrase.
        known = ", ".join(f"{s}:" for s in _known_schemes()) or "none installed"
        raise KeyUriError(
            f"a str of {len(uri)} characters that is not a key URI (scheme:...; "
            f"schemes: {known}); keys take providers or key URIs"
        )
    return scheme


def _known_schemes() -> list[str]:
    return sorted({ep.name for ep in _entry_points()})


def _redact(uri: str) -> str:
    """A URI fit for an error message: query parameters (a PIN, a passphrase) hidden."""
    base, sep, _ = uri.partition("?")
    return base + ("?..." if sep else "")


def key_from_uri(uri: str, **options: Any) -> KeyProvider:
    """The key provider a key URI names.

    ``local:///path/to/keyring.json#key-id`` loads a LocalKeyring (its
    passphrase from ``passphrase=``, or from the environment variable named by
    ``passphrase_env=``, by default ``SEALDOC_PASSPHRASE``). Other schemes
    come from their packages: an unknown scheme, or one whose extra is not
    installed, raises KeyUriError saying what to install.
    """
    if not isinstance(uri, str):
        raise TypeError(f"a key URI is a str, not {type(uri).__name__}")
    # age's recipient strings (age1..., age1pq1...) have no scheme: the
    # device provider that serves x25519: reads them too
    scheme = "x25519" if uri.startswith("age1") else _scheme(uri)
    found = [ep for ep in _entry_points() if ep.name == scheme]
    if not found:
        if scheme in _EXTRAS:
            extra = _EXTRAS[scheme]
            raise KeyUriError(
                f"the {scheme} key provider is not installed: pip install 'sealdoc[{extra}]'"
            )
        known = sorted({ep.name for ep in _entry_points()})
        installed = ", ".join(known) or "none"
        raise KeyUriError(
            f"no key provider for the scheme {scheme!r} (installed: {installed}); "
            f"third-party providers register under the entry-point group {GROUP!r}"
        )
    try:
        factory = found[0].load()
        provider = factory(uri, **options)
    except ImportError as exc:
        hint = f": pip install 'sealdoc[{_EXTRAS[scheme]}]'" if scheme in _EXTRAS else ""
        raise KeyUriError(f"the {scheme} key provider cannot be imported{hint} ({exc})") from exc
    except SealdocError:
        raise
    except ValueError:
        # urllib's own refusals (an unbalanced '[' in the host, found by fuzz/)
        # and the like; the text is not repeated, it may hold a PIN.
        raise KeyUriError(f"a {scheme} key URI that cannot be parsed") from None
    if not is_provider(provider):
        raise KeyUriError(
            f"the {scheme} entry point returned {type(provider).__name__}, not a key provider"
        )
    return provider  # type: ignore[no-any-return]


def resolve_keys(keys: object) -> object:
    """``keys`` with any key-URI strings in it resolved to providers."""
    if isinstance(keys, str):
        return key_from_uri(keys)
    if isinstance(keys, list | tuple):
        return [key_from_uri(k) if isinstance(k, str) else k for k in keys]
    return keys
