"""People's names made comparable: accents, case, hyphens and apostrophes folded away.

"Éloïse-Marie D'Argent" and "eloise marie dargent" are the same words once folded. Used
wherever a name typed by one person must be found among names typed by another (alerts by
mail, and the cross-matching of the two organisations' files).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

# Letters that do not decompose into a base letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o"})
# An apostrophe joins ("D'Argent" is one name: "dargent"); anything else not a letter or a digit
# separates words.
_APOSTROPHES = re.compile(r"['’ʼ`´]")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
# For `words_all`: the accents NFKD separates from Latin letters; then, on plain ASCII bytes, upper
# case to lower, apostrophes out, anything else not a letter, digit or line feed to a space.
_LATIN_ACCENTS = re.compile("[\u0300-\u036f]+")
_ASCII_FOLD = bytes(
    c + 32 if 65 <= c <= 90 else c if (97 <= c <= 122 or 48 <= c <= 57 or c == 10) else 32
    for c in range(256)
)


@lru_cache(maxsize=1 << 20)  # names repeat: a million people have far fewer names
def fold(text: str) -> str:
    """Lower case, without accents or punctuation, words separated by one space."""
    if not text.isascii():  # accents and ligatures; plain ASCII, most names, needs none of it
        text = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", _APOSTROPHES.sub("", text.lower())).strip()


def words_all(texts: Sequence[str]) -> list[list[str]]:
    """`words` of each text, by a few operations on all of them joined by line feeds (a
    million names in a fraction of a second, not seconds). A text still not plain ASCII once
    its accents are gone ("Łukasz", curly apostrophes), or holding a line feed, is done alone."""
    joined = "\n".join(texts)
    if not texts or joined.count("\n") != len(texts) - 1:
        return [words(t) for t in texts]
    odd: list[int] = []
    if not joined.isascii():
        # Lines stay apart: NFKD starts afresh at a line feed, and nothing here makes one.
        for ligature, letters in _LIGATURES.items():
            joined = joined.replace(chr(ligature), letters)
        joined = _LATIN_ACCENTS.sub("", unicodedata.normalize("NFKD", joined))
        if not joined.isascii():
            odd = [n for n, line in enumerate(joined.split("\n")) if not line.isascii()]
    plain = joined.encode("ascii", "replace").translate(_ASCII_FOLD, b"'`").decode("ascii")
    found = list(map(str.split, plain.split("\n")))
    for n in odd:
        found[n] = words(texts[n])
    return found


def words(text: str) -> list[str]:
    return fold(text).split()


def name_key(name: str) -> str:
    """One name as one key, its words run together: "Le Gall", "le-gall", "LEGALL" → "legall"."""
    return "".join(words(name))


def word_runs(text: str, longest: int = 4) -> set[str]:
    """Every run of 1 to `longest` consecutive words of `text`, run together (as `name_key`
    makes them): the keys of every name the text could contain."""
    found = words(text)
    return {
        "".join(found[start : start + size])
        for size in range(1, longest + 1)
        for start in range(len(found) - size + 1)
    }
