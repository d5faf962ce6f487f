"""Making the matched young people a cohort: each a case, in the test or the control group.

Methods (the pilot used the first two):
- `parity`: birth day even → test, odd → control;
- `lottery`: a seeded draw, reproducible from its seed: within each stratum (e.g. sex and
  diploma level), the people in a fixed order are shuffled and cut into blocks, each block half
  test, half control (an odd block's extra place drawn too);
- `evaluator`: the evaluator's allocation table (contract number → test/control), imported.

Who is assigned: the cohort's eligible contracts (`candidates.py`: the cohort's rule, then, if
it asks for both files, the cross-matching's matches). A young person whose sex no file gives
is assigned all the same, sex unknown (a lottery stratified by sex draws them as a stratum of
their own).

Written once: a case's group never changes (a database trigger refuses it, whoever tries), and
a contract already a case is never assigned again. The audit log has each case's creation with
its group, method and draw; `assignment_draws` keeps the draw: method, seed, strata, block
size, who and when. A contract whose file already says it broke gets its rupture at once, in
either group.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from casework.actors import Actor
from casework.app import App
from casework.chunks import chunks
from casework.errors import CaseworkError
from casework.intake.candidates import Matched, roll
from casework.intake.files import read_table
from casework.intake.importer import RUPTURE_TAG
from casework.intake.launch import NO_REFERENTS, Referents, Started, allocate
from casework.intake.launch import start as launch
from casework.intake.matching import contracts_in_cases, young_people_in_cases
from casework.models.tables import CONTRACTS, DRAWS, PEOPLE
from casework.names import fold
from casework.states.definition import WorkflowDef
from casework.territory import departement_of
from casework.text_limits import shown

log = logging.getLogger("casework.intake")
METHODS = ("parity", "lottery", "evaluator")
STRATA = ("sex", "diploma_level", "postcode_department", "training_centre_uai")
GROUPS = {"test": "test", "t": "test", "témoin": "control", "temoin": "control",
          "control": "control", "c": "control"}  # fmt: skip


class AssignmentError(CaseworkError):
    """An assignment that cannot be done (said in French)."""


@dataclass(frozen=True)
class AssignReport:
    cohort: int
    method: str
    draw_id: int | None
    cases: dict[str, int]  # group → how many
    ruptures: int
    not_eligible: int = 0  # contracts not yet cases that the cohort does not take (--dry-run)
    started: dict[str, int] = field(default_factory=dict)  # group → cases started
    referents: dict[str, int] = field(default_factory=dict)  # login → test cases given


def assign(
    app: App,
    cohort: int,
    method: str,
    *,
    actor: Actor,
    seed: int | None = None,
    strata: Sequence[str] = (),
    block_size: int = 4,
    table: Path | None = None,
    referents: Referents = NO_REFERENTS,
    start: bool = True,
) -> AssignReport:
    """Draw the groups of the cohort's eligible young people and make their cases, each test
    case with its referent (`referents`: one login or an allocation; refused if one would be
    left without), then start them (`start`): all in one transaction."""
    _check_request(method, strata, seed, block_size)
    now = app.clock.now()
    pairs: list[Matched] = []
    try:
        with app.db.transaction() as conn:
            found = roll(conn, app, cohort)
            pairs = found.eligible
            if not pairs:
                return AssignReport(cohort, method, None, {}, 0, len(found.refused))
            log.info("assignment %s: %d matched pairs to assign by %s", cohort, len(pairs), method)
            groups, details = _draw(pairs, method, seed, strata, block_size, table)
            draw = {"cohort": cohort, "method": method, "details": details, "cases": len(pairs)}
            draw_id = _record_draw(conn, draw, seed if method == "lottery" else None, now, actor)
            tests = [
                (key, _departement(cma, ml)) for key, cma, ml in pairs if groups[key] == "test"
            ]
            # Without starting, referents may come later (`casework cases start` asks for them).
            given = start or referents.given
            chosen = allocate(conn, app, tests, referents) if given else {}
            case_ids, ruptures = _create_cases(
                conn, app, cohort, method, pairs, groups, actor, draw_id, chosen
            )
            started = launch(conn, app, case_ids, actor) if start else Started()
    except IntegrityError as error:  # rolled back whole: nothing of this draw is written
        raise _taken_meanwhile(app, pairs, error) from None
    report = AssignReport(
        cohort,
        method,
        draw_id,
        dict(Counter(groups.values())),
        ruptures,
        len(found.refused),
        started.started,
        dict(Counter(chosen.values())),
    )
    _log_report(report)
    return report


def _check_request(method: str, strata: Sequence[str], seed: int | None, block_size: int) -> None:
    """Refuse, in French, a draw that could not be made or redone as asked."""
    if method not in METHODS:
        raise AssignmentError(f"méthode inconnue : {method} (attendu : {', '.join(METHODS)})")
    unknown = [s for s in strata if s not in STRATA]
    if unknown:
        raise AssignmentError(
            f"strate inconnue : {', '.join(unknown)} (connues : {', '.join(STRATA)})"
        )
    if method == "lottery" and seed is None:
        raise AssignmentError("le tirage au sort demande une graine (--seed) : il doit se refaire")
    if block_size < 2:
        raise AssignmentError("un bloc compte au moins 2 places")


def _record_draw(
    conn: Connection, draw: dict[str, Any], seed: int | None, now: datetime, actor: Actor
) -> int:
    """The draw's own row (method, seed, details): the audit log's events point at it."""
    values = {**draw, "seed": seed, "drawn_at": now, "drawn_by": str(actor)[:120]}
    return int(conn.execute(insert(DRAWS).returning(DRAWS.c.id), values).scalar_one())


def _log_report(report: AssignReport) -> None:
    log.info(
        "assignment %s: draw %d by %s, %d test and %d control cases (%d started), "
        "%d rupture(s) already known, %d contract(s) not eligible",
        report.cohort,
        report.draw_id,
        report.method,
        report.cases.get("test", 0),
        report.cases.get("control", 0),
        sum(report.started.values()),
        report.ruptures,
        report.not_eligible,
    )


def _listed(people: list[str], shown: int = 5) -> str:
    more = len(people) - shown
    return " ; ".join(people[:shown]) + (f" ; et {more} autre(s)" if more > 0 else "")


def _draw(
    pairs: list[Matched],
    method: str,
    seed: int | None,
    strata: Sequence[str],
    block_size: int,
    table: Path | None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """Each contract's group by `method`, and what the draw's record says of how."""
    if method == "parity":
        groups = {k: "test" if date.fromisoformat(c["birth_date"]).day % 2 == 0 else "control"
                  for k, c, _ in pairs}  # fmt: skip
        return groups, {"rule": "jour de naissance pair : test ; impair : témoin"}
    if method == "lottery":
        groups = _lottery(pairs, seed or 0, strata, block_size)
        return groups, {"strata": list(strata), "block_size": block_size, "order": "n° de contrat"}
    if table is None:
        raise AssignmentError("la méthode evaluator demande la table d'allocation (--table)")
    return _evaluator_table(table, [k for k, _, _ in pairs]), {"table": table.name}


def _taken_meanwhile(app: App, pairs: list[Matched], error: IntegrityError) -> Exception:
    """The error for an assignment that met, while writing, contracts or young people that
    another assignment made cases at the same time: who they are, in French."""
    with app.db.read() as conn:
        in_cases, followed = contracts_in_cases(conn), young_people_in_cases(conn)
    taken = [
        f"{cma['first_names']} {cma['birth_name']} (contrat {key}"
        + (f", jeune {ml['ml_id']})" if ml else ")")
        for key, cma, ml in pairs
        if key in in_cases or ml.get("ml_id") in followed
    ]
    if not taken:  # not another assignment: say what the database said
        return AssignmentError(f"attribution impossible, rien n'a été enregistré : {error.orig}")
    return AssignmentError(
        "attribution impossible : une autre attribution a fait entre-temps des dossiers de "
        f"{_listed(taken)}. Rien n'a été enregistré ; relancez la commande pour attribuer les "
        "autres."
    )


def _matched_not_yet_cases(conn: Connection, app: App, cohort: int) -> list[Matched]:
    """(contract number, chamber row completed by the Mission Locale's, Mission Locale row) of
    each eligible contract of the cohort, by contract number (see `candidates.py`)."""
    return roll(conn, app, cohort).eligible


def _stratum(cma: dict[str, Any], strata: Sequence[str]) -> tuple[Any, ...]:
    values = []
    for name in strata:
        if name == "postcode_department":
            values.append((cma.get("postcode") or "")[:2])
        else:
            values.append(cma.get(name))
    return tuple(values)


def _lottery(
    pairs: list[Matched],
    seed: int,
    strata: Sequence[str],
    block_size: int,
) -> dict[str, str]:
    """Permuted blocks within strata, from one seeded generator walked in a fixed order (strata
    sorted, people by contract number): the same seed and rows give the same draw."""
    rng = random.Random(seed)
    by_stratum: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for key, cma, _ml in pairs:
        by_stratum[_stratum(cma, strata)].append(key)
    groups = {}
    for stratum in sorted(by_stratum, key=repr):
        people = sorted(by_stratum[stratum])
        rng.shuffle(people)
        for block in chunks(people, block_size):
            places = ["test", "control"] * (len(block) // 2)
            if len(block) % 2:
                places.append(rng.choice(("test", "control")))
            rng.shuffle(places)
            groups.update(zip(block, places, strict=True))
    return groups


def _evaluator_table(path: Path, keys: list[str]) -> dict[str, str]:
    """The evaluator's allocation: a contract number and a group per row (test/témoin)."""
    with read_table(path) as table:
        header = [fold(h) for h in table.header]
        try:
            key_at = next(i for i, h in enumerate(header) if "contrat" in h)
            group_at = next(i for i, h in enumerate(header) if "groupe" in h)
        except StopIteration:
            raise AssignmentError(
                f"{path.name} : colonnes « N° contrat » et « Groupe » attendues"
            ) from None
        groups = {}
        for line, cells in table.rows:
            cells = [*cells, *[None] * (max(key_at, group_at) + 1 - len(cells))]  # a short row
            group = GROUPS.get(fold(str(cells[group_at] or "")))
            if group is None:
                raise AssignmentError(
                    f"{path.name}, ligne {line} : groupe « {shown(cells[group_at] or '')} » "
                    "inconnu (test ou témoin)"
                )
            groups[str(cells[key_at]).strip()] = group
    missing = [k for k in keys if k not in groups]
    if missing:
        listed = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise AssignmentError(
            f"{path.name} : {len(missing)} contrat(s) sans groupe dans la table : {listed}"
        )
    return {k: groups[k] for k in keys}


def _create_cases(
    conn: Connection,
    app: App,
    cohort: int,
    method: str,
    pairs: list[Matched],
    groups: dict[str, str],
    actor: Actor,
    draw_id: int,
    referents: Mapping[str, str],
) -> tuple[dict[int, str], int]:
    """The cases (case id → group) and how many ruptures the file already told."""
    now = app.clock.now()
    rule = app.settings.intake.eligibility.rule(cohort)
    people = _insert_people(conn, pairs, now)
    contracts = _insert_contracts(conn, people, pairs, now)
    case_ids = app.engine.create_cases(
        conn,
        actor,
        [
            {
                "beneficiary_id": person_id,
                "contract_id": contract_id,
                "cohort": cohort,
                "group": groups[key],
                "assignment_method": method,
                "referent": referents.get(key),  # control cases: nobody follows them
            }
            for person_id, contract_id, (key, _c, _m) in zip(people, contracts, pairs, strict=True)
        ],
        # The audit log says how each group was decided: the draw it came from.
        note={"draw": draw_id},
        # The cohort's programme: its cases follow the workflow its rule names.
        workflow=rule.workflow,
        workflow_version=rule.workflow_version,
    )
    machine = app.workflows.starting(rule.workflow, rule.workflow_version, "case")
    ruptures = _fire_known_ruptures(conn, app, case_ids, pairs, machine.definition)
    return {
        case_id: groups[key] for case_id, (key, _c, _m) in zip(case_ids, pairs, strict=True)
    }, ruptures


def _insert_people(conn: Connection, pairs: list[Matched], now: datetime) -> list[int]:
    return list(
        conn.execute(
            insert(PEOPLE).returning(PEOPLE.c.id, sort_by_parameter_order=True),
            [
                {
                    "birth_name": cma["birth_name"],
                    "first_names": cma["first_names"],
                    "birth_date": date.fromisoformat(cma["birth_date"]),
                    "sex": cma.get("sex") or ml.get("sex"),
                    "postcode": cma.get("postcode") or ml.get("postcode"),
                    "commune": cma.get("commune") or ml.get("commune"),
                    "departement": _departement(cma, ml),
                    "ml_id": ml.get("ml_id"),
                    "created_at": now,
                    "updated_at": now,
                }
                for _key, cma, ml in pairs
            ],
        ).scalars()
    )


def _insert_contracts(
    conn: Connection, people: list[int], pairs: list[Matched], now: datetime
) -> list[int]:
    return list(
        conn.execute(
            insert(CONTRACTS).returning(CONTRACTS.c.id, sort_by_parameter_order=True),
            [
                {
                    "beneficiary_id": person_id,
                    "cma_number": key,
                    "employer_name": cma.get("employer_name"),
                    "employer_siret": cma.get("employer_siret"),
                    "employer_trade": cma.get("employer_trade"),
                    "training_centre_name": cma.get("training_centre_name"),
                    "training_centre_uai": cma.get("training_centre_uai"),
                    "diploma": cma.get("diploma"),
                    "diploma_level": cma.get("diploma_level"),
                    "training_year": cma.get("training_year"),
                    "learner_status": cma.get("learner_status"),
                    "start_date": date.fromisoformat(cma["start_date"]),
                    "planned_end_date": date.fromisoformat(cma["planned_end_date"]),
                    "created_at": now,
                    "updated_at": now,
                }
                for person_id, (key, cma, _ml) in zip(people, pairs, strict=True)
            ],
        ).scalars()
    )


def _fire_known_ruptures(
    conn: Connection,
    app: App,
    case_ids: list[int],
    pairs: list[Matched],
    workflow: WorkflowDef,
) -> int:
    """Fire the rupture of the new cases whose contract the file already says was broken;
    returns how many. `workflow`: the one the cases were just made on (the cohort's)."""
    ruptures = 0
    importer = Actor.importer("fichier CMA")
    rupture = workflow.trigger_tagged(RUPTURE_TAG)
    for case_id, (_key, cma, _ml) in zip(case_ids, pairs, strict=True):
        if cma.get("rupture_date"):
            app.engine.fire_case(
                case_id,
                rupture,
                importer,
                conn=conn,
                rupture_date=date.fromisoformat(cma["rupture_date"]),
            )
            ruptures += 1
    return ruptures


def _departement(cma: dict[str, Any], ml: dict[str, Any]) -> str | None:
    return departement_of(cma.get("postcode") or ml.get("postcode"))
