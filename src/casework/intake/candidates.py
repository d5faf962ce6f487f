"""Who of a cohort becomes a case, and why each other contract does not: what `intake assign`
makes cases of, and what `intake assign --dry-run` shows.

A contract of the chamber's file that is not a case yet is eligible when
1. the cohort's rule takes it (`eligibility.py`: signing window, diplomas, levels, years,
   training centres, statuses);
2. if the rule asks for both files: the cross-matching matched it (or a person confirmed it)
   with a young person of the Mission Locale;
3. a case can be made of it: a name, a first name and a birth date, from either file (an
   incomplete row of one file is completed by the other's). The sex may stay unknown;
4. its young person is not a case yet (in any cohort), and no contract before it by number
   took them: one young person, one case. A young person who signs again after a rupture is on
   the chamber's file twice, and a cohort on that file alone has no Mission Locale identifier
   to tell: people are also known by their identity, birth name, first names and birth date
   folded (`casework.names`: "LEFEVRE Elodie" is "Lefèvre Élodie"). A row without one of the
   three cannot be a case anyway (3), so it never takes anyone's place; nor is it compared by
   what it has, which could merge two namesakes born the same day into one case.

Every reason is given, not the first found: a person fixes the files once. (A contract the rule
refuses and the cross-matching never compared is not said "not matched": it was not tried.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from casework.app import App
from casework.intake.eligibility import Rule, judge
from casework.intake.linkage import Band
from casework.intake.matching import contracts_in_cases, rule_of, season
from casework.models.tables import CASES, PEOPLE, PROPOSALS, RECORDS
from casework.names import name_key

# What a person's row may take from the other file's when it lacks it.
IDENTITY = ("birth_name", "first_names", "birth_date", "sex", "postcode", "commune")
# What a case cannot be made without.
NEEDED = {"birth_name": "le nom", "first_names": "le prénom", "birth_date": "la date de naissance"}

# An eligible contract: its number, the chamber's row (completed by the Mission Locale's), and
# the Mission Locale's row with its `ml_id` ({} for a cohort on the chamber's file alone).
Matched = tuple[str, dict[str, Any], dict[str, Any]]
# A young person as both files and the cases know them: birth name and first names folded, and
# the birth date (ISO).
Identity = tuple[str, str, str]


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
    followed = people_in_cases(conn)
    taken: dict[Identity | str, str] = {}  # a young person (identity, ml_id) → their contract
    rows = conn.execute(select(RECORDS.c.key, RECORDS.c.data).where(RECORDS.c.source == "cma"))
    # By number, in Python: the same order on every database (their collations differ).
    for key, data in sorted(rows, key=lambda r: r.key):
        if key in in_cases:
            found.already += 1
            continue
        reasons = judge(data, rule, found.season)
        young: dict[str, Any] = {}
        proposal = proposals.get(key)
        if rule.needs_both_files and (proposal is not None or not reasons):
            reasons += _unmatched(proposal)
            if proposal is not None and proposal.band == Band.MATCH.value:
                young = {**proposal.data, "ml_id": proposal.ml_key}
        person = completed(data, young)
        missing = [said for name, said in NEEDED.items() if not person.get(name)]
        if missing:
            where = "dans les deux fichiers" if young else "dans le fichier de la CMA"
            reasons.append(f"il manque {_and(missing)} ({where}) : un dossier en a besoin")
        known = [k for k in (young.get("ml_id"), None if missing else identity(person)) if k]
        reasons += _seen(known, followed, taken)
        if reasons:
            found.refused.append((key, data, reasons))
        else:
            found.eligible.append((key, person, young))
            taken.update(dict.fromkeys(known, key))
    return found


def identity(person: dict[str, Any]) -> Identity:
    """Who a row with a name, first names and a birth date is, however each was typed."""
    return (name_key(person["birth_name"]), name_key(person["first_names"]), person["birth_date"])


def people_in_cases(conn: Connection) -> dict[Identity | str, int]:
    """The young people who are cases already (in any cohort), by identity and by Mission Locale
    identifier: each one's first case."""
    query = (
        select(
            CASES.c.id,
            PEOPLE.c.birth_name,
            PEOPLE.c.first_names,
            PEOPLE.c.birth_date,
            PEOPLE.c.ml_id,
        )
        .join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
        .order_by(CASES.c.id)
    )
    followed: dict[Identity | str, int] = {}
    for case in conn.execute(query):
        born = case.birth_date.isoformat()
        followed.setdefault((name_key(case.birth_name), name_key(case.first_names), born), case.id)
        if case.ml_id:
            followed.setdefault(case.ml_id, case.id)
    return followed


def _unmatched(proposal: Any) -> list[str]:
    """Why the cross-matching did not match a contract with a young person ([] if it did)."""
    if proposal is None:
        return ["pas rapproché d'un jeune de la Mission Locale"]
    if proposal.band != Band.MATCH.value:
        return ["rapprochement à examiner (casework intake review)"]
    return []


def _seen(
    known: list[Identity | str], followed: dict[Identity | str, int], taken: dict[Any, str]
) -> list[str]:
    """Why a young person known as `known` (Mission Locale identifier, identity) cannot be a
    case of this contract: already one, or taken by a contract before it. Said once each."""
    cases = dict.fromkeys(followed[k] for k in known if k in followed)
    contracts = dict.fromkeys(taken[k] for k in known if k in taken)
    return [f"déjà suivi (dossier n° {case})" for case in cases] + [
        f"déjà retenu pour le contrat {other}" for other in contracts
    ]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} et {items[-1]}"
