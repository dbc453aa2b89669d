"""Text from documents, made safe for a terminal before it is printed.

A header's context, key ids and kinds come from whoever made the document,
with no key needed: a newline there could forge a log line, and an ANSI
escape or a bidi override could rewrite what the operator sees. Everything
the CLI prints from a header or a store listing goes through :func:`shown`.
"""

from __future__ import annotations

import unicodedata

# Cc: controls (C0, DEL, C1: ESC starts ANSI sequences); Cf: format characters
# (bidi overrides and isolates, zero-width joiners); Zl/Zp: line and
# paragraph separators, which some terminals and log viewers break lines on.
_UNSAFE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))


def shown(text: object) -> str:
    """``text`` with every unsafe character written as a ``\\x..``/``\\u....`` escape.

    Printable text (any script) passes unchanged; a backslash is doubled so
    that an escape in the output always means the character was escaped.
    """
    value = str(text)
    if value.isprintable() and "\\" not in value:
        return value
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _UNSAFE:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return "".join(out)


__all__ = ["shown"]
