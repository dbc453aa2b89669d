"""Delivery passwords: a strength check to apply before delivery, and a generator.

A delivered copy can be guessed at offline, as fast as the attacker's
hardware runs the KDF: the check refuses what a guesser tries first. The
figures in the messages are worked out in docs/delivery.md.

Two layers: zxcvbn (the Python port of Dropbox's estimator) estimates how
many guesses a pattern-aware guesser needs (dictionaries, l33t, keyboard
walks, sequences, dates, repeats, the customer's own data), and the checks
here catch what it scores as random: numbers written with ``+``, spaces and
parentheses, IBANs, account numbers with a few letters, a part repeated,
well-known example passphrases.

zxcvbn knows English only, and counts a space or dash between words as
random characters. So it is also given the common words of 30 other
languages (``_wordlists/``, from wordfreq), and asked about the password
without its separators and as typed on a QWERTY keyboard when it was typed
on another layout (a Russian keyboard walk is ``qwerty`` under the keys);
the lowest estimate counts.
"""

from __future__ import annotations

import gzip
import math
import re
import secrets
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from importlib import resources
from itertools import zip_longest
from typing import Any

from .exceptions import WeakPasswordError

MIN_LENGTH = 12
#: Longer than anything a person types or a password manager makes; the repeat
#: check's cost grows with the square of the length (1 MB: minutes of CPU), so
#: a service checking what a stranger sent refuses more at once.
MAX_LENGTH = 1024
#: The floor on zxcvbn's estimate of the guesses needed, as a power of ten.
#: At PBKDF2's 600,000 iterations (the HTML page, the cheapest KDF a
#: delivered copy uses) one GPU makes about 15,000 guesses a second: 10^12
#: guesses is about two GPU-years, 16 at Argon2id's cost (docs/delivery.md).
MIN_GUESSES_LOG10 = 12
# zxcvbn refuses longer input; what follows the first 72 characters only adds guesses.
_ZXCVBN_MAX = 72
# Unambiguous when read aloud or copied from a letter: no 0/o, 1/l/i.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_SEPARATORS = re.compile(r"[\s\-/.,_:+()]+")
_IBAN = re.compile(r"([A-Z]{2})(\d{2})([A-Z0-9]{10,30})\Z")
# IBAN lengths by country (the SWIFT IBAN registry): a password that has the
# shape and the length of one reads as an account number.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
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
    # the word for "password" in the languages of _wordlists: the first guess there
    "пароль",
    "парола",
    "hasło",
    "haslo",
    "şifre",
    "sifre",
    "senha",
    "wachtwoord",
    "salasana",
    "jelszó",
    "jelszo",
    "heslo",
    "geslo",
    "lozinka",
    "lösenord",
    "losenord",
    "adgangskode",
    "passord",
    "parola",
    "slaptažodis",
    "parole",
    "κωδικός",
    "סיסמה",
    "سرواژه",
    "كلمةالسر",
    "katasandi",
)
# Passphrases published as examples (comics, articles, docs) and stock
# phrases: every guesser's list has them, whatever the estimate of their words.
_KNOWN_PHRASES = (
    "correcthorsebatterystaple",
    "tr0ub4dor&3",
    "thequickbrownfoxjumpsoverthelazydog",
    "tobeornottobe",
    "maytheforcebewithyou",
    "allyourbasearebelongtous",
    "iamthewalrus",
    "opensesame",
    "letmein",
    "trustno1",
    "hunter2",
    "thisismypassword",
    "mysecretpassword",
)
# A keyboard layout's letters in QWERTY order (rows q..], a..', z../): a walk
# or a word typed on it is the same keys as on QWERTY, which zxcvbn knows.
# (Latin layouts such as QWERTZ and AZERTY differ from QWERTY in a few keys
# only; zxcvbn's own walks and the common-password list cover them.)
_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,./"
_LAYOUTS = {
    "russian": "йцукенгшщзхъфывапролджэячсмитьбю.",
    "ukrainian": "йцукенгшщзхїфівапролджєячсмитьбю.",
    "greek": ";ςερτυθιοπ[]ασδφγηξκλ\u0384'ζχψωβνμ,./",  # tonos on the ';' key
    "hebrew": "/'קראטוןםפ][שדגכעיחלךף,זסבהנמצתץ.",
}
# What zxcvbn found, in the words of a reason (never the matched text).
_PATTERNS = {
    "l33t": "a common word with letters swapped for look-alike symbols (p@ssw0rd): "
    "guessers try every such swap",
    "dictionary": "common words, names or passwords, the first things a guesser tries",
    "spatial": "a walk along the keyboard (qwerty, 1qaz2wsx)",
    "sequence": "a run of the alphabet or of digits (abcdef, 98765)",
    "repeat": "repeated characters or blocks",
    "date": "a date or a year",
    "regex": "a date or a year",
    "user_inputs": "something known about the customer (given in personal=)",
}
# zxcvbn keeps the caller's personal values in a module global while it
# runs: two threads checking at once would see each other's.
_ZXCVBN_LOCK = threading.Lock()


def generate_password(groups: int = 5) -> str:
    """A random password: ``groups`` groups of four characters (about 19.8 bits each).

    The default, five groups (about 99 bits), cannot be guessed offline at
    any KDF cost. Send it by another channel than the document (an SMS, the
    customer's online banking). It always passes :func:`check_password`: the
    rare draw that the check would refuse (one that happens to read as an
    IBAN, say) is drawn again.

    >>> import sealdoc
    >>> len(sealdoc.generate_password())
    24
    """
    if groups < 3:
        raise ValueError("at least 3 groups (about 59 bits)")
    while True:
        made = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(groups))
        if not password_problems(made):
            return made


def _fold(text: str) -> str:
    """Case-folded, NFKC, with separators removed: how a guesser would normalise."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


# Look-alike swaps a guesser's rules undo ("c0rr3ct h0rs3"): zxcvbn's l33t
# matching finds single words of its word lists (common passwords included),
# never the multi-word phrases above. A 1 or ! may stand for i or for l, so
# both readings are tried.
_UNLEET = tuple(str.maketrans("0134@$5789!|", "o" + one + "eaasstbg" + one + "l") for one in "il")


def _contains_any(folded: str, needles: Sequence[str]) -> bool:
    """Whether ``folded``, as typed or with look-alike swaps undone, holds one of ``needles``."""
    if any(needle in folded for needle in needles):
        return True
    return any(
        needle.translate(table) in folded.translate(table)
        for table in _UNLEET
        for needle in needles
    )


def _is_date(digits: str) -> bool:
    """Whether a string of digits reads as a calendar date in a common order."""
    return _as_date(digits) is not None


def _as_date(digits: str) -> date | None:
    """The calendar date a string of digits reads as, in the first common order that fits."""
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
        return None
    return next(filter(None, (_date(*order) for order in orders)), None)


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _is_iban(folded: str) -> bool:
    """Whether separator-free text has an IBAN's shape and its country's length."""
    text = folded.upper()
    found = _IBAN.match(text)
    return found is not None and _IBAN_LENGTHS.get(found.group(1)) == len(text)


def _number_problems(folded: str) -> list[str]:
    """Phone, identity and account numbers, dates: what zxcvbn scores as random."""
    digits = sum(c.isdigit() for c in folded)
    if folded.isdigit() and _is_date(folded):
        return [
            "it reads as a date, such as a date of birth: a century holds only about "
            "36,500 dates, all tried in seconds, and birth dates are printed on forms, "
            "cards and social media"
        ]
    if folded.isdigit():
        return [
            f"it is only digits (with any +, spaces, brackets or dashes taken out), like an "
            f"identity, account or phone number: there are at most 10^{len(folded)} of "
            "them, every one can be tried offline (all 10-digit numbers in about a week on "
            "one GPU at PBKDF2's cost, hours on rented ones), and the people around the "
            "customer, or a leaked database, may already know it"
        ]
    if _is_iban(folded):
        return [
            "it reads as an IBAN, a bank account number: it is printed on statements, "
            "invoices and payment slips, and its digits are few and checkable"
        ]
    others = len(folded) - digits
    if digits >= 8 and (others <= 5 or digits >= 2 * others):
        return [
            "it is mostly digits, like an account, card or customer number with a few "
            "letters: numbers like it are printed on letters and cards, and they are few"
        ]
    return []


def _personal_forms(personal: Iterable[str]) -> list[str]:
    """The forms of each personal value a guesser tries.

    The value folded; each of its words of four letters or more (a surname
    without the given name); its digits alone, and their last seven (a phone
    number written with or without its country or area code).
    """
    forms = []
    for value in personal:
        if not isinstance(value, str):
            raise TypeError(f"personal values are str, not {type(value).__name__}")
        known = _fold(value)
        forms.append(known)
        forms += [w for w in map(_fold, value.split()) if len(w) >= 4]
        digits = "".join(c for c in known if c.isdigit())
        if len(digits) >= 6:
            forms += [digits, digits[-7:], *_date_forms(digits)]
    return sorted({f for f in forms if len(f) >= 3})


def _date_forms(digits: str) -> list[str]:
    """A date of birth in the orders people write it: 14031985, 19850314, 031485, ..."""
    found = _as_date(digits)
    if found is None:
        return []
    y, m, d = f"{found.year:04d}", f"{found.month:02d}", f"{found.day:02d}"
    return [d + m + y, m + d + y, y + m + d, d + m + y[2:], m + d + y[2:], y[2:] + m + d]


_WORDS_ADDED = False


def _add_word_lists() -> None:
    """Give zxcvbn the other languages' ranked words, once per process (under the lock).

    One dictionary per script (Latin, Cyrillic, ...), its languages' lists
    interleaved rank by rank: zxcvbn's time grows with the number of
    dictionaries, and a guesser who knows the script tries its languages'
    common words together. zxcvbn keeps its dictionaries in a module
    global: other users of zxcvbn in this process see these words too,
    which only makes their estimates more careful.
    """
    global _WORDS_ADDED  # noqa: PLW0603 - zxcvbn's dictionaries are process-wide too
    if _WORDS_ADDED:
        return
    from zxcvbn import matching  # noqa: PLC0415

    data = (resources.files("sealdoc") / "_wordlists" / "words.txt.gz").read_bytes()
    by_script: dict[str, list[list[str]]] = {}
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        words = line.partition("\t")[2].split(" ")
        script = unicodedata.name(words[0][0], "OTHER").split(" ")[0].lower()
        by_script.setdefault(script, []).append(words)
    merged = {
        f"words_{script}": list(dict.fromkeys(w for rank in zip_longest(*lists) for w in rank if w))
        for script, lists in by_script.items()
    }
    matching.add_frequency_lists(merged)
    _WORDS_ADDED = True


def _estimate(password: str, personal: Sequence[str]) -> Mapping[str, Any]:
    import zxcvbn  # noqa: PLC0415 - 50 ms to import: only when a password is checked

    with _ZXCVBN_LOCK:
        _add_word_lists()
        result: Mapping[str, Any] = zxcvbn.zxcvbn(
            password[:_ZXCVBN_MAX], user_inputs=list(personal), max_length=_ZXCVBN_MAX
        )
    return result


def _on_qwerty(text: str) -> Iterator[str]:
    """``text`` as the keys pressed, for each other layout it was typed on (and back)."""
    lowered = text.casefold()
    if lowered.isascii():
        if any(c.isalpha() for c in lowered):
            # a Russian word typed with the keyboard left in Latin ("gfhjkm" for пароль)
            yield lowered.translate(str.maketrans(_QWERTY, _LAYOUTS["russian"]))
        return
    for layout in _LAYOUTS.values():
        keys = lowered.translate(str.maketrans(layout, _QWERTY))
        if keys != lowered:
            yield keys


def _variants(password: str) -> Iterator[str]:
    """The forms a guesser's rules reach: as typed, without separators, on other layouts."""
    yield password
    joined = _SEPARATORS.sub("", password)
    if joined and joined != password:
        yield joined
    yield from _on_qwerty(joined or password)


def _lowest_estimate(password: str, personal: Sequence[str]) -> Mapping[str, Any]:
    """zxcvbn's result for the weakest form of ``password``; stops at one under the floor."""
    lowest: Mapping[str, Any] | None = None
    for form in _variants(password):
        result = _estimate(form, personal)
        if lowest is None or float(result["guesses_log10"]) < float(lowest["guesses_log10"]):
            lowest = result
        if float(lowest["guesses_log10"]) < MIN_GUESSES_LOG10:
            break
    assert lowest is not None
    return lowest


def _repeated_part(folded: str) -> tuple[str, int] | None:
    """The part that ``folded`` is ``k >= 2`` copies of, and ``k``; None if none.

    Copies may be joined by up to three characters that ``_fold`` keeps
    (``word!word!word``): the part returned is then the word without them.
    """
    size = len(folded)
    for part in range(1, (size + 3) // 2 + 1):
        for joiner in range(min(3, part - 1) + 1):
            unit = folded[:part]
            times, rest = divmod(size + joiner, part)
            if rest == 0 and times >= 2 and (folded + unit[part - joiner :]) == unit * times:
                return unit[: part - joiner], times
    return None


def _repeat_problems(password: str, personal: Iterable[str]) -> list[str]:
    """A word (of any script) repeated: a guesser tries each guess repeated, so it is as
    strong as the part alone, plus the few guesses for how many times."""
    found = _repeated_part(_fold(password))
    if found is None:
        return []
    part, times = found
    if not password_problems(part, personal=personal):
        return []
    return [
        f"it is one shorter part repeated {times} times: a guesser tries every guess "
        f"repeated, so it adds only about 10^{max(1, math.ceil(math.log10(times)))} "
        "guesses to a part that is weak on its own"
    ]


def _guess_problems(password: str, personal: Sequence[str]) -> list[str]:
    """zxcvbn's estimate against the floor, with the patterns that brought it low."""
    result = _lowest_estimate(password, personal)
    log10 = float(result["guesses_log10"])
    if log10 >= MIN_GUESSES_LOG10:
        return []
    found = []
    for match in result["sequence"]:
        if match.get("dictionary_name") == "user_inputs":
            name = "user_inputs"
        else:
            name = "l33t" if match.get("l33t") else match["pattern"]
        if name in _PATTERNS and _PATTERNS[name] not in found:
            found.append(_PATTERNS[name])
    built = f", built on {'; '.join(found)}" if found else ""
    return [
        f"a guesser who knows the usual patterns needs only about 10^{int(log10)} "
        f"guesses{built}: at least 10^{MIN_GUESSES_LOG10} are needed (about two years "
        "of one GPU at PBKDF2's cost)"
    ]


def password_problems(password: str, *, personal: Iterable[str] = ()) -> list[str]:
    """Why ``password`` would be a poor delivery password (empty list: none found).

    ``personal`` takes what is known about the customer (identity number,
    date of birth, names, e-mail, phone, customer number): a password
    containing any of them is refused, and zxcvbn counts them as the first
    guesses. No message repeats the password or a personal value.
    """
    if not isinstance(password, str):
        raise TypeError(f"a password is a str, not {type(password).__name__}")
    if isinstance(personal, str):
        raise TypeError("personal is a list of values, not one str")
    if not password:
        return ["it is empty"]
    if len(password) > MAX_LENGTH:
        return [f"it has {len(password):,} characters; at most {MAX_LENGTH:,} are checked"]
    problems = []
    folded = _fold(password)
    known = _personal_forms(personal)
    if len(password) < MIN_LENGTH:
        problems.append(
            f"it has {len(password)} characters; at least {MIN_LENGTH} are needed, "
            "since anyone holding the delivered copy can guess offline"
        )
    problems += _number_problems(folded)
    if any(value in folded for value in known):
        problems.append(
            "it contains something known about the customer (given in personal=): "
            "an identity number, a birth date or a name is the first thing tried"
        )
    if len(set(unicodedata.normalize("NFKC", password).casefold())) < 5:
        problems.append("it uses fewer than 5 different characters")
    if any(word in folded for word in _COMMON):
        problems.append("it is built on a common password, the first ones a guesser tries")
    if _contains_any(folded, _KNOWN_PHRASES):
        problems.append(
            "it is a well-known example passphrase or stock phrase: published phrases are "
            "in every guesser's list, however random their words look"
        )
    if not problems:  # the estimate costs milliseconds: only when nothing else was found
        problems += _guess_problems(unicodedata.normalize("NFKC", password), known)
    if not problems:  # a part repeated that zxcvbn's repeat match scored too high
        problems += _repeat_problems(password, personal)
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
