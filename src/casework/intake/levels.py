"""Training levels, diplomas, statuses and years of training as organisations write them.

France renumbered its qualification levels in 2019 (décret n° 2019-14): the old V, IV, III,
II and I are today's 3, 4, 5, 6 and 7 (the old I also covered today's 8). Files carry both,
and often only the diploma's name ("CAP Boulanger", "Bac pro MVA"); what is stored is today's
number. A diploma's *kind* (CAP, BP, Bac pro…) is what a cohort's eligibility names.
"""

from __future__ import annotations

import re

from casework.names import fold

# Today's levels, and what people know them by (said in the messages for a bad level).
LEVELS = {3: "V", 4: "IV", 5: "III", 6: "II", 7: "I"}
_SHOWN = {3: "CAP, BEP", 4: "bac pro, BP, BTM", 5: "BTS, BM", 6: "licence, BUT", 7: "master"}
CORRESPONDENCE = " ; ".join(f"{old} = {new} ({_SHOWN[new]})" for new, old in LEVELS.items())
_OLD = {fold(old): new for new, old in LEVELS.items()}

# Diplomas by the words their names start with (folded), with their kind as people write it and
# their level (None: it depends, as for a mention complémentaire or a titre professionnel).
DIPLOMAS: dict[str, tuple[str, int | None]] = {
    "cap": ("CAP", 3),
    "certificat d aptitude professionnelle": ("CAP", 3),
    "bep": ("BEP", 3),
    "brevet d etudes professionnelles": ("BEP", 3),
    "mc": ("MC", None),
    "mention complementaire": ("MC", None),
    "bp": ("BP", 4),
    "brevet professionnel": ("BP", 4),
    "bac pro": ("Bac pro", 4),
    "bacpro": ("Bac pro", 4),
    "bac professionnel": ("Bac pro", 4),
    "baccalaureat professionnel": ("Bac pro", 4),
    "btm": ("BTM", 4),
    "brevet technique des metiers": ("BTM", 4),
    "bts": ("BTS", 5),
    "brevet de technicien superieur": ("BTS", 5),
    "bm": ("BM", 5),
    "brevet de maitrise": ("BM", 5),
    "dut": ("DUT", 5),
    "but": ("BUT", 6),
    "licence pro": ("Licence pro", 6),
    "licence professionnelle": ("Licence pro", 6),
    "licence": ("Licence", 6),
    "master": ("Master", 7),
    "diplome d ingenieur": ("Ingénieur", 7),
    "ingenieur": ("Ingénieur", 7),
    "titre pro": ("Titre pro", None),
    "titre professionnel": ("Titre pro", None),
    # What a chamber's training centre also prepares. A titre professionnel ("TP Cuisinier")
    # has its own level, from 3 to 7: read when the name says it ("TP Cuisinier niveau 3"),
    # else unknown rather than guessed.
    "tp": ("Titre pro", None),
    "t p": ("Titre pro", None),
    # The certificat technique des métiers is the chambers' own diploma of a CAP's level (3).
    "ctm": ("CTM", 3),
    "certificat technique des metiers": ("CTM", 3),
    "btms": ("BTMS", 5),  # brevet technique des métiers supérieur: after a BTM
    "brevet technique des metiers superieur": ("BTMS", 5),
    # A certificat de qualification professionnelle is a trade branch's, not the State's: it
    # has no level in the national nomenclature, even when the name claims one.
    "cqp": ("CQP", None),
    "certificat de qualification professionnelle": ("CQP", None),
    # "Bac+2" (folded: "bac 2") counts years of study after the bac: the decree's level 5 is
    # bac+2 (BTS, DUT), 6 is bac+3 and bac+4 (licence, BUT, master's first year), 7 bac+5.
    "bac 2": ("Bac+2", 5),
    "bac 3": ("Bac+3", 6),
    "bac 4": ("Bac+4", 6),
    "bac 5": ("Bac+5", 7),
}
_LONGEST = max(len(k.split()) for k in DIPLOMAS)
KINDS = tuple(dict.fromkeys(kind for kind, _ in DIPLOMAS.values()))
# Kinds whose level is the diploma's own: taken from the name where it says it.
_LEVEL_IN_NAME = {"MC", "Titre pro"}
# "niveau 3", "niv. IV", "N4", "Niveau V", once folded.
_WRITTEN_LEVEL = re.compile(r"\b(?:niveau|niv|n) ?([3-7]|iii|ii|iv|v|i)\b")


def diploma(text: str) -> tuple[str, int | None] | None:
    """The kind and level of a diploma named by `text` ("CAP Boulanger" → ("CAP", 3)), by its
    first words: the longest known name wins ("Licence pro" before "Licence")."""
    words = fold(text).split()
    for size in range(min(_LONGEST, len(words)), 0, -1):
        found = DIPLOMAS.get(" ".join(words[:size]))
        if found is not None and found[1] is None and found[0] in _LEVEL_IN_NAME:
            return found[0], _written_level(" ".join(words[size:]))
        if found is not None:
            return found
    return None


def _written_level(folded: str) -> int | None:
    """The level a diploma's name states after its kind ("Cuisinier niveau 3"), or None."""
    said = _WRITTEN_LEVEL.search(folded)
    if said is None:
        return None
    number = said.group(1)
    return int(number) if number.isdigit() else _OLD[number]


def diploma_kind(text: str | None) -> str | None:
    found = diploma(text) if text else None
    return found[0] if found else None


def kind_named(text: str) -> str | None:
    """A diploma kind as a setting names it ("bac pro", "CAP"), as `KINDS` writes it."""
    found = diploma(text)
    return found[0] if found and fold(text) in DIPLOMAS else None


def level(text: str) -> int | None:
    """Today's level of "4", "IV", "niveau IV", "Niv. 4 (bac)", "CAP", "Bac pro"…; None if it
    is none of them."""
    words = fold(text).split()
    if words[:1] in (["niveau"], ["niv"], ["n"]):
        words = words[1:]
    if not words:
        return None
    first = words[0]
    if first.isascii() and first.isdigit():
        number = int(first)
        return number if number in LEVELS else None
    if first in _OLD:
        return _OLD[first]
    found = diploma(" ".join(words))
    return found[1] if found else None


# What a row says of the young person's status: an apprentice (a contract, at a training
# centre for apprentices) or a student in higher education.
STATUSES = {"apprentice": "apprenti", "student": "étudiant"}
_STATUS_WORDS = {
    "apprenti": "apprentice",
    "apprentie": "apprentice",
    "apprenti e": "apprentice",
    "apprentis": "apprentice",
    "apprentissage": "apprentice",
    "contrat d apprentissage": "apprentice",
    "cfa": "apprentice",
    "apprentice": "apprentice",
    "etudiant": "student",
    "etudiante": "student",
    "etudiant e": "student",
    "etudiants": "student",
    "enseignement superieur": "student",
    "etudiant de l enseignement superieur": "student",
    "superieur": "student",
    "student": "student",
}


def status(text: str) -> str | None:
    return _STATUS_WORDS.get(fold(text))


# Years of training: "1", "1re", "1ère année", "1A", "première", "2e année", "deuxième"…
_ORDINALS = {"premiere": 1, "deuxieme": 2, "seconde": 2, "second": 2, "troisieme": 3,
             "quatrieme": 4, "cinquieme": 5}  # fmt: skip
MAX_TRAINING_YEAR = 5


def training_year(text: str) -> int | None:
    words = fold(text).split()
    if not words:
        return None
    first = words[0]
    digits = first.rstrip("abcdefghijklmnopqrstuvwxyz")
    suffix = first[len(digits) :]
    if digits.isascii() and digits.isdigit() and suffix in ("", "a", "re", "ere", "er", "e", "eme"):
        year = int(digits)
    else:
        year = _ORDINALS.get(first, 0)
    rest = words[1:]
    if rest and rest != ["annee"]:
        return None
    return year if 1 <= year <= MAX_TRAINING_YEAR else None


def ordinal(year: int) -> str:
    """How French says a year of training: 1re, 2e."""
    return f"{year}re" if year == 1 else f"{year}e"
