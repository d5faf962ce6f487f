"""Who of a cohort becomes a case, and why each other contract does not: what `intake assign`
makes cases of, and what `intake assign --dry-run` shows.

A contract of the chamber's file that is not a case yet is eligible when
1. the cohort's rule takes it (`eligibility.py`: signing window, diplomas, levels, years,
   training centres, statuses);
2. if the rule asks for both files: the cross-matching matched it (or a person confirmed it)
   with a young person of the Mission Locale who is not a case yet, and whom no contract before
   it by number took (two contracts of one young person: the first);
3. a case can be made of it: a name, a first name and a birth date, from either file (an
   incomplete row of one file is completed by the other's). The sex may stay unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from casework.app import App
from casework.intake.eligibility import Rule, judge
from casework.intake.linkage import Band
from casework.intake.matching import (
    RECORDS,
    contracts_in_cases,
    rule_of,
    season,
    young_people_in_cases,
)
from casework.models import MatchProposal

PROPOSALS = MatchProposal.__table__
# What a person's row may take from the other file's when it lacks it.
IDENTITY = ("birth_name", "first_names", "birth_date", "sex", "postcode", "commune")
# What a case cannot be made without.
NEEDED = {"birth_name": "le nom", "first_names": "le prénom", "birth_date": "la date de naissance"}

# An eligible contract: its number, the chamber's row (completed by the Mission Locale's), and
# the Mission Locale's row with its `ml_id` ({} for a cohort on the chamber's file alone).
Matched = tuple[str, dict[str, Any], dict[str, Any]]


@dataclass
class Roll:
    cohort: int
    rule: Rule
    season: tuple[date, date]
    eligible: list[Matched] = field(default_factory=list)
    # Each contract not eligible: its number, the chamber's row, and why (in French).
    refused: list[tuple[str, dict[str, Any], list[str]]] = field(default_factory=list)
    already: int = 0  # the season's contracts that are cases already
    matched_yet: bool = False  # the cross-matching has proposals (or the rule needs none)


def completed(cma: dict[str, Any], ml: dict[str, Any]) -> dict[str, Any]:
    """The chamber's row with what it lacks of the person taken from the Mission Locale's."""
    missing = {k: ml[k] for k in IDENTITY if not cma.get(k) and ml.get(k)}
    return {**cma, **missing} if missing else cma


def roll(conn: Connection, app: App, cohort: int) -> Roll:
    """Every contract of the chamber's file not yet a case, judged, by contract number."""
    rule = rule_of(app, cohort)
    found = Roll(cohort, rule, season(app, cohort), matched_yet=not rule.needs_both_files)
    in_cases = contracts_in_cases(conn)
    proposals: dict[str, Any] = {}
    followed: set[str] = set()
    if rule.needs_both_files:
        ml = RECORDS.alias("ml")
        proposals = {
            p.cma_key: p
            for p in conn.execute(
                select(PROPOSALS.c.cma_key, PROPOSALS.c.ml_key, PROPOSALS.c.band, ml.c.data).join(
                    ml, (ml.c.source == "ml") & (ml.c.key == PROPOSALS.c.ml_key)
                )
            )
        }
        found.matched_yet = bool(proposals)
        followed = young_people_in_cases(conn)
    rows = conn.execute(select(RECORDS.c.key, RECORDS.c.data).where(RECORDS.c.source == "cma"))
    taken: dict[str, str] = {}  # young person → the contract that took them
    # By number, in Python: the same order on every database (their collations differ).
    for key, data in sorted(rows, key=lambda r: r.key):
        if key in in_cases:
            found.already += 1
            continue
        reasons = judge(data, rule, found.season)
        young: dict[str, Any] = {}
        if rule.needs_both_files and not reasons:
            reasons, young = _matched(proposals.get(key), followed, taken)
        person = completed(data, young)
        if not reasons:
            missing = [said for name, said in NEEDED.items() if not person.get(name)]
            if missing:
                where = "dans les deux fichiers" if young else "dans le fichier de la CMA"
                reasons = [f"il manque {_and(missing)} ({where}) : un dossier en a besoin"]
        if reasons:
            found.refused.append((key, data, reasons))
        else:
            found.eligible.append((key, person, young))
            if young:
                taken[young["ml_id"]] = key
    return found


def _matched(
    proposal: Any, followed: set[str], taken: dict[str, str]
) -> tuple[list[str], dict[str, Any]]:
    """Why a contract the rule takes is not matched with a young person free to be a case; or
    that young person's row."""
    if proposal is None:
        return ["pas rapproché d'un jeune de la Mission Locale"], {}
    if proposal.band != Band.MATCH.value:
        return ["rapprochement à examiner (casework intake review)"], {}
    if proposal.ml_key in followed:
        return [f"le jeune {proposal.ml_key} de la Mission Locale a déjà un dossier"], {}
    if proposal.ml_key in taken:
        other = taken[proposal.ml_key]
        return [f"le jeune {proposal.ml_key} est retenu pour le contrat {other}"], {}
    return [], {**proposal.data, "ml_id": proposal.ml_key}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} et {items[-1]}"
