"""A partner as people read it, on the command line and the staff pages alike: its name with
its kind, its needs, its territory and its deadlines, in French (the callers escape what they
print: `printable` on a terminal, autoescaping on a page)."""

from __future__ import annotations

from typing import Any

from casework.french import name_and_kind
from casework.labels import NEED_CATEGORY, PARTNER_KIND


def named(name: str, kind: str) -> str:
    """ "ADLJ 53 (logement des jeunes)"; "CFA du bâtiment", not "CFA du bâtiment (CFA)"."""
    return name_and_kind(name, PARTNER_KIND[kind])


def needs(codes: list[str]) -> str:
    return ", ".join(NEED_CATEGORY.get(c, c).split(",")[0] for c in codes) or "aucun"


def territory(p: Any) -> str:
    parts = []
    if p.departements:
        word = "département" if len(p.departements) == 1 else "départements"
        parts.append(f"{word} {', '.join(p.departements)}")
    if p.postcodes:
        word = "code postal" if len(p.postcodes) == 1 else "codes postaux"
        parts.append(f"{word} {', '.join(p.postcodes)}")
    return " ; ".join(parts) or "territoire non précisé"


def deadlines(p: Any) -> str:
    if p.ack_days is None and p.feedback_days is None:
        return "délais de la charte"
    said = []
    if p.ack_days is not None:
        said.append(f"accusé de réception sous {count(p.ack_days, 'jour ouvré', 'jours ouvrés')}")
    if p.feedback_days is not None:
        said.append(f"retour sous {count(p.feedback_days, 'jour ouvré', 'jours ouvrés')}")
    return ", ".join(said)


def count(n: int, singular: str, plural: str | None = None) -> str:
    """« 1 partenaire », « 2 partenaires », « 0 partenaire » (French: zero is singular)."""
    return f"{n} {singular if n <= 1 else plural or singular + 's'}"
