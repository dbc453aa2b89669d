"""The shared small helpers: base64 in its two alphabets, and one-or-many arguments."""

from __future__ import annotations

import binascii

import pytest

from sealdoc._args import as_list
from sealdoc._codec import std_b64decode, std_b64encode, url_b64decode, url_b64encode

# bytes whose base64 holds both alphabet-specific characters (62 and 63)
_BOTH = bytes([0xFB, 0xFF, 0xBF])


def test_each_alphabet_round_trips_and_differs_where_it_should() -> None:
    assert std_b64encode(_BOTH) == "+/+/"
    assert url_b64encode(_BOTH) == "-_-_"
    assert std_b64decode("+/+/") == url_b64decode("-_-_") == _BOTH
    assert std_b64encode(b"ab") == "YWI="  # standard keeps its padding
    assert url_b64encode(b"ab") == "YWI"  # URL-safe drops it...
    assert url_b64decode("YWI") == url_b64decode("YWI=") == b"ab"  # ...and takes either


def test_the_standard_decoder_refuses_what_is_not_its_alphabet() -> None:
    with pytest.raises(binascii.Error):
        std_b64decode("-_-_")
    with pytest.raises(binascii.Error):
        std_b64decode("YWI")  # padding missing
    with pytest.raises(binascii.Error):
        url_b64decode("Y")  # no length of base64 is 1 mod 4


def test_as_list_takes_one_value_or_a_sequence() -> None:
    assert as_list("local://ring.json") == ["local://ring.json"]
    assert as_list(b"raw") == [b"raw"]
    assert as_list(("a", "b")) == ["a", "b"]
    marker = object()
    assert as_list(marker) == [marker]
