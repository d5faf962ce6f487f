"""The cross-matching of a cohort over the imported rows, and the review queue a person works.

Compared: the chamber's contracts that the cohort's rule makes eligible (`eligibility.py`: the
signing window, diplomas, levels, years, training centres, statuses) and that are not cases
yet, and the young people of the Mission Locale not in a cohort already; a cohort whose rule
takes the chamber's file alone is not cross-matched. `match` links them (`linkage/`) with
people's earlier decisions, and keeps its proposals (the latest run replaces the proposals still
waiting); pairs *to review* wait for a person: `decide` confirms or rejects one
(`accept_above`: all those at or above a probability, at once), and that decision holds in every
later run. The queue is read by the index on band and probability, a page at a time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, tuple_

from casework.actors import Actor
from casework.app import App
from casework.chunks import chunks
from casework.errors import CaseworkError
from casework.french import decimal
from casework.intake.eligibility import Rule, judge, window
from casework.intake.linkage import Band, Pair, Thresholds, link
from casework.intake.records import Person
from casework.models.tables import CASES, CONTRACTS, DECISIONS, PEOPLE, PROPOSALS, RECORDS

log = logging.getLogger("casework.intake")


class ReviewError(CaseworkError):
    """A decision that cannot be taken (said in French)."""


@dataclass(frozen=True)
class MatchReport:
    cohort: int
    contracts: int  # eligible on the chamber's side
    young_people: int  # eligible on the Mission Locale's side
    matched: int
    to_review: int
    compared: int
    needed: bool = True  # False: the cohort's rule takes the chamber's file alone


def rule_of(app: App, cohort: int) -> Rule:
    return app.settings.intake.eligibility.rule(cohort)


def season(app: App, cohort: int) -> tuple[date, date]:
    """The cohort's signing window: its rule's, else `[intake]` campaign_start–campaign_end."""
    settings = app.settings.intake
    return window(rule_of(app, cohort), cohort, settings.campaign_start, settings.campaign_end)


def contracts_in_cases(conn: Connection) -> set[str]:
    """The contract numbers that are cases already (in any cohort)."""
    query = select(CONTRACTS.c.cma_number).join(CASES, CASES.c.contract_id == CONTRACTS.c.id)
    return set(conn.execute(query).scalars())


def young_people_in_cases(conn: Connection) -> set[str]:
    """The Mission Locale identifiers of young people who are cases already (in any cohort)."""
    query = (
        select(PEOPLE.c.ml_id)
        .join(CASES, CASES.c.beneficiary_id == PEOPLE.c.id)
        .where(PEOPLE.c.ml_id.is_not(None))
    )
    return set(conn.execute(query).scalars())


def eligible(conn: Connection, app: App, cohort: int) -> tuple[list[Any], list[Any]]:
    """The chamber's rows the cohort's rule takes, not yet cases, and the Mission Locale's rows
    of young people in no cohort."""
    rule, window_ = rule_of(app, cohort), season(app, cohort)
    start, end = (day.isoformat() for day in window_)
    in_cases = contracts_in_cases(conn)
    followed = young_people_in_cases(conn)
    contracts = [
        r
        for r in conn.execute(
            select(RECORDS.c.key, RECORDS.c.data).where(RECORDS.c.source == "cma")
        )
        if r.key not in in_cases
        and start <= r.data["start_date"] <= end  # most rows are out of it: said first
        and not judge(r.data, rule, window_)
    ]
    young = [
        r
        for r in conn.execute(select(RECORDS.c.key, RECORDS.c.data).where(RECORDS.c.source == "ml"))
        if r.key not in followed
    ]
    return contracts, young


def as_person(key: str, data: dict[str, Any]) -> Person:
    born = data.get("birth_date")
    return Person(
        key=key,
        birth_name=data.get("birth_name", ""),
        first_names=data.get("first_names", ""),
        birth_date=date.fromisoformat(born) if born else None,
        postcode=data.get("postcode"),
        commune=data.get("commune"),
        sex=data.get("sex"),
    )


def match(app: App, cohort: int) -> MatchReport:
    """Cross-match the cohort's eligible rows; the proposals replace those still waiting."""
    settings = app.settings.intake
    if not rule_of(app, cohort).needs_both_files:
        return MatchReport(cohort, 0, 0, 0, 0, 0, needed=False)
    thresholds = Thresholds(settings.match_threshold, settings.review_threshold)
    with app.db.read() as conn:
        contracts, young = eligible(conn, app, cohort)
        decisions = {
            (r.cma_key, r.ml_key): r.same
            for r in conn.execute(select(DECISIONS.c.cma_key, DECISIONS.c.ml_key, DECISIONS.c.same))
        }
    log.info(
        "matching %s: %d contracts and %d young people eligible, %d decisions; linking",
        cohort,
        len(contracts),
        len(young),
        len(decisions),
    )
    started = time.perf_counter()
    result = link(
        [as_person(r.key, r.data) for r in contracts],
        [as_person(r.key, r.data) for r in young],
        thresholds,
        decisions,
    )
    log.info(
        "matching %s: linked in %.1f s, storing %d proposals",
        cohort,
        time.perf_counter() - started,
        len(result.pairs),
    )
    now = app.clock.now()
    keys = [r.key for r in contracts]
    _store_proposals(app, keys, result.pairs, now)
    report = MatchReport(
        cohort,
        len(contracts),
        len(young),
        len(result.band(Band.MATCH)),
        len(result.band(Band.REVIEW)),
        result.candidates,
    )
    _log_match(report)
    return report


def _store_proposals(app: App, keys: list[str], pairs: list[Pair], now: datetime) -> None:
    """The proposals for the contracts `keys` replace those still waiting, in one transaction."""
    with app.db.transaction() as conn:
        for part in chunks(keys):
            conn.execute(delete(PROPOSALS).where(PROPOSALS.c.cma_key.in_(part)))
        if pairs:
            conn.execute(
                insert(PROPOSALS),
                [
                    {
                        "cma_key": p.cma,
                        "ml_key": p.ml,
                        "probability": p.probability,
                        "band": p.band.value,
                        "explanation": p.explain(),
                        "created_at": now,
                    }
                    for p in pairs
                ],
            )


def _log_match(report: MatchReport) -> None:
    log.info(
        "matching %s: %d contracts and %d young people, %d pairs compared: %d matched, "
        "%d to review",
        report.cohort,
        report.contracts,
        report.young_people,
        report.compared,
        report.matched,
        report.to_review,
    )


def decide(app: App, cma_key: str, same: bool, actor: Actor, reviewing: str | None = None) -> None:
    """A person's verdict on the proposal for a contract: the same person (it becomes a match)
    or not (it is dropped, and never proposed again). `reviewing`: the young person of the pair
    a page showed to review; ReviewError if the proposal is not that pair waiting any more
    (decided meanwhile by someone else, or replaced by a new cross-matching)."""
    with app.db.transaction() as conn:
        proposal = conn.execute(select(PROPOSALS).where(PROPOSALS.c.cma_key == cma_key)).first()
        if proposal is None:
            raise ReviewError(f"aucune proposition pour le contrat {cma_key}")
        if reviewing is not None and (
            proposal.ml_key != reviewing or proposal.band != Band.REVIEW.value
        ):
            raise ReviewError(f"la paire du contrat {cma_key} n'est plus à examiner")
        _record(conn, [proposal], same, actor, app.clock.now())
    log.info("review: %s %s %s by %s", cma_key, "=" if same else "≠", proposal.ml_key, actor)


def above(conn: Connection, threshold: float) -> int:
    """How many pairs to review have a probability of at least `threshold`."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(PROPOSALS)
            .where(PROPOSALS.c.band == Band.REVIEW.value, PROPOSALS.c.probability >= threshold)
        ).scalar_one()
    )


def accept_above(app: App, threshold: float, actor: Actor, expected: int | None = None) -> int:
    """Every pair to review with a probability of at least `threshold` confirmed as the same
    person, each a decision as `decide` records it, all in one transaction; returns how many.
    `expected`: the count a person was shown and agreed to; ReviewError (nothing written) if
    there are not that many any more."""
    with app.db.transaction() as conn:
        proposals = conn.execute(
            select(PROPOSALS).where(
                PROPOSALS.c.band == Band.REVIEW.value, PROPOSALS.c.probability >= threshold
            )
        ).all()
        if expected is not None and len(proposals) != expected:
            raise ReviewError(
                f"{len(proposals)} paire(s) au-dessus du seuil maintenant, et non {expected} : "
                "confirmez à nouveau"
            )
        _record(conn, proposals, True, actor, app.clock.now())
    log.info("review: %d pair(s) at or above %.3f accepted by %s", len(proposals), threshold, actor)
    return len(proposals)


def _record(
    conn: Connection, proposals: Sequence[Any], same: bool, actor: Actor, now: datetime
) -> None:
    """People's verdicts on `proposals`: each replaces any earlier one on its pair; a match is
    kept as certain, a rejected pair is dropped."""
    for part in chunks(list(proposals)):
        pairs = [(p.cma_key, p.ml_key) for p in part]  # a pair keeps one decision: the latest
        conn.execute(
            delete(DECISIONS).where(tuple_(DECISIONS.c.cma_key, DECISIONS.c.ml_key).in_(pairs))
        )
        conn.execute(
            insert(DECISIONS),
            [
                {
                    "cma_key": p.cma_key,
                    "ml_key": p.ml_key,
                    "same": same,
                    "decided_by": str(actor),
                    "decided_at": now,
                }
                for p in part
            ],
        )
        ids = [p.id for p in part]
        if same:
            conn.execute(
                PROPOSALS.update()
                .where(PROPOSALS.c.id.in_(ids))
                .values(band=Band.MATCH.value, probability=1.0)
            )
        else:
            conn.execute(delete(PROPOSALS).where(PROPOSALS.c.id.in_(ids)))


def shown_probability(probability: float) -> str:
    """In French, rounded down: a pair to review never reads as the match threshold."""
    return f"{decimal(math.floor(probability * 1000) / 10)} %"


def waiting(app: App, limit: int = 50, offset: int = 0) -> list[Any]:
    """The pairs to review, the likeliest first, with both rows (by the index on band and
    probability: a page of them, not the table)."""
    with app.db.read() as conn:
        proposals = conn.execute(
            select(PROPOSALS)
            .where(PROPOSALS.c.band == Band.REVIEW.value)
            .order_by(PROPOSALS.c.probability.desc(), PROPOSALS.c.cma_key)
            .limit(limit)
            .offset(offset)
        ).all()
        rows = {}
        for source, keys in (
            ("cma", [p.cma_key for p in proposals]),
            ("ml", [p.ml_key for p in proposals]),
        ):
            query = select(RECORDS.c.key, RECORDS.c.data).where(
                RECORDS.c.source == source, RECORDS.c.key.in_(keys)
            )
            rows.update({(source, r.key): r.data for r in conn.execute(query)})
    return [
        (p, rows.get(("cma", p.cma_key), {}), rows.get(("ml", p.ml_key), {})) for p in proposals
    ]
