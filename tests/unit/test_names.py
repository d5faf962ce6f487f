"""Folding names: one at a time (`words`) and a million at once (`words_all`) agree exactly."""

from __future__ import annotations

import random

import pytest

from casework.names import fold, name_key, words, words_all

HARD = [
    "",
    " ",
    "Éloïse-Marie D'Argent",
    "  Jean  -  Pierre ",
    "Œuvre Straße Æsir",
    "ﬁlle Ⅻ",  # compatibility forms: NFKD turns them into letters
    "Łukasz Ødegård",  # letters that do not decompose
    "O’Neil ʼAbd",  # curly apostrophes: not plain ASCII, folded alone
    "İstanbul",  # a capital whose lower case gains a dot
    "Σίσυφος ΟΔΟΣ",  # a final sigma depends on the neighbours
    "e\u0301\u0327 x\u1dc0y",  # combining marks outside the Latin block
    "a´b",  # a spacing accent: NFKD makes it a space and a combining mark
    "a\nb",  # a line feed inside a name: the whole list is folded one by one
    "a\rb\tc",
]


def test_the_hard_names_fold_alike_alone_and_together() -> None:
    assert words_all(HARD) == [words(t) for t in HARD]
    for text in HARD:
        assert words_all([text]) == [words(text)], text
    assert words_all([]) == []


def test_random_strings_fold_alike_alone_and_together() -> None:
    rng = random.Random(7)
    alphabet = "aAzZ09éÉèçÇœŒ'’`´- \t\rİΣσςﬁÅ\u0301\u1dc0Łø.,ß"
    for _ in range(3_000):
        texts = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(1, 5))
        ]
        assert words_all(texts) == [words(t) for t in texts], texts


@pytest.mark.parametrize(
    ("typed", "key"),
    [("Le Gall", "legall"), ("le-gall", "legall"), ("LEGALL", "legall"), ("D'Argent", "dargent")],
)
def test_a_name_is_one_key_however_typed(typed: str, key: str) -> None:
    assert name_key(typed) == key
    assert fold("Éloïse-Marie") == "eloise marie"
