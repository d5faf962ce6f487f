"""People's names made comparable: accents, case, hyphens and apostrophes folded away.

"Éloïse-Marie D'Argent" and "eloise marie dargent" are the same words once folded. Used
wherever a name typed by one person must be found among names typed by another (alerts by
mail, and the cross-matching of the two organisations' files).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that do not decompose into a base letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o"})
# An apostrophe joins ("D'Argent" is one name: "dargent"); anything else not a letter or a digit
# separates words.
_APOSTROPHES = re.compile(r"['’ʼ`´]")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1 << 20)  # names repeat: a million people have far fewer names
def fold(text: str) -> str:
    """Lower case, without accents or punctuation, words separated by one space."""
    if not text.isascii():  # accents and ligatures; plain ASCII, most names, needs none of it
        text = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", _APOSTROPHES.sub("", text.lower())).strip()


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
