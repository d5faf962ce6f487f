"""A partner's values as people write them, made sense of: kinds, needs, territory codes,
contacts' roles, addresses and phones, deadlines. Each parser returns the value kept or raises
`Invalid` with the reason in French (the caller says where).

Territory is written with **postcodes**, not INSEE commune codes: postcodes are what the young
people's files carry (the chamber's and the Mission Locale's exports both have a "Code postal"
column, neither an INSEE code), so a partner's commune can be compared with an apprentice's
without a table of communes. A postcode may cover several small communes: a partner serving one
of them serves its neighbours under the same postcode, which is close enough for proposing.
"""

from __future__ import annotations

import re
from typing import Any

from casework.intake.fields import Invalid
from casework.labels import CONTACT_ROLE, NEED_CATEGORY, PARTNER_KIND
from casework.models.base import NeedCategory, PartnerKind
from casework.names import fold
from casework.territory import DEPARTEMENTS, EXPECTED
from casework.text_limits import ADDRESS, TextRefused, shown

# Words people use for each kind and need, besides the codes and the labels casework prints;
# all compared folded (`casework.names.fold`: no case, accents or punctuation).
_KIND_WORDS = {
    "mission_locale": ("ml", "mission locale", "missions locales"),
    "housing": ("logement", "adlj", "fjt", "habitat jeunes", "foyer de jeunes travailleurs"),
    "training_centre": ("cfa", "centre de formation", "centre de formation d'apprentis"),
    "social_services": (
        "services sociaux",
        "assistants sociaux",
        "assistante sociale",
        "service social departemental",
        "social",
    ),
    "other": ("autre",),
}
_NEED_WORDS = {
    "housing": ("logement", "hebergement"),
    "money": ("argent", "budget", "finances", "ressources"),
    "health": ("sante", "soins"),
    "mobility": ("mobilite", "transport", "transports", "permis"),
    "family": ("famille", "situation familiale", "familial"),
    "employer_conflict": ("employeur", "conflit avec l'employeur"),
    "motivation": ("motivation",),
    "training": ("formation", "difficultes en formation", "scolarite"),
    "legal": ("juridique", "droit", "droits", "justice", "acces aux droits", "demarches"),
    "other": ("autre",),
}
_ROLE_WORDS = {
    "contact": ("contact", "referent", "referente", "accueil", "interlocuteur"),
    "manager": (
        "responsable",
        "manager",
        "direction",
        "directeur",
        "directrice",
        "chef de service",
    ),
}


def _lookup(words: dict[str, tuple[str, ...]], labels: dict[str, str]) -> dict[str, str]:
    found = {fold(code): code for code in words}
    for code, label in labels.items():
        found[fold(label)] = code
    for code, others in words.items():
        for word in others:
            found[fold(word)] = code
    return found


KINDS = _lookup(_KIND_WORDS, PARTNER_KIND)
NEEDS = _lookup(_NEED_WORDS, NEED_CATEGORY)
ROLES = _lookup(_ROLE_WORDS, CONTACT_ROLE)
assert set(KINDS.values()) == {k.value for k in PartnerKind}
assert set(NEEDS.values()) == {n.value for n in NeedCategory}

# A list in one cell: "santé ; mobilité, transport / argent".
_LIST_SEPARATORS = re.compile(r"[;,/+\n]+")
_TERRITORY_SEPARATORS = re.compile(r"[\s;,/+]+")
_POSTCODE = re.compile(r"\d{5}", re.ASCII)
# Something an address book can hold: one @, no spaces, a dot in the domain.
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")
_PHONE = re.compile(r"\+?[0-9 .()-]{6,32}", re.ASCII)
MAX_DEADLINE = 60  # working days: three months; a longer "deadline" is a typing mistake


def parse_kind(value: Any) -> str:
    found = KINDS.get(fold(str(value)))
    if found is None:
        accepted = ", ".join(PARTNER_KIND.values())
        raise Invalid(f"type de partenaire inconnu (attendu : {accepted})")
    return found


def parse_needs(value: Any) -> list[str]:
    """One need or several; each once, in the vocabulary's order."""
    items = value if isinstance(value, list) else _LIST_SEPARATORS.split(str(value))
    found, unknown = set(), []
    for item in items:
        word = fold(str(item))
        if not word:
            continue
        code = NEEDS.get(word)
        if code is None:
            unknown.append(shown(str(item).strip(), 30))
        else:
            found.add(code)
    if unknown:
        accepted = ", ".join(NEED_CATEGORY.values())  # the labels are accepted words too
        raise Invalid(f"besoin inconnu : {', '.join(unknown)} (attendu : {accepted})")
    if not found:
        raise Invalid("aucun besoin indiqué")
    return [n.value for n in NeedCategory if n.value in found]


def parse_territory(value: Any) -> tuple[list[str], list[str]]:
    """Département codes (as `casework.territory` knows them) and postcodes, in any order:
    ("53 72", "53000, 2A") → départements and postcodes, each once, in the order given."""
    items = value if isinstance(value, list) else _TERRITORY_SEPARATORS.split(_code(value))
    departements: list[str] = []
    postcodes: list[str] = []
    wrong = []
    for item in items:
        written = _code(item)
        code = written.upper()
        if not code:
            continue
        if len(code) in (1, 4) and code.isdigit():
            code = "0" + code  # a workbook's 1 for the Ain, 1000 for 01000
        if _POSTCODE.fullmatch(code):
            target = postcodes
        elif code in DEPARTEMENTS:
            target = departements
        else:
            wrong.append(shown(written, 20))
            continue
        if code not in target:
            target.append(code)
    if wrong:
        raise Invalid(
            f"code inconnu : {', '.join(wrong)} (attendu : des départements, {EXPECTED}, et "
            "des codes postaux à 5 chiffres)"
        )
    return departements, postcodes


def parse_role(value: Any) -> str:
    found = ROLES.get(fold(str(value)))
    if found is None:
        raise Invalid("rôle inconnu (attendu : contact ou responsable)")
    return found


def parse_email(value: Any) -> str:
    """An address, in lower case: replies and bounces are matched on it."""
    try:
        text = ADDRESS.check(str(value))
    except TextRefused as refused:
        raise Invalid(str(refused)) from None
    if not _EMAIL.fullmatch(text):
        raise Invalid("adresse électronique invalide")
    return text.lower()


def parse_phone(value: Any) -> str:
    text = " ".join(_code(value).split())
    if not _PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 6:
        raise Invalid("numéro de téléphone invalide")
    if isinstance(value, int | float) and len(text) == 9:
        text = "0" + text  # a workbook's 612345678 for 06 12 34 56 78
    return text


def parse_deadline(value: Any) -> int:
    """A number of working days, 1 to 60 ("3", "3 jours", a workbook's 3.0)."""
    text = re.sub(r"\s*(jours?|j)(\s+ouvr[ée]s?)?\s*$", "", _code(value), flags=re.IGNORECASE)
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_DEADLINE:
        raise Invalid(f"délai invalide (un nombre de jours ouvrés, de 1 à {MAX_DEADLINE})")
    return int(text)


def _code(value: Any) -> str:
    """A cell as text; a workbook's number as the digits it shows (3.0 → "3")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
