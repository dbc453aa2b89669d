"""Which characters a header's text may hold, and how header text is shown safely.

format.md 3.6: key ids, context and binding keys and values must not hold
control characters, line or paragraph separators, bidi overrides or other
format characters. A header is attacker-made input that reaches audit logs,
exception messages and terminals; these characters forge log lines, move the
cursor or reorder what a reader sees.

The set is a fixed list of code points (below), not "whatever the running
Python calls category Cc/Cf", so that every reader of format v1 refuses the
same documents whatever its Unicode version.

Invisible characters that the set does not hold (the rest of Unicode's
Default_Ignorable_Code_Point: Hangul fillers, variation selectors, the
combining grapheme joiner...) are allowed in a header, and escaped wherever
text is shown (format.md 3.6 says why): ``safe`` escapes both tables.
"""

from __future__ import annotations

import re

# (first, last) code points, inclusive: format.md 3.6. Every Cc, Cf, Zl and
# Zp code point of Unicode 15.1 (U+2065, unassigned, is taken with its
# block's neighbours), plus the surrogates, which strict UTF-8 never yields
# but a Python str can hold.
FORBIDDEN_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F),  # C0 controls: NUL, newline, ESC...
    (0x007F, 0x009F),  # DEL and the C1 controls (CSI, NEL...)
    (0x00AD, 0x00AD),  # soft hyphen
    (0x0600, 0x0605),  # Arabic number signs
    (0x061C, 0x061C),  # Arabic letter mark
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x200B, 0x200F),  # zero-width space/joiners, LRM, RLM
    (0x2028, 0x202E),  # line and paragraph separators, bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated
    (0xD800, 0xDFFF),  # surrogates
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0001, 0xE0001),  # language tag
    (0xE0020, 0xE007F),  # tag characters
)


# Every Default_Ignorable_Code_Point of Unicode 15.1 (DerivedCoreProperties)
# that FORBIDDEN_RANGES does not hold. Allowed in a header (a reader that
# newly refused them would lock out documents already stored, and emoji,
# Mongolian and Japanese name variants use some), but they print as nothing:
# a key id or tenant "acme" + U+3164 looks like "acme". So everything shown
# escapes them (format.md 3.6).
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180D),  # Mongolian free variation selectors
    (0x180F, 0x180F),  # Mongolian free variation selector four
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors (U+FE0F: emoji presentation)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # reserved, default ignorable
    (0xE0000, 0xE0000),  # reserved in the tag block
    (0xE0002, 0xE001F),  # reserved in the tag block
    (0xE0080, 0xE00FF),  # reserved
    (0xE0100, 0xE01EF),  # variation selectors supplement (ideographic variants)
    (0xE01F0, 0xE0FFF),  # reserved, default ignorable
)
#: What ``safe`` escapes: the forbidden table and the invisible characters.
ESCAPED_RANGES = FORBIDDEN_RANGES + INVISIBLE_RANGES


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    def one(cp: int) -> str:
        return f"\\U{cp:08x}"

    return "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for a, b in ranges)


_FORBIDDEN = re.compile(f"[{_char_class(FORBIDDEN_RANGES)}]")
#: A regex character class (no brackets) of ESCAPED_RANGES, for others that strip them.
ESCAPED_CLASS = _char_class(ESCAPED_RANGES)
_ESCAPE = re.compile(f"[{ESCAPED_CLASS}\\\\]")

# Most header text is ASCII (tenants, document types, key ids). For ASCII,
# str.isprintable() is one C loop and answers exactly "none of 0x00-0x1F,
# 0x7F": a fast path only while FORBIDDEN_RANGES forbids exactly those
# ASCII code points, which is checked here, from the ranges, not assumed.
_ASCII_PRINTABLE_IS_ALLOWED = {
    cp for a, b in FORBIDDEN_RANGES for cp in range(a, b + 1) if cp < 0x80
} == {cp for cp in range(0x80) if not chr(cp).isprintable()}


def forbidden_char(text: str) -> str | None:
    """The first character of ``text`` that format.md 3.6 forbids, or None."""
    if _ASCII_PRINTABLE_IS_ALLOWED and text.isascii() and text.isprintable():
        return None
    found = _FORBIDDEN.search(text)
    return None if found is None else found.group()


def codepoint(char: str) -> str:
    """``U+001B``: how messages name a character without printing it."""
    return f"U+{ord(char):04X}"


def check_text(text: str, what: str) -> str:
    """``text`` unchanged, or ValueError naming the field and the code point (never the text)."""
    bad = forbidden_char(text)
    if bad is not None:
        raise ValueError(
            f"{what} holds {codepoint(bad)}, a control, separator or format character; "
            "these are refused in sealed-document headers"
        )
    return text


def _escape_one(found: re.Match[str]) -> str:
    char = found.group()
    if char == "\\":
        return "\\\\"
    cp = ord(char)
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def safe(text: object) -> str:
    """``text`` with every forbidden or invisible character (and backslash) escaped, ``repr``-style.

    For anything printed from a header, a provider or an error: log lines,
    audit details, the CLI's output. Printable text, accents and scripts
    other than Latin stay as they are; no quotes are added.
    """
    return _ESCAPE.sub(_escape_one, str(text))
