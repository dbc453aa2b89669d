"""The delivery-password check: what the outside review got through it, and what must pass."""

from __future__ import annotations

import threading

import pytest

import sealdoc
from sealdoc import WeakPasswordError
from sealdoc._passwords import MIN_GUESSES_LOG10, _fold


def refused(password: str, *, personal: tuple[str, ...] = ()) -> str:
    """The reasons ``password`` is refused for, checked to hold no part of it."""
    with pytest.raises(WeakPasswordError) as caught:
        sealdoc.check_password(password, personal=personal)
    text = str(caught.value)
    assert password not in text
    assert _fold(password) not in _fold(text)
    for value in personal:
        assert value not in text
    assert list(caught.value.reasons) == sealdoc.password_problems(password, personal=personal)
    return text


@pytest.mark.parametrize(
    "password",
    [
        "+44 (20) 7946 0958",
        "+1 (555) 010-4477",
        "+49 30 9018 2037",
        "(0049) 30-9018-2037",
        "+33 6 12 34 56 78 90",
    ],
)
def test_phone_numbers_written_with_plus_spaces_and_brackets(password: str) -> None:
    assert "phone number" in refused(password)


@pytest.mark.parametrize(
    "password",
    [
        "GB82 WEST 1234 5698 7654 32",
        "DE89 3704 0044 0532 0130 00",
        "NL91ABNA0417164300",
        "ch93 0076 2011 6238 5295 7",
        "FR76-3000-6000-0112-3456-7890-189",
    ],
)
def test_ibans(password: str) -> None:
    assert "IBAN" in refused(password)


@pytest.mark.parametrize("password", ["A1234567890B", "CUST-00481923-77X", "4929 1234 5678 90AB"])
def test_account_and_card_numbers_with_a_few_letters(password: str) -> None:
    assert "mostly digits" in refused(password)


@pytest.mark.parametrize(
    ("password", "pattern"),
    [
        ("P@ssw0rd2024!", "look-alike symbols"),
        ("Summer2024!!", "common words"),
        ("1qaz2wsx3edc", "common words"),  # in zxcvbn's list of leaked passwords
        ("zxcvbnm,./asdfghjkl", "keyboard"),
        ("poiuytrewqlkjhg", "keyboard"),
        ("abcdefghijklmnop", "alphabet"),
        ("zyxwvutsrqponm", "alphabet"),
        ("Monkey!Monkey!Monkey!", "repeated"),
    ],
)
def test_patterns_a_guesser_tries_first(password: str, pattern: str) -> None:
    text = refused(password)
    assert f"at least 10^{MIN_GUESSES_LOG10} are needed" in text
    assert pattern in text


@pytest.mark.parametrize(
    ("password", "personal"),
    [
        ("Kettle-79460958-plum", ("+44 (20) 7946 0958",)),  # the phone's local part
        ("Kettle-02079460958", ("+44 20 7946 0958",)),
        ("Winterbottom-Kettle-9", ("Jane Winterbottom",)),  # the surname alone
        ("Kettle-14031985-plum", ("1985-03-14",)),  # the birth date in another order
        ("plum-C1029-kettle-x", ("C-1029",)),  # the customer number
    ],
)
def test_what_is_known_about_the_customer(password: str, personal: tuple[str, ...]) -> None:
    assert "known about the customer" in refused(password, personal=personal)
    sealdoc.check_password("orbit-plum-kettle-sunrise", personal=personal)


def test_personal_values_reach_the_estimator_too() -> None:
    """A l33t spelling of the customer's name: no substring, but zxcvbn knows it."""
    sealdoc.check_password("W1nterb0ttom-Kettle#4")
    text = refused("W1nterb0ttom-Kettle#4", personal=("Jane Winterbottom",))
    assert "known about the customer" in text


def test_personal_must_be_a_list_of_str() -> None:
    with pytest.raises(TypeError, match="not one str"):
        sealdoc.check_password("orbit-plum-kettle-sunrise", personal="Jane Smith")
    with pytest.raises(TypeError, match="personal values are str"):
        sealdoc.check_password("orbit-plum-kettle-sunrise", personal=[19850314])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "password",
    [
        "orbit-plum-kettle-sunrise",
        "Glass-Ferry-Quietly-Ninety",
        "Schmetterling-Regenbogen-Kaffee",  # German words, now in the dictionaries
        "жёлудь-маяк-крыльцо-завтра",
        "x" * 3 + "kettle-orbit-plum-sunrise-" * 20,  # longer than zxcvbn takes
    ],
)
def test_good_passwords_pass(password: str) -> None:
    assert sealdoc.password_problems(password) == []


def test_generated_passwords_always_pass() -> None:
    for groups, samples in ((5, 200), (4, 50), (3, 50)):
        for _ in range(samples):
            assert sealdoc.password_problems(sealdoc.generate_password(groups)) == []


def test_checks_in_threads_do_not_see_each_others_personal_values() -> None:
    """zxcvbn keeps user_inputs in a module global: the check serialises its use."""
    failures: list[str] = []

    def check(name: str, expect_refused: bool) -> None:
        for _ in range(30):
            got = bool(sealdoc.password_problems("W1nterb0ttom-Kettle#4", personal=[name]))
            if got != expect_refused:
                failures.append(name)

    threads = [
        threading.Thread(target=check, args=("Jane Winterbottom", True)),
        threading.Thread(target=check, args=("Alan Brightwater", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
