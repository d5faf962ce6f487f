"""Territories: the French départements a person works in, as their official codes.

A code is what INSEE gives: "01" to "95" (no "20": Corsica is "2A" and "2B" since 1976), and
"971" to "974" and "976" overseas. People type them as they come ("1", "2a", "53 72",
"53, 72"): they are read into the official spelling, and anything else is refused in French,
naming the value and what is expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from casework.errors import CaseworkError

_MAINLAND = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
_OVERSEAS = {"971", "972", "973", "974", "976"}
DEPARTEMENTS = frozenset(_MAINLAND | _OVERSEAS)
EXPECTED = "de 01 à 95, 2A, 2B, 971 à 974 ou 976"
_SEPARATORS = re.compile(r"[\s,;]+")
_POSTCODE = re.compile(r"\d{5}", re.ASCII)


class TerritoryRefused(CaseworkError):
    def __init__(self, value: str, why: str):
        self.value, self.why = value, why
        super().__init__(f"not a département: {value!r}")

    def french(self) -> str:
        return f"« {self.value} » {self.why}"


def departement(value: str) -> str:
    """One département code in its official spelling ("1" → "01", "2a" → "2A")."""
    code = value.strip().upper()
    if code.isascii() and code.isdigit() and len(code) == 1:
        code = "0" + code
    if code in DEPARTEMENTS:
        return code
    shown = value.strip()[:12]
    if code == "20":
        raise TerritoryRefused(shown, "n'est plus un code de département : 2A ou 2B pour la Corse.")
    raise TerritoryRefused(shown, f"n'est pas un code de département ({EXPECTED}).")


def departements(values: Iterable[str]) -> list[str]:
    """Département codes from one or more texts ("53,72", "53 72"), each once, in the order
    given; an empty text gives none."""
    found: list[str] = []
    for value in values:
        for part in _SEPARATORS.split(value):
            if part:
                code = departement(part)
                if code not in found:
                    found.append(code)
    return found


# Saint-Barthélemy and Saint-Martin are overseas collectivités (977, 978), not départements,
# though their postcodes are Guadeloupe's.
_COLLECTIVITES = frozenset({"97133", "97150"})


def departement_of(postcode: str | None) -> str | None:
    """The département a postcode is in: its first two digits, three overseas (974…), 2A or 2B
    in Corsica (20000–20199: Corse-du-Sud); None for what is not a postcode, or is one outside
    any département (Saint-Pierre-et-Miquelon 975, Saint-Barthélemy, Saint-Martin, Monaco and
    the Pacific 98…)."""
    if not postcode or not _POSTCODE.fullmatch(postcode) or postcode in _COLLECTIVITES:
        return None
    if postcode.startswith("97"):
        code = postcode[:3]
    elif postcode.startswith("20"):
        code = "2A" if postcode < "20200" else "2B"
    else:
        code = postcode[:2]
    return code if code in DEPARTEMENTS else None


def shown_territory(codes: Iterable[str]) -> str:
    """A territory as people read it: "53, 72", or "non précisé" when it is not limited."""
    codes = list(codes)
    return ", ".join(codes) if codes else "non précisé"
