"""What cross-matching works with and gives: the fields compared and their levels, the bands,
the Fellegi-Sunter model, and the pairs kept, each explained field by field in French.

Guarantees: a `Pair` is a plain tuple (a million are made in seconds); `Pair.explain` says, for
every field, what agreed and how much it weighed, and why the pair is in its band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from casework.french import decimal

FIELDS = ("birth_name", "first_name", "birth_date", "postcode")
# Levels per field, highest first; -1 is "missing" (no evidence either way).
LEVELS = {"birth_name": 4, "first_name": 4, "birth_date": 4, "postcode": 3}
LABELS = {
    "birth_name": ("différent", "ressemblant", "proche (faute de frappe)", "identique"),
    "first_name": ("différent", "ressemblant", "proche (faute de frappe)", "identique"),
    "birth_date": (
        "différente",
        "même mois et même année",
        "un chiffre ou jour et mois inversés",
        "identique",
    ),
    "postcode": ("différent", "même département ou même commune", "identique"),
}
FIELD_LABELS = {
    "birth_name": "nom de naissance",
    "first_name": "prénom",
    "birth_date": "date de naissance",
    "postcode": "code postal",
}
# "absent", "absente": what is said of a field agrees with it.
MISSING = {name: "absente d'un côté" if name == "birth_date" else "absent d'un côté"
           for name in FIELDS}  # fmt: skip
IDENTITY = 3  # the first three fields: a pair lacking one of them is at best to review


class Band(StrEnum):
    MATCH = "match"
    REVIEW = "review"
    NO_MATCH = "no_match"


@dataclass(frozen=True)
class Thresholds:
    """Probabilities that a pair is the same person: at or above `match`, a match; at or above
    `review`, a person decides; below, no match."""

    match: float = 0.99
    review: float = 0.50


class Pair(NamedTuple):
    """A pair kept: a tuple (a million of them are made in seconds, not minutes)."""

    cma: str
    ml: str
    probability: float
    weight: float
    band: Band
    levels: tuple[int, ...]  # per field of FIELDS, -1 missing
    contributions: tuple[float, ...]  # log2(m/u) per field
    swapped: bool = False  # first and last names swapped between the files
    decided: bool = False  # a person's earlier decision
    exact: bool = False  # birth name, first name and birth date identical, no namesake

    def explain(self) -> list[str]:
        """One line per field, in French: what agreed, and how much it weighed."""
        lines = []
        for name, level, weight in zip(FIELDS, self.levels, self.contributions, strict=True):
            label = MISSING[name] if level < 0 else LABELS[name][level]
            lines.append(f"{FIELD_LABELS[name]} : {label} ({decimal(weight, signed=True)})")
        if self.swapped:
            lines.append("nom et prénom inversés entre les deux fichiers")
        if self.decided:
            lines.append("décision d'une personne lors d'un passage précédent")
        elif self.exact:
            lines.append(
                "nom, prénom et date de naissance identiques, sans homonyme né le même jour"
            )
        elif self.band == Band.REVIEW and min(self.levels[:IDENTITY]) < 0:
            lines.append(
                "il manque d'un côté le nom, le prénom ou la date de naissance : une personne "
                "vérifie"
            )
        return lines


@dataclass
class Model:
    """The Fellegi-Sunter parameters, per field and level."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float  # the share of all pairs of the two lists that match

    def contribution(self, name: str, level: int) -> float:
        if level < 0:
            return 0.0
        return math.log2(self.m[name][level] / self.u[name][level])

    def weight(self, levels: Sequence[int]) -> float:
        prior = math.log2(self.prior / (1 - self.prior))
        return prior + sum(self.contribution(n, lv) for n, lv in zip(FIELDS, levels, strict=True))


@dataclass
class Linkage:
    pairs: list[Pair]  # kept pairs (match and review), one to one, best first
    model: Model
    candidates: int  # pairs compared after blocking

    def band(self, band: Band) -> list[Pair]:
        return [p for p in self.pairs if p.band == band]
