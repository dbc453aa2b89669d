"""Delivery passwords: a strength check to apply before delivery, and a generator.

A delivered copy can be guessed at offline, as fast as the attacker's
hardware runs the KDF: the check refuses what a guesser tries first. The
figures in the messages are worked out in docs/delivery.md.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import date

from .exceptions import WeakPasswordError

MIN_LENGTH = 12
# Unambiguous when read aloud or copied from a letter: no 0/o, 1/l/i.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_SEPARATORS = re.compile(r"[\s\-/.,_:]+")
_COMMON = (
    "password",
    "passwort",
    "motdepasse",
    "contraseña",
    "qwerty",
    "azerty",
    "letmein",
    "welcome",
    "iloveyou",
    "admin",
    "abc123",
    "123456",
    "statement",
)


def generate_password(groups: int = 5) -> str:
    """A random password: ``groups`` groups of four characters (about 19.8 bits each).

    The default, five groups (about 99 bits), cannot be guessed offline at
    any KDF cost. Send it by another channel than the document (an SMS, the
    customer's online banking).

    >>> import sealdoc
    >>> len(sealdoc.generate_password())
    24
    """
    if groups < 3:
        raise ValueError("at least 3 groups (about 59 bits)")
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(groups))


def _fold(text: str) -> str:
    """Case-folded, NFKC, with separators removed: how a guesser would normalise."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


def _is_date(digits: str) -> bool:
    """Whether a string of digits reads as a calendar date in a common order."""
    if len(digits) == 8:
        orders = [(digits[:4], digits[4:6], digits[6:]), (digits[4:], digits[2:4], digits[:2])]
        orders.append((digits[4:], digits[:2], digits[2:4]))
    elif len(digits) == 6:
        orders = [
            ("19" + digits[:2], digits[2:4], digits[4:]),
            ("19" + digits[4:], digits[2:4], digits[:2]),
            ("19" + digits[4:], digits[:2], digits[2:4]),
        ]
    else:
        return False
    for year, month, day in orders:
        try:
            date(int(year), int(month), int(day))
        except ValueError:
            continue
        return True
    return False


def password_problems(password: str, *, personal: Iterable[str] = ()) -> list[str]:
    """Why ``password`` would be a poor delivery password (empty list: none found).

    ``personal`` takes what is known about the customer (identity number,
    date of birth, names, e-mail, phone): a password containing any of them
    is refused. No message repeats the password or a personal value.
    """
    if not isinstance(password, str):
        raise TypeError(f"a password is a str, not {type(password).__name__}")
    if not password:
        return ["it is empty"]
    problems = []
    folded = _fold(password)
    if len(password) < MIN_LENGTH:
        problems.append(
            f"it has {len(password)} characters; at least {MIN_LENGTH} are needed, "
            "since anyone holding the delivered copy can guess offline"
        )
    if folded.isdigit() and _is_date(folded):
        problems.append(
            "it reads as a date, such as a date of birth: a century holds only about "
            "36,500 dates, all tried in seconds, and birth dates are printed on forms, "
            "cards and social media"
        )
    elif folded.isdigit():
        problems.append(
            f"it is only digits, like an identity, account or phone number: there are at "
            f"most 10^{len(folded)} of them, every one can be tried offline (all 10-digit "
            "numbers in about a week on one GPU at PBKDF2's cost, hours on rented ones), "
            "and the people around the customer, or a leaked database, may already know it"
        )
    for value in personal:
        known = _fold(value)
        if len(known) >= 3 and known in folded:
            problems.append(
                "it contains something known about the customer (given in personal=): "
                "an identity number, a birth date or a name is the first thing tried"
            )
            break
    if len(set(unicodedata.normalize("NFKC", password).casefold())) < 5:
        problems.append("it uses fewer than 5 different characters")
    if any(word in folded for word in _COMMON):
        problems.append("it is built on a common password, the first ones a guesser tries")
    return problems


def check_password(password: str, *, personal: Iterable[str] = ()) -> None:
    """Raise :class:`~sealdoc.exceptions.WeakPasswordError` if ``password`` is poor.

    Apply it before delivering with a password; the reasons say what is wrong
    and why, never the password.

    >>> import sealdoc
    >>> sealdoc.check_password("19850314")
    Traceback (most recent call last):
    ...
    sealdoc.exceptions.WeakPasswordError: the password is too weak: it has 8 characters; ...
    >>> sealdoc.check_password(sealdoc.generate_password())
    """
    problems = password_problems(password, personal=personal)
    if problems:
        raise WeakPasswordError(problems)
