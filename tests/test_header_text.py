"""Hostile text in headers (format.md 3.6) and error text that tells an untrusted party nothing.

A crafted header once forged audit lines and erased a terminal through a key
id holding ESC sequences; and ``str(DecryptionError)`` listed every key id
tried and its state.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import pytest

import sealdoc
from sealdoc import DecryptionError, FormatError, MemoryKeyring, WrappedKey
from sealdoc._names import check_doc_id
from sealdoc._text import FORBIDDEN_RANGES, forbidden_char, safe
from sealdoc.exceptions import InvalidDocumentIdError, NotMineError
from sealdoc.providers import AssociatedData, Password

HOSTILE = [
    "\n",  # forges a log line
    "\r",
    "\x00",
    "\x1b",  # ANSI escapes: clears the screen, moves the cursor
    "\x7f",
    "\x85",  # C1 NEL
    "\x9b",  # C1 CSI
    "\u200b",  # zero-width space
    "\u200f",  # right-to-left mark
    "\u2028",  # line separator
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\ufeff",
    "\U000e0041",  # tag character
    "\ud800",  # a lone surrogate
]
IDS = [f"U+{ord(c):04X}" for c in HOSTILE]
RING = MemoryKeyring()


def codepoint(char: str) -> str:
    """The code point as messages name it, as a regex."""
    return f"U\\+{ord(char):04X}"


def test_the_table_covers_every_control_format_and_separator_character() -> None:
    import sys
    import unicodedata

    categories = ("Cc", "Cf", "Cs", "Zl", "Zp")
    missing = [
        hex(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in categories and forbidden_char(chr(cp)) is None
    ]
    assert missing == []
    assert all(a <= b for a, b in FORBIDDEN_RANGES)
    for ok in ("café", "Grüße", "東京", "😀", "e\u0301", "a b-c_d.e", "\ufe0f"):
        assert forbidden_char(ok) is None


def test_forbidden_char_is_exactly_the_ranges_for_every_code_point() -> None:
    # forbidden_char has an ASCII fast path (isprintable); it must agree with
    # FORBIDDEN_RANGES everywhere, alone and inside otherwise allowed text
    import sys

    forbidden = {cp for a, b in FORBIDDEN_RANGES for cp in range(a, b + 1)}
    wrong = [
        hex(cp)
        for cp in range(sys.maxunicode + 1)
        if (forbidden_char(chr(cp)) is not None) != (cp in forbidden)
    ]
    assert wrong == []
    for cp in range(0x80):
        text = f"tenant-{chr(cp)}-acme"
        assert forbidden_char(text) == (chr(cp) if cp in forbidden else None)


@pytest.mark.parametrize("char", HOSTILE, ids=IDS)
@pytest.mark.parametrize("where", ["context key", "context value", "binding key", "binding value"])
def test_sealing_refuses_forbidden_characters(char: str, where: str) -> None:
    what, part = where.split()
    text = f"a{char}b"
    mapping = {text: "v"} if part == "key" else {"k": text}
    with pytest.raises(ValueError, match=codepoint(char)) as info:
        sealdoc.seal(b"x", keys=RING, **{what: mapping})  # type: ignore[arg-type]
    assert char not in str(info.value)
    with pytest.raises(ValueError, match=codepoint(char)):
        sealdoc.seal_stream(io.BytesIO(b"x"), io.BytesIO(), keys=RING, **{what: mapping})  # type: ignore[arg-type]


@pytest.mark.parametrize("char", HOSTILE, ids=IDS)
def test_opening_refuses_a_callers_map_with_forbidden_characters(char: str) -> None:
    sealed = sealdoc.seal(b"x", keys=RING)
    with pytest.raises(ValueError, match=codepoint(char)):
        sealdoc.open(sealed, keys=RING, context={"k": f"v{char}"})


@pytest.mark.parametrize("char", HOSTILE, ids=IDS)
def test_key_ids_and_labels_refuse_forbidden_characters(char: str) -> None:
    name = f"tenant{char}a"
    with pytest.raises(ValueError, match=codepoint(char)):
        MemoryKeyring(key_id=name)
    with pytest.raises(ValueError, match=codepoint(char)):
        MemoryKeyring().add_key(name)
    with pytest.raises(ValueError, match=codepoint(char)):
        Password("correct horse battery", label=name)


class HostileProvider:
    """A provider whose wrap names a key id the format refuses."""

    kind = "memory"

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        return WrappedKey("memory", "evil\x1b[2J", 1, b"\x01" * 60)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise NotMineError("never")

    def handles(self, wrapped: WrappedKey) -> bool:
        return False


def test_a_provider_cannot_write_a_forbidden_key_id() -> None:
    with pytest.raises(ValueError, match="U\\+001B"):
        sealdoc.seal(b"x", keys=HostileProvider())


def _with(sealed: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new)
    assert sealed.count(old) == 1
    return sealed.replace(old, new)


@pytest.mark.parametrize("char", [c for c in HOSTILE if c != "\ud800"], ids=IDS[:-1])
def test_parsing_refuses_forbidden_characters_naming_the_field(char: str) -> None:
    raw = char.encode("utf-8")
    base = sealdoc.seal(b"x", keys=MemoryKeyring(key_id="KEYIDKEYID"), context={"KKKKKK": "VVVVVV"})
    cases = {
        "context key": _with(base, b"KKKKKK", b"K" + raw + b"K" * (5 - len(raw))),
        "context value": _with(base, b"VVVVVV", b"V" + raw + b"V" * (5 - len(raw))),
        "key id": _with(base, b"KEYIDKEYID", b"KEY" + raw + b"D" * (7 - len(raw))),
    }
    for field, doc in cases.items():
        for attempt in (
            lambda d=doc: sealdoc.open(d, keys=RING),
            lambda d=doc: sealdoc.inspect(d),
            lambda d=doc: sealdoc.inspect(io.BytesIO(d)),
            lambda d=doc: sealdoc.open_stream(io.BytesIO(d), keys=RING),
        ):
            with pytest.raises(FormatError, match=f"{field} holds {codepoint(char)}") as info:
                attempt()
            assert char not in str(info.value)


@pytest.mark.parametrize("char", HOSTILE, ids=IDS)
def test_doc_ids_and_html_filenames_refuse_forbidden_characters(char: str) -> None:
    with pytest.raises(InvalidDocumentIdError):
        check_doc_id(f"statements/2026{char}11")
    with pytest.raises(ValueError, match="format character"):
        sealdoc.export_html(
            b"x", password="correct horse battery staple", filename=f"statement{char}.pdf"
        )


def test_callers_may_not_use_the_reserved_prefix_in_a_context() -> None:
    for key in ("sealdoc:header", "sealdoc:binding:customer", "sealdoc:filename"):
        with pytest.raises(ValueError, match="reserved"):
            sealdoc.seal(b"x", keys=RING, context={key: "forged"})
        with pytest.raises(ValueError, match="reserved"):
            sealdoc.seal_stream(io.BytesIO(b"x"), io.BytesIO(), keys=RING, context={key: "f"})
    # sealdoc's own reserved keys still work: the HTML page, a rotate that keeps them
    page = sealdoc.export_html(b"x", password="correct horse battery staple", filename="a.txt")
    sealed = sealdoc.sealed_from_html(page)
    assert sealdoc.inspect(sealed).context["sealdoc:filename"] == "a.txt"
    pw = Password("correct horse battery staple", kdf="pbkdf2-sha256")
    rotated = sealdoc.rotate(sealed, keys=pw)
    assert sealdoc.inspect(rotated).context["sealdoc:filename"] == "a.txt"


def test_safe_escapes_what_could_forge_a_line_and_keeps_the_rest() -> None:
    assert safe("a\nb") == "a\\x0ab"
    assert safe("\x1b[2J") == "\\x1b[2J"
    assert safe("pay\u202etxt.exe") == "pay\\u202etxt.exe"
    assert safe("\U000e0041") == "\\U000e0041"
    assert safe("back\\slash") == "back\\\\slash"
    assert safe("café 東京 😀") == "café 東京 😀"


# -- error text (format.md 9) ----------------------------------------------------


def _doc_under(ring: MemoryKeyring) -> bytes:
    return sealdoc.seal(b"x", keys=ring, context={"tenant": "acme"})


def test_decryption_error_text_names_no_key_version_or_state() -> None:
    ring = MemoryKeyring(key_id="customer-alice", ring_id=None)
    doc = _doc_under(ring)
    ring.rotate()
    ring.destroy(1)
    errors: list[DecryptionError] = []
    attempts: tuple[Callable[[], bytes], ...] = (
        lambda: sealdoc.open(doc, keys=ring),
        lambda: sealdoc.open(doc, keys=MemoryKeyring(key_id="customer-bob")),
        lambda: sealdoc.open(doc, keys=ring, context={"tenant": "globex"}),
        lambda: sealdoc.open(doc, keys=ring, binding={"customer": "C-1"}),
        lambda: sealdoc.open(doc[:-1], keys=MemoryKeyring()),
    )
    for attempt in attempts:
        with pytest.raises(DecryptionError) as info:
            attempt()
        errors.append(info.value)
    for error in errors:
        assert str(error) == "cannot open this document"
        assert "alice" not in repr(error)
        assert "destroyed" not in repr(error)
    destroyed = errors[0]
    assert "version 1 was destroyed" in destroyed.details()
    (tried,) = destroyed.attempts
    assert tried.label == "memory:customer-alice#1"
    assert tried.outcome == "declined"
    assert "destroyed" in tried.reason
    assert "MemoryKeyring" in tried.provider
    assert errors[2].reason.startswith("context mismatch")


class DownProvider:
    kind = "memory"

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        raise NotImplementedError

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise ConnectionError("the key service for customer-alice is down")

    def handles(self, wrapped: WrappedKey) -> bool:
        return True


def test_provider_error_text_names_no_key_either() -> None:
    doc = _doc_under(MemoryKeyring(key_id="customer-alice", ring_id=None))
    with pytest.raises(sealdoc.KeyProviderError) as info:
        sealdoc.open(doc, keys=DownProvider())
    assert "alice" not in str(info.value)
    assert str(info.value) == "cannot open this document: a key provider failed"
    assert info.value.attempts[0].outcome == "failed"
    assert "customer-alice is down" in info.value.details()
    assert isinstance(info.value.__cause__, ConnectionError)


class EvilReasons:
    """A provider whose refusals hold line breaks and escapes."""

    kind = "memory"

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        raise NotImplementedError

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise NotMineError("no\nINFO sealdoc.audit unwrap memory:x#1 ok\x1b[2K")

    def handles(self, wrapped: WrappedKey) -> bool:
        return True


def test_details_are_logged_at_debug_and_escaped(caplog: pytest.LogCaptureFixture) -> None:
    doc = _doc_under(MemoryKeyring(ring_id=None))
    events: list[sealdoc.AuditEvent] = []
    remove = sealdoc.add_audit_hook(events.append)
    caplog.set_level(logging.DEBUG, logger="sealdoc")
    try:
        with pytest.raises(DecryptionError) as info:
            sealdoc.open(doc, keys=EvilReasons())
    finally:
        remove()
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("cannot open this document" in m and "memory:default#1" in m for m in debug)
    for text in [*debug, info.value.details()] + [
        r.getMessage() for r in caplog.records if r.name == "sealdoc.audit"
    ]:
        assert "\x1b" not in text
        assert "\nINFO" not in text
    assert all("\n" not in e.detail and "\x1b" not in e.detail for e in events)
