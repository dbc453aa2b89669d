"""Text from documents, made safe for a terminal before it is printed.

A header's context, key ids and kinds come from whoever made the document,
with no key needed: a newline there could forge a log line, and an ANSI
escape or a bidi override could rewrite what the operator sees. Everything
the CLI prints from a header or a store listing goes through :func:`shown`.
"""

from __future__ import annotations

import unicodedata

from .._text import safe

# What the terminal may still misread once the format.md 3.6 table is
# escaped, by the running Python's Unicode: private-use and unassigned code
# points (a newer terminal may give one a format meaning), and any control
# or format character added to Unicode after that fixed table.
_UNSAFE_HERE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))


def shown(text: object) -> str:
    """``text`` with every unsafe character written as a ``\\x..``/``\\u....`` escape.

    The escaping of :func:`sealdoc._text.safe` (the one the library's errors
    and audit lines use, so both say the same), plus the code points above.
    Printable text (any script) passes unchanged; a backslash is doubled so
    that an escape in the output always means the character was escaped.
    """
    value = safe(text)
    if value.isprintable():
        return value
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _UNSAFE_HERE
        else ch
        for ch in value
    )


__all__ = ["shown"]
