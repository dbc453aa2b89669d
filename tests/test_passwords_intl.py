"""The password check beyond English (issue 19, item 8).

The outside review got through it with "correct horse battery staple",
``zürich-zürich-zürich``, the Russian word for "password" three times and
the Russian keyboard walk. These tests check the classes behind them: a
word of any script repeated, common words of other languages, keyboard
walks typed on other layouts, passphrases of common words with separators,
well-known example passphrases.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sealdoc
from sealdoc import WeakPasswordError

# Letters of the scripts customers type in (one alphabet a word is drawn from).
SCRIPTS = {
    "latin": "abcdefghijklmnopqrstuvwxyzäöüßéèêàçñøåłśźżčšžőű",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώ",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
}
SEPARATORS = ["", "-", " ", ".", "_", "!"]


def refused(password: str) -> list[str]:
    problems = sealdoc.password_problems(password)
    with pytest.raises(WeakPasswordError):
        sealdoc.check_password(password)
    assert problems
    return problems


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "zürich-zürich-zürich",
        "парольпарольпароль",
        "йцукенгшщзхъ",
    ],
)
def test_what_the_review_got_through(password: str) -> None:
    refused(password)


@pytest.mark.parametrize(
    "password",
    [
        "Correct-Horse-Battery-Staple",  # the same phrase written otherwise
        "correcthorsebatterystaple!",
        "The quick brown fox jumps over the lazy dog",
        "Straße-Straße-Straße",
        "Ελλάδα-Ελλάδα-Ελλάδα",
        "Пароль!Пароль!Пароль!",
        "hasło-hasło-hasło",
        "фывапролджэ12",  # the Russian home row  # noqa: RUF001 - Cyrillic on purpose
        "ςερτυθιοπασδφ",  # a Greek keyboard walk
        "gfhjkmgfhjkm",  # пароль typed with the keyboard left in Latin
        "purple monkey dishwasher",  # three common words, spaces between
        "sonnenschein-blume",  # two common German words
        "любовь навсегда",  # two common Russian words
    ],
)
def test_the_classes_behind_them(password: str) -> None:
    refused(password)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=st.sampled_from(sorted(SCRIPTS)),
    data=st.data(),
    times=st.integers(min_value=2, max_value=6),
    separator=st.sampled_from(SEPARATORS),
    capitalised=st.booleans(),
)
def test_any_word_repeated_is_refused_whatever_its_script(
    script: str, data: st.DataObject, times: int, separator: str, capitalised: bool
) -> None:
    word = data.draw(st.text(alphabet=SCRIPTS[script], min_size=1, max_size=10))
    if capitalised:
        word = word.capitalize()
    refused(separator.join([word] * times))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=st.sampled_from(sorted(SCRIPTS)),
    data=st.data(),
    times=st.integers(min_value=2, max_value=4),
)
def test_a_strong_part_repeated_is_not_refused_for_the_repeat(
    script: str, data: st.DataObject, times: int
) -> None:
    """The repeat rule judges the part: a generated password repeated stays strong."""
    part = sealdoc.generate_password(4)
    assert "repeated" not in " ".join(sealdoc.password_problems("-".join([part] * times)))


@pytest.mark.parametrize(
    "password",
    [
        "orbit-plum-kettle-sunrise",
        "Schmetterling-Regenbogen-Kaffee",
        "жёлудь-маяк-крыльцо-завтра",
        "θάλασσα-ποδήλατο-καρέκλα-σύννεφο",
    ],
)
def test_long_passphrases_of_less_common_words_still_pass(password: str) -> None:
    assert sealdoc.password_problems(password) == []


@pytest.mark.parametrize(
    "password",
    [
        "c0rr3ct h0rs3 b4tt3ry st4pl3",
        "C0rrectH0rseB4tterySt4ple!",
        "th3 qu1ck br0wn f0x jump5 0v3r th3 l4zy d0g",
        "m4y th3 f0rc3 b3 w1th y0u",
        "ALL-Y0UR-B4SE-4RE-BEL0NG-T0-U5",
    ],
)
def test_a_known_passphrase_in_leetspeak_is_refused(password: str) -> None:
    """A guesser's rules swap look-alikes in every list they hold, phrases included."""
    with pytest.raises(sealdoc.WeakPasswordError, match="well-known example passphrase"):
        sealdoc.check_password(password)


@pytest.mark.parametrize("password", ["vq9Lx#mZ2-kTp7!wQe", "8rt4-k9dm-3hq7-x5nb-w2jc"])
def test_undoing_look_alikes_leaves_strong_passwords_with_digits_alone(password: str) -> None:
    sealdoc.check_password(password)


def test_a_stranger_s_megabyte_password_is_refused_at_once() -> None:
    """The repeat check costs the square of the length (400,000 characters: 4 s, 4 MB:
    minutes): a service checking what a stranger sent refuses the absurd at once."""
    huge = "vq9Lx#mZ2-kTp7!wQe" * 6000  # 108,000 characters
    with pytest.raises(WeakPasswordError, match="at most 1,024 are checked"):
        sealdoc.check_password(huge[:-1] + "A")


def test_a_long_password_within_the_limit_is_still_checked_on_its_merits() -> None:
    sealdoc.check_password("".join(f"{i:04x}Qz#" for i in range(146))[:1024])
