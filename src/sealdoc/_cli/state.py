"""What every command shares: the keyring, its passphrase, and keys from key URIs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from .config import global_setting

if TYPE_CHECKING:
    from ..providers import LocalKeyring

# The keyring, key URIs and credentials are imported where they are used:
# the root group builds a State on every run, --help included, and those
# bring in attrs, cryptography and PyNaCl (docs/performance.md, "CLI start-up").

PASSPHRASE_ENV = "SEALDOC_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
PASSPHRASE_FILE_ENV = "SEALDOC_PASSPHRASE_FILE"  # noqa: S105 - a variable name
KEYRING_ENV = "SEALDOC_KEYRING"


def default_keyring() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sealdoc" / "keyring.json"


class State:
    """The global options, resolved when first needed.

    Resolved late because ``--config`` may come after the subcommand: the
    command line and environment win, then the config file, then defaults.
    """

    def __init__(
        self,
        ctx: click.Context,
        *,
        keyring: Path | None,
        passphrase_env: str | None,
        passphrase_file: Path | None,
    ) -> None:
        self._ctx = ctx
        self._keyring = keyring
        self._passphrase_env = passphrase_env
        self._passphrase_file = passphrase_file
        self._passphrase: str | None = None

    @property
    def keyring(self) -> Path:
        if self._keyring is not None:
            return self._keyring
        configured = global_setting(self._ctx, "keyring")
        return Path(configured) if configured else default_keyring()

    @property
    def passphrase_env(self) -> str:
        return self._passphrase_env or global_setting(self._ctx, "passphrase-env") or PASSPHRASE_ENV

    def _passphrase_file_path(self) -> Path | None:
        if self._passphrase_file is not None:
            return self._passphrase_file
        configured = global_setting(self._ctx, "passphrase-file")
        return Path(configured) if configured else None

    def passphrase(self, *, confirm: bool = False) -> str:
        """The keyring passphrase, asked for at most once per run."""
        if self._passphrase is None:
            from . import credentials  # noqa: PLC0415 - see the imports

            self._passphrase = credentials.passphrase(
                env_var=self.passphrase_env, file=self._passphrase_file_path(), confirm=confirm
            )
        return self._passphrase

    def load(self) -> LocalKeyring:
        from ..providers._local import LocalKeyring  # noqa: PLC0415 - see the imports

        return LocalKeyring.load(self.keyring, passphrase=self.passphrase())

    def key(self, uri: str) -> Any:
        """The provider a key URI names; a ``local:`` keyring gets the CLI's passphrase."""
        from .._uri import key_from_uri  # noqa: PLC0415 - see the imports

        if urlsplit(uri).scheme == "local":
            return key_from_uri(uri, passphrase=self.passphrase())
        return key_from_uri(uri)

    def keys(self, uris: tuple[str, ...] | list[str]) -> Any:
        """Providers for ``--key URI...``, or the local keyring when none is given."""
        return [self.key(u) for u in uris] if uris else self.load()

    def key_uris(self, uris: tuple[str, ...] | list[str]) -> list[str]:
        """Key URIs for Dask workers, which resolve them (and their secrets) themselves."""
        return list(uris) or [f"local://{self.keyring.resolve()}"]


__all__ = ["KEYRING_ENV", "PASSPHRASE_ENV", "PASSPHRASE_FILE_ENV", "State", "default_keyring"]
