"""rewrap/rewrap_stream and rotate/rotate_stream: one behaviour, two shapes.

Every case runs the bytes function and a stream function (from a seekable
``BytesIO`` and from a one-way pipe) on the same document and compares what
came out: the opened plaintext, the new header's wraps, the body or the
whole document byte for byte where that is deterministic, every audit event
(all fields but the timestamp) and the exception (type, message, details).

The one-way pipe differs only where docs/lifecycle.md says it does: its body
length is known at its end, so a truncated or tampered body is found after
some output was written (and, without ``verify=``, a rewrap copies the body
unchecked). And a stream rotate makes its new key (one wrap per recipient,
audited) before it reads the old body, which it must to write the new header
first; the bytes rotate authenticates the old body before it makes a key, so
a damaged document costs no wrap.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sealdoc
from sealdoc import AuditEvent, DecryptionError, KeyProviderError, MemoryKeyring, WrapLossError
from sealdoc.providers import KdfLimits, Password

from .providers import Down
from .test_streams import OneWay

SEG = 256
FORMS = ["stream", "pipe"]
Verb = str  # "rewrap" or "rotate"


@attrs.frozen
class Outcome:
    """Everything a caller can observe of one call."""

    result: bytes | None  # the returned document, or what the stream wrote on success
    written: bytes  # what reached dst (for bytes: the result, or nothing)
    error: tuple[type[BaseException], str, str] | None
    events: tuple[tuple[object, ...], ...]


def _event(e: AuditEvent) -> tuple[object, ...]:
    return (e.operation, e.outcome, e.provider_kind, e.key_id, e.key_version, e.context, e.detail)


def _error(exc: BaseException) -> tuple[type[BaseException], str, str]:
    details = getattr(exc, "details", None)
    return (type(exc), str(exc), details() if callable(details) else "")


def observe(form: str, verb: Verb, sealed: bytes, **options: Any) -> Outcome:
    """Run ``verb`` in one form; the stream forms through the bytes signature."""
    seen: list[AuditEvent] = []
    remove = sealdoc.add_audit_hook(seen.append)
    out = io.BytesIO()
    result: bytes | None = None
    error = None
    try:
        if form == "bytes":
            result = getattr(sealdoc, verb)(sealed, **options)
        else:
            src = io.BytesIO(sealed) if form == "stream" else OneWay(sealed, step=4099)
            written = getattr(sealdoc, f"{verb}_stream")(src, out, **options)
            assert written == len(out.getvalue())
            result = out.getvalue()
    except Exception as exc:
        error = _error(exc)
    finally:
        remove()
    written_bytes = out.getvalue() if form != "bytes" else (result or b"")
    return Outcome(result, written_bytes, error, tuple(_event(e) for e in seen))


def opened(sealed: bytes, keys: Any, binding: Any) -> object:
    """The plaintext, or the error (a rewrap passes a bad body on: it still opens nowhere)."""
    try:
        return sealdoc.open(sealed, keys=keys, binding=binding)
    except DecryptionError as exc:
        return _error(exc)


def body_of(sealed: bytes) -> bytes:
    return sealed[sealdoc.inspect(sealed).header_length :]


def refs(sealed: bytes) -> list[tuple[str, str, int]]:
    return [(w.kind, w.key_id, w.version) for w in sealdoc.inspect(sealed).wrapped_keys]


def assert_same(
    want: Outcome, got: Outcome, verb: Verb, sealed: bytes, opener: Any, *, binding: Any = None
) -> None:
    """The stream's outcome is the bytes one (new wraps are random: compared by meaning)."""
    assert got.error == want.error
    assert got.events == want.events
    if want.error is not None:
        assert got.written == b""  # nothing reached the destination
        return
    assert want.result is not None
    assert got.result is not None
    assert refs(got.result) == refs(want.result)
    assert opened(got.result, opener, binding) == opened(want.result, opener, binding)
    new, old = sealdoc.inspect(got.result), sealdoc.inspect(want.result)
    assert (new.context, new.suite, new.segment_size) == (old.context, old.suite, old.segment_size)
    if verb == "rewrap":
        assert body_of(got.result) == body_of(want.result) == body_of(sealed)
    if want.result == sealed:  # already current: both hand the document back unchanged
        assert got.result == sealed


@pytest.fixture(params=FORMS)
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def check(form: str, verb: Verb, sealed: bytes, opener: Any, **options: Any) -> Outcome:
    """The same call through bytes and through ``form``; the bytes outcome, once both agree."""
    want = observe("bytes", verb, sealed, **options)
    got = observe(form, verb, sealed, **options)
    assert_same(want, got, verb, sealed, opener, binding=options.get("binding"))
    return want


# -- documents ---------------------------------------------------------------------------


@pytest.fixture
def doc(ring: MemoryKeyring) -> bytes:
    return sealdoc.seal(os.urandom(5 * SEG + 3), keys=ring, context={"t": "a"}, segment_size=SEG)


@pytest.fixture
def escrow() -> MemoryKeyring:
    return MemoryKeyring(key_id="escrow", ring_id="kr-0000000000e5")


def tampered(sealed: bytes, at: int = -5) -> bytes:
    changed = bytearray(sealed)
    changed[at] ^= 1
    return bytes(changed)


# -- success --------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_bring_up_to_date(form: str, verb: Verb, ring: MemoryKeyring, doc: bytes) -> None:
    ring.rotate()
    want = check(form, verb, doc, ring, keys=ring)
    assert want.result is not None
    assert refs(want.result) == [("memory", "default@kr-00000000000a", 2)]
    assert want.events[-1][:2] == (verb, "ok")
    assert want.events[-1][-1] == (
        "memory:default@kr-00000000000a#1 -> memory:default@kr-00000000000a#2"
    )


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_to_replaces_the_whole_set(form: str, verb: Verb, ring: MemoryKeyring, doc: bytes) -> None:
    other = MemoryKeyring(key_id="tenant-b", ring_id="kr-0000000000b0")
    want = check(form, verb, doc, other, keys=ring, to=other)
    assert want.result is not None
    assert refs(want.result) == [("memory", "tenant-b@kr-0000000000b0", 1)]


def test_add_keeps_every_other_wrap(
    form: str, ring: MemoryKeyring, escrow: MemoryKeyring, doc: bytes
) -> None:
    want = check(form, "rewrap", doc, escrow, keys=ring, add=escrow)
    assert want.result is not None
    assert sealdoc.inspect(want.result).wrapped_keys[0] == sealdoc.inspect(doc).wrapped_keys[0]


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_drop(form: str, verb: Verb, ring: MemoryKeyring, escrow: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"statement", keys=[ring, escrow], segment_size=SEG)
    for drop in (escrow, "memory:escrow@kr-0000000000e5", "memory:escrow@kr-0000000000e5#1"):
        want = check(form, verb, sealed, ring, keys=ring, drop=drop)
        assert want.result is not None
        assert refs(want.result) == [("memory", "default@kr-00000000000a", 1)]


def test_rotate_changes_suite_and_segment_size(form: str, ring: MemoryKeyring, doc: bytes) -> None:
    suite = sealdoc.Suite.CHACHA20_POLY1305_HKDF_SHA256_COMMIT
    want = check(form, "rotate", doc, ring, keys=ring, suite=suite, segment_size=1024)
    assert want.result is not None
    assert (sealdoc.inspect(want.result).suite, sealdoc.inspect(want.result).segment_size) == (
        suite,
        1024,
    )


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_binding_and_context(form: str, verb: Verb, ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"x", keys=ring, context={"t": "a"}, binding={"doc": "7"})
    ring.rotate()
    want = check(form, verb, sealed, ring, keys=ring, context={"t": "a"}, binding={"doc": "7"})
    assert want.result is not None
    assert sealdoc.open(want.result, keys=ring, binding={"doc": "7"}) == b"x"


# -- already current ------------------------------------------------------------------------


@pytest.mark.parametrize("verify", [False, True])
def test_already_current_is_handed_back_byte_for_byte(
    form: str, verify: bool, ring: MemoryKeyring, doc: bytes
) -> None:
    assert sealdoc.is_current(doc, keys=ring)
    want = check(form, "rewrap", doc, ring, keys=ring, verify=verify)
    assert want.result == doc
    assert want.events[-1] == ("rewrap", "ok", "", "", None, {"t": "a"}, "already current")
    assert observe(form, "rewrap", doc, keys=ring, verify=verify).written == doc


def test_already_current_with_wraps_no_key_serves(
    form: str, ring: MemoryKeyring, escrow: MemoryKeyring
) -> None:
    sealed = sealdoc.seal(b"claim", keys=[ring, escrow], segment_size=SEG)
    assert check(form, "rewrap", sealed, ring, keys=ring).result == sealed


# -- refusals: nothing written, the same events and error --------------------------------


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_wrong_key(form: str, verb: Verb, doc: bytes) -> None:
    stranger = MemoryKeyring(ring_id="kr-00000000000a")  # alike, another KEK
    want = check(form, verb, doc, stranger, keys=stranger)
    assert want.error is not None
    assert want.error[0] is DecryptionError
    assert want.events[-1][:2] == (verb, "failed")
    assert want.events[-1][-1] == "cannot open this document"


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_wrong_context(form: str, verb: Verb, ring: MemoryKeyring, doc: bytes) -> None:
    want = check(form, verb, doc, ring, keys=ring, context={"t": "b"})
    assert want.error is not None
    assert want.error[0] is DecryptionError
    assert [e[:2] for e in want.events] == [(verb, "failed")]  # no key was tried


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_wrong_binding(form: str, verb: Verb, ring: MemoryKeyring) -> None:
    sealed = sealdoc.seal(b"x", keys=ring, binding={"doc": "7"})
    want = check(form, verb, sealed, ring, keys=ring, binding={"doc": "8"})
    assert want.error is not None
    assert want.error[0] is DecryptionError


def test_rotate_refuses_to_lose_a_wrap(
    form: str, ring: MemoryKeyring, escrow: MemoryKeyring
) -> None:
    sealed = sealdoc.seal(b"x", keys=[ring, escrow])
    want = check(form, "rotate", sealed, ring, keys=ring)
    assert want.error is not None
    assert want.error[0] is WrapLossError
    assert "memory:escrow@kr-0000000000e5#1" in want.error[1]
    assert want.events[-1][:2] == ("rotate", "failed")
    assert "would lose the wrapped key" in str(want.events[-1][-1])


def test_a_password_wrap_rotate_cannot_remake(form: str, ring: MemoryKeyring) -> None:
    lax = KdfLimits(argon2_min_memory_kib=8, argon2_min_cost=8)
    alice = Password("alice's long password", memory_kib=64, iterations=1, limits=lax)
    bob = Password("bob's long password", memory_kib=64, iterations=1, limits=lax)
    sealed = sealdoc.seal(b"x", keys=[ring, alice, bob])
    want = check(form, "rotate", sealed, ring, keys=[ring, alice])
    assert want.error is not None
    assert want.error[0] is WrapLossError
    assert check(form, "rotate", sealed, alice, keys=[ring, alice], drop=bob).error is None


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_bad_options(form: str, verb: Verb, ring: MemoryKeyring, doc: bytes) -> None:
    assert check(form, verb, doc, ring, keys=ring, to=ring, drop=ring).error is not None
    assert check(form, verb, doc, ring, keys=ring, drop="nolabel").error is not None
    if verb == "rewrap":
        error = check(form, verb, doc, ring, keys=ring, drop=ring).error
        assert error is not None
        assert "at least one wrapped key" in error[1]
    else:
        error = check(form, verb, doc, ring, keys=ring, segment_size=7).error
        assert error is not None
        assert error[0] is ValueError


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_a_provider_that_cannot_wrap(
    form: str, verb: Verb, ring: MemoryKeyring, doc: bytes
) -> None:
    want = check(form, verb, doc, ring, keys=ring, to=[ring, Down()])
    assert want.error is not None
    assert want.error[0] is KeyProviderError
    assert want.events[-2][:3] == ("wrap", "failed", "down")
    assert want.events[-1][:2] == (verb, "failed")


def test_a_tampered_header(form: str, ring: MemoryKeyring, doc: bytes) -> None:
    bad = tampered(doc, sealdoc.inspect(doc).header_length - 1)  # the header MAC
    for verb in ("rewrap", "rotate"):
        want = check(form, verb, bad, ring, keys=ring)
        assert want.error is not None
        assert "altered" in want.error[2]


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_a_truncated_header(form: str, verb: Verb, ring: MemoryKeyring, doc: bytes) -> None:
    for cut in (3, 40):
        want = check(form, verb, doc[:cut], ring, keys=ring)
        assert want.error is not None
        assert want.error[0] is sealdoc.FormatError
        assert want.events == ()  # no document to speak of: nothing audited


# -- the body ------------------------------------------------------------------------------


def test_verify_catches_a_tampered_body(ring: MemoryKeyring, doc: bytes) -> None:
    bad = tampered(doc)
    to = MemoryKeyring(ring_id="kr-0000000000b0")
    assert check("stream", "rewrap", bad, to, keys=ring, to=to).error is None  # header only
    want = check("stream", "rewrap", bad, to, keys=ring, to=to, verify=True)
    assert want.error is not None
    assert want.error[0] is DecryptionError
    assert "segment 5 failed authentication" in want.error[2]
    assert want.events[-1] == ("rewrap", "failed", "", "", None, {"t": "a"}, want.error[1])


@pytest.mark.parametrize("at", [-5, 300, -(SEG + 20)])
def test_verify_on_a_pipe_raises_once_the_bad_segment_is_read(
    ring: MemoryKeyring, doc: bytes, at: int
) -> None:
    """The same error and events as bytes; what was copied before it is the caller's to drop."""
    bad = tampered(doc, at)
    to = MemoryKeyring(ring_id="kr-0000000000b0")
    want = observe("bytes", "rewrap", bad, keys=ring, to=to, verify=True)
    got = observe("pipe", "rewrap", bad, keys=ring, to=to, verify=True)
    assert want.error is not None
    assert got.error == want.error
    assert got.events == want.events
    assert got.result is None


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
@pytest.mark.parametrize("cut", [3, 19 + SEG + 16 - 10])  # a last segment of 16, of 10 bytes
def test_a_truncated_body(verb: Verb, ring: MemoryKeyring, doc: bytes, cut: int) -> None:
    short = doc[:-cut]
    want = check("stream", verb, short, ring, keys=ring, to=MemoryKeyring())
    assert want.error is not None
    assert want.error[0] is DecryptionError
    assert [e[:2] for e in want.events] == [(verb, "failed")]  # found before any key is used


def test_a_body_short_of_a_whole_segment(ring: MemoryKeyring, doc: bytes) -> None:
    """A length an honest writer could produce: a rewrap passes it on, a rotate finds it."""
    short = doc[: -(3 + 16)]  # the last segment gone: the one before is not marked last
    assert check("stream", "rewrap", short, ring, keys=ring).result == short
    want = observe("bytes", "rotate", short, keys=ring)
    assert want.error is not None
    assert "segment 4 failed authentication" in want.error[2]
    # the bytes form authenticates the old body before it makes a new key: no wrap
    assert [e[:2] for e in want.events] == [("unwrap", "ok"), ("rotate", "failed")]
    for form in FORMS:  # found while re-encrypting: after the new header was written
        got = observe(form, "rotate", short, keys=ring)
        assert (got.error, got.result) == (want.error, None)
        # a stream form writes the new header first, so its key was made (and audited)
        assert [e[:2] for e in got.events] == [
            ("unwrap", "ok"),
            ("wrap", "ok"),
            ("rotate", "failed"),
        ]
        assert (got.events[0], got.events[2]) == want.events
    verified = check("stream", "rewrap", short, ring, keys=ring, verify=True)
    assert verified.error == want.error


def test_a_missing_body(ring: MemoryKeyring, doc: bytes) -> None:
    header_only = doc[: sealdoc.inspect(doc).header_length]
    for verb in ("rewrap", "rotate"):
        want = check("stream", verb, header_only, ring, keys=ring)
        assert want.error is not None
        assert "body is missing" in want.error[2]


def test_a_truncated_body_through_a_pipe(ring: MemoryKeyring, doc: bytes) -> None:
    """Known only at the end of a pipe: rotate and rewrap(verify=True) raise there."""
    short = doc[:-3]
    for verb, options in (("rotate", {}), ("rewrap", {"verify": True})):
        got = observe("pipe", verb, short, keys=ring, to=MemoryKeyring(), **options)
        assert got.error is not None
        assert got.error[0] is DecryptionError
        assert got.events[-1][:2] == (verb, "failed")
    # without verify= the body is copied as it comes: it still opens nowhere
    copied = observe("pipe", "rewrap", short, keys=ring, to=MemoryKeyring())
    assert copied.error is None
    assert copied.result is not None
    assert body_of(copied.result) == body_of(short)
    with pytest.raises(DecryptionError):
        sealdoc.open(copied.result, keys=ring)


@pytest.mark.parametrize("size", [0, 1, SEG, 2 * 1024 * 1024 + 5])
def test_verify_on_bodies_of_every_shape(form: str, ring: MemoryKeyring, size: int) -> None:
    sealed = sealdoc.seal(os.urandom(size), keys=ring, segment_size=SEG)
    want = check(form, "rewrap", sealed, ring, keys=ring, verify=True)
    assert want.result == sealed
    bad = tampered(sealed)
    error = check("stream", "rewrap", bad, ring, keys=ring, verify=True).error
    assert error is not None
    assert error[0] is DecryptionError


# -- the same options -------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["rewrap", "rotate"])
def test_both_forms_take_the_same_options(verb: Verb) -> None:
    import inspect

    def options(func: Callable[..., object]) -> dict[str, object]:
        return {
            name: p.default
            for name, p in inspect.signature(func).parameters.items()
            if p.kind is p.KEYWORD_ONLY
        }

    assert options(getattr(sealdoc, verb)) == options(getattr(sealdoc, f"{verb}_stream"))


def test_streams_are_checked_like_bytes(ring: MemoryKeyring, doc: bytes) -> None:
    with pytest.raises(TypeError, match="src must be a readable"):
        sealdoc.rewrap_stream(doc, io.BytesIO(), keys=ring)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dst must be a writable"):
        sealdoc.rotate_stream(io.BytesIO(doc), doc, keys=ring)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sealed must be bytes-like"):
        sealdoc.rewrap(io.BytesIO(doc), keys=ring)  # type: ignore[arg-type]


# -- random sets of keys ------------------------------------------------------------------------


def _bank() -> Iterator[MemoryKeyring]:
    bank = MemoryKeyring(ring_id="kr-0000000000c0")
    yield bank
    for name in ("cust-1", "cust-2", "escrow"):
        yield bank.add_key(name)


@settings(max_examples=40)
@given(
    sealed_for=st.sets(st.integers(0, 3), min_size=1),
    rotated=st.sets(st.integers(0, 3)),
    given_keys=st.sets(st.integers(0, 3), min_size=1),
    operation=st.sampled_from(["up", "add", "drop", "to", "rotate"]),
    target=st.integers(0, 3),
    form=st.sampled_from(FORMS),
    size=st.integers(0, 3 * SEG),
)
def test_random_sets_of_keys(
    *,
    sealed_for: set[int],
    rotated: set[int],
    given_keys: set[int],
    operation: str,
    target: int,
    form: str,
    size: int,
) -> None:
    keys = list(_bank())
    sealed = sealdoc.seal(
        os.urandom(size), keys=[keys[i] for i in sorted(sealed_for)], segment_size=SEG
    )
    for i in rotated:
        keys[i].rotate()
    holding = [keys[i] for i in sorted(given_keys)]
    verb = "rotate" if operation == "rotate" else "rewrap"
    options: dict[str, Any] = {"keys": holding}
    if operation in ("add", "drop", "to"):
        options[operation] = keys[target]
    want = check(form, verb, sealed, keys, **options)
    current = [
        sealdoc.is_current(source, keys=holding)
        for source in (sealed, io.BytesIO(sealed), OneWay(sealed), sealdoc.inspect(sealed))
    ]
    assert len(set(current)) == 1  # one answer, whatever form the document comes in
    if operation == "up" and want.error is None:
        # "current" is what makes a rewrap hand the document back unchanged
        assert current[0] == (want.result == sealed)


class GrowsAfterVerify(io.BytesIO):
    """A file another process appends to between rewrap_stream's two reads."""

    seeks = 0

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        self.seeks += 1
        if self.seeks == 3:  # the rewind after verifying: the body grows now
            here = self.tell()
            super().seek(0, os.SEEK_END)
            self.write(b"appended")
            super().seek(here)
        return super().seek(offset, whence)


def test_a_body_that_changes_length_between_the_two_reads(ring: MemoryKeyring, doc: bytes) -> None:
    seen: list[AuditEvent] = []
    remove = sealdoc.add_audit_hook(seen.append)
    try:
        with pytest.raises(DecryptionError) as info:
            sealdoc.rewrap_stream(GrowsAfterVerify(doc), io.BytesIO(), keys=ring, verify=True)
    finally:
        remove()
    assert "changed length" in info.value.details()
    assert (seen[-1].operation, seen[-1].outcome) == ("rewrap", "failed")


@pytest.mark.parametrize("size", [0, 65_535, 65_536, 65_537, 2 * 65_536 + 7, 1_100_000])
def test_default_segments_on_both_sides_of_the_first_read(
    form: str, ring: MemoryKeyring, size: int
) -> None:
    """A stream's body is read first in 64 KiB, then in whole chunks: every length agrees."""
    sealed = sealdoc.seal(os.urandom(size), keys=ring, context={"t": "a"})
    to = MemoryKeyring(ring_id="kr-0000000000b1")
    rewrapped = check(form, "rewrap", sealed, to, keys=ring, to=to, verify=True)
    assert rewrapped.error is None
    assert sealdoc.open(rewrapped.written, keys=to, context={"t": "a"}) == sealdoc.open(
        sealed, keys=ring, context={"t": "a"}
    )
    if size:  # a pipe has written part of it by then (docs/lifecycle.md): compare the error
        bad = tampered(sealed)
        want = observe("bytes", "rewrap", bad, keys=ring, to=to, verify=True)
        assert want.error is not None
        assert observe(form, "rewrap", bad, keys=ring, to=to, verify=True).error == want.error
