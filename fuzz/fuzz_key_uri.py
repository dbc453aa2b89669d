"""Harness: ``sealdoc.key_from_uri``, on any text.

Each scheme's parser runs on untrusted text (a URI from a config file or a
command line). A ``local:`` URI names a file: the harness sets a passphrase
so that the keyring loader runs on whatever path comes up. A ``pkcs11:`` URI
would load the shared library it names: the harness refuses module paths
outside a nonexistent folder first, so nothing on the machine gets loaded.
"""

from __future__ import annotations

import os
from urllib.parse import unquote

from _common import main, sealdoc

os.environ["SEALDOC_PASSPHRASE"] = "fuzzing passphrase"  # read by local: URIs only


def test(data: bytes) -> None:
    uri = data.decode("utf-8", "surrogateescape")  # lone surrogates are text too
    if "module-path" in unquote(uri) and "module-path=/nonexistent/" not in uri:
        return
    sealdoc.key_from_uri(uri)


if __name__ == "__main__":
    main(test)
