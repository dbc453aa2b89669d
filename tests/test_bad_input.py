"""Any bytes given to open, open_stream or inspect end in a SealdocError; misuse, TypeError."""

from __future__ import annotations

import contextlib
import io
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sealdoc
from sealdoc import DecryptionError, FormatError, MemoryKeyring, SealdocError
from sealdoc import _format as fmt

RING = MemoryKeyring()
SEALED = sealdoc.seal(
    b"account 1234 balance 99.00" * 20, keys=RING, context={"tenant": "acme"}, segment_size=64
)


def open_all_ways(data: bytes) -> None:
    """Every entry point that takes untrusted bytes; each must raise SealdocError or succeed."""
    for attempt in (
        lambda: sealdoc.open(data, keys=RING),
        lambda: sealdoc.open_stream(io.BytesIO(data), keys=RING).read(),
        lambda: sealdoc.inspect(data),
        lambda: sealdoc.inspect(io.BytesIO(data)),
    ):
        with contextlib.suppress(SealdocError):
            attempt()


@given(st.binary(max_size=2048))
def test_random_bytes_end_in_sealdoc_errors(data: bytes) -> None:
    open_all_ways(data)
    open_all_ways(b"SDOC\x01" + data)


@given(st.data())
def test_mutated_documents_end_in_sealdoc_errors(data: st.DataObject) -> None:
    doc = bytearray(SEALED)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(doc) - 1))
        doc[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(doc)))
    open_all_ways(bytes(doc[:cut]))
    open_all_ways(bytes(doc))


@pytest.mark.parametrize("cut", range(len(SEALED)))
def test_every_truncation_is_rejected(cut: int) -> None:
    with pytest.raises(SealdocError):
        sealdoc.open(SEALED[:cut], keys=RING)
    with pytest.raises(SealdocError):
        sealdoc.open_stream(io.BytesIO(SEALED[:cut]), keys=RING).read()


def test_header_length_is_bounded_before_reading() -> None:
    huge = fmt.MAGIC + b"\x01" + (2**32 - 1).to_bytes(4, "big")
    with pytest.raises(FormatError, match="header length"):
        sealdoc.open_stream(io.BytesIO(huge + b"rest"), keys=RING)
    with pytest.raises(FormatError, match="header length"):
        sealdoc.open(huge, keys=RING)

    class Prefixed(io.RawIOBase):
        """A header that claims the maximum length, followed by endless junk."""

        def __init__(self) -> None:
            self.prelude = fmt.MAGIC + b"\x01" + fmt.MAX_HEADER_LEN.to_bytes(4, "big")
            self.served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: memoryview) -> int:  # type: ignore[override]
            n = len(b)
            head = self.prelude[self.served : self.served + n]
            b[: len(head)] = head
            b[len(head) : n] = b"\xff" * (n - len(head))
            self.served += n
            return n

    prefixed = Prefixed()
    with pytest.raises(FormatError):
        sealdoc.open_stream(prefixed, keys=RING)
    assert prefixed.served <= fmt.MAX_HEADER_LEN


def test_not_a_document() -> None:
    with pytest.raises(FormatError, match="not a sealed document"):
        sealdoc.open(b"%PDF-1.7 ...", keys=RING)
    with pytest.raises(FormatError):
        sealdoc.open(b"", keys=RING)
    with pytest.raises(FormatError, match="truncated"):
        sealdoc.inspect(b"SDO")


def test_format_and_decryption_errors_are_also_value_errors() -> None:
    assert issubclass(FormatError, ValueError)
    assert issubclass(DecryptionError, ValueError)
    assert issubclass(sealdoc.KeyProviderError, RuntimeError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sealdoc.seal("text", keys=RING), "data must be bytes-like"),  # type: ignore[arg-type]
        (lambda: sealdoc.seal(b"x", keys=b"ring"), "keys must be a key provider"),  # type: ignore[arg-type]
        (lambda: sealdoc.seal(b"x", keys=[RING, 3]), "keys must be a key provider"),  # type: ignore[list-item]
        (lambda: sealdoc.seal(b"x", keys=RING, context={"a": 1}), "must be str"),  # type: ignore[dict-item]
        (lambda: sealdoc.seal(b"x", keys=RING, context=[("a", "b")]), "mapping"),  # type: ignore[arg-type]
        (lambda: sealdoc.open("text", keys=RING), "sealed must be bytes-like"),  # type: ignore[arg-type]
        (lambda: sealdoc.inspect(42), "inspect\\(\\) takes bytes"),  # type: ignore[arg-type]
        (lambda: sealdoc.seal_stream(b"x", io.BytesIO(), keys=RING), "src must be"),  # type: ignore[arg-type]
        (lambda: sealdoc.seal(b"x", keys=RING, segment_size=1.5), "segment_size"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_say_what_was_expected(call: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keys": []},
        {"keys": RING, "segment_size": 10},
        {"keys": RING, "segment_size": 2**25},
        {"keys": RING, "context": {"": "empty key"}},
        {"keys": RING, "context": {"k": "v" * 5000}},
        {"keys": RING, "context": {f"k{i}": "v" for i in range(65)}},
        {"keys": [MemoryKeyring() for _ in range(33)]},
        {"keys": RING, "suite": 99},
    ],
)
def test_values_over_a_limit_are_refused_when_sealing(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        sealdoc.seal(b"x", **kwargs)  # type: ignore[arg-type]


SECRET_PLAINTEXT = b"PLAINTEXT-MARKER-7f3a"


def test_no_secret_in_reprs_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ring = MemoryKeyring()
    kek = ring._keys["default"].versions[1].secret
    sealed = sealdoc.seal(SECRET_PLAINTEXT, keys=ring, binding={"customer": "C-SECRET"})
    texts = [repr(ring), repr(sealdoc.inspect(sealed)), str(sealdoc.inspect(sealed))]
    reader = sealdoc.open_stream(io.BytesIO(sealed), keys=ring, binding={"customer": "C-SECRET"})
    texts.append(repr(reader))
    texts.append(repr(ring._keys["default"].versions[1]))
    for bad in (sealed[:-1], sealed[:-20] + bytes(20)):
        try:
            sealdoc.open(bad, keys=ring, binding={"customer": "C-SECRET"})
        except SealdocError as exc:
            texts += [str(exc), repr(exc), repr(getattr(exc, "attempts", ()))]
    try:
        sealdoc.open(sealed, keys=MemoryKeyring(), binding={"customer": "C-SECRET"})
    except SealdocError as exc:
        texts += [str(exc), repr(exc)]
    texts += [r.getMessage() for r in caplog.records]
    blob = "\n".join(texts)
    for secret in (kek.hex(), kek.hex().upper(), SECRET_PLAINTEXT.decode(), "C-SECRET"):
        assert secret not in blob
    assert repr(kek) not in blob
