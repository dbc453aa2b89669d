"""Write src/sealdoc/_wordlists/words.txt.gz: common words of other languages, ranked.

check_password's estimator (zxcvbn) knows English words, names and leaked
passwords only, so "zürich-zürich-zürich" or a Russian word repeated scored
as random letters. This script takes each language's most frequent words
from wordfreq (Robyn Speer's word-frequency data) and writes them in rank
order, one language a line, for ``sealdoc._passwords`` to give zxcvbn as
ranked dictionaries. Run it again to change the languages or the depth;
the output is deterministic for one wordfreq version.

    pip install 'wordfreq==3.1.1' && python scripts/generate_wordlists.py

The word data is wordfreq's, under CC-BY-SA 4.0 (see the NOTICE written
beside the list); wordfreq is needed only to run this script.
"""

from __future__ import annotations

import gzip
import unicodedata
from importlib.metadata import version
from pathlib import Path

import wordfreq

#: Languages of sealdoc's users' customers beyond English, chosen for their
#: scripts (Latin with diacritics, Cyrillic, Greek, Hebrew, Arabic) and their
#: speakers; CJK needs word segmentation zxcvbn does not do.
LANGUAGES = [
    *("de", "fr", "es", "it", "pt", "nl", "pl", "tr", "cs", "sv", "da", "nb", "fi", "hu"),
    *("ro", "sh", "sk", "sl", "lt", "lv", "ru", "uk", "bg", "mk", "el", "he", "ar", "fa"),
    *("id", "ms"),
]
DEPTH = 10_000
OUT = Path(__file__).resolve().parent.parent / "src" / "sealdoc" / "_wordlists"


def words(lang: str) -> list[str]:
    seen: set[str] = set()
    ranked = []
    for word in wordfreq.top_n_list(lang, DEPTH, wordlist="small"):
        folded = unicodedata.normalize("NFKC", word).casefold()
        if len(folded) < 3 or not folded.isalpha() or folded in seen:
            continue
        seen.add(folded)
        ranked.append(folded)
    return ranked


def main() -> None:
    lines = [f"{lang}\t{' '.join(words(lang))}" for lang in LANGUAGES]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    OUT.mkdir(exist_ok=True)
    with gzip.GzipFile(OUT / "words.txt.gz", "wb", mtime=0) as out:
        out.write(data)
    (OUT / "NOTICE").write_text(
        "words.txt.gz: the most frequent words of each language listed in it, in\n"
        f"rank order, taken from wordfreq {version('wordfreq')}"
        " (https://github.com/rspeer/wordfreq) by\n"
        "scripts/generate_wordlists.py. The word-frequency data is by Robyn Speer and\n"
        "wordfreq's contributors, from sources listed in wordfreq's README, and is\n"
        "licensed under the Creative Commons Attribution-ShareAlike 4.0 license\n"
        "(https://creativecommons.org/licenses/by-sa/4.0/); this file is shared\n"
        "under the same license.\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
