"""Launching a cohort: every test case gets a referent, then each case's workflow starts.

Referents (`intake assign` and `cases start`): one counsellor for all (`--referent LOGIN`), or
an allocation (`--allocate`):
- `balanced`: each test case to the active counsellor or manager with the fewest open cases,
  counting those this allocation has given already (ties by login);
- `territory`: the same among those whose territory covers the young person's département
  (someone with no territory covers every one); a case nobody covers is refused by name.
Control cases get none: nobody follows them. An allocation that would leave a test case
without a referent is refused, in French, before anything is written.

Starting: test cases `ask_consent` (the consent mail goes to their referent), control cases
`track_outcomes`, through `fire_many` in the caller's transaction, so a cohort is assigned and
started together or not at all. A case whose contract already broke (a rupture date in the
file) is already out of `identified`, and is left as it is.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, or_, select

from casework.actors import Actor
from casework.app import App
from casework.errors import CaseworkError
from casework.handover import successor_refusal
from casework.models.tables import CASES, USERS
from casework.models.user import REFERENT_ROLES
from casework.staff import caseloads
from casework.states.definition import GROUPS, WorkflowDef
from casework.states.requirements import requires

ALLOCATIONS = ("balanced", "territory")
CHUNK = 500  # ids per IN (...) list
# Each case starts with the trigger its workflow names for its group (`start:`).
requires("case", by="le démarrage des dossiers (intake/launch.py)", start=GROUPS)


class LaunchRefused(CaseworkError):
    """Referents cannot be given as asked (said in French)."""


@dataclass(frozen=True)
class Referents:
    """How test cases get their referent: one login, or an allocation."""

    login: str | None = None
    allocate: str | None = None

    def __post_init__(self) -> None:
        if self.login is not None and self.allocate is not None:
            raise LaunchRefused("indiquez soit --referent, soit --allocate, pas les deux")
        if self.allocate is not None and self.allocate not in ALLOCATIONS:
            expected = ", ".join(ALLOCATIONS)
            raise LaunchRefused(f"répartition inconnue : {self.allocate} (attendu : {expected})")

    @property
    def given(self) -> bool:
        return self.login is not None or self.allocate is not None


NO_REFERENTS = Referents()


@dataclass
class Started:
    """What starting did: cases started by group, and those left as they were."""

    started: dict[str, int] = field(default_factory=dict)
    left: int = 0


def allocate(
    conn: Connection, app: App, cases: Sequence[tuple[str, str | None]], how: Referents
) -> dict[str, str]:
    """A referent for each test case, given as (key, département): key → login. Raises
    LaunchRefused, naming who or what is missing, if any case would be left without one."""
    if not cases:
        return {}
    if not how.given:
        raise LaunchRefused(
            f"{len(cases)} dossier(s) du groupe test resteraient sans référent : indiquez "
            "--referent IDENTIFIANT ou --allocate balanced (ou territory)"
        )
    if how.login is not None:
        refused = successor_refusal(conn, how.login)
        if refused:
            raise LaunchRefused(f"référent impossible : {refused}")
        return {key: how.login for key, _ in cases}
    people = _referents(conn)
    if not people:
        raise LaunchRefused(
            "aucun conseiller actif pour suivre les dossiers : voir casework users add"
        )
    loads = caseloads(conn, app.workflows)
    heaps: dict[frozenset[str], list[tuple[int, str]]] = {}
    chosen: dict[str, str] = {}
    uncovered: dict[str, int] = defaultdict(int)
    for key, departement in cases:
        able = _able(people, departement) if how.allocate == "territory" else frozenset(people)
        if not able:
            uncovered[departement or "département inconnu"] += 1
            continue
        heap = heaps.get(able)
        if heap is None:  # one heap per set of candidates, each person's load shared by all
            heap = heaps[able] = [(loads.get(login, 0), login) for login in sorted(able)]
            heapq.heapify(heap)
        login = _least_loaded(heap, loads)
        chosen[key] = login
        loads[login] = loads.get(login, 0) + 1
        heapq.heappush(heap, (loads[login], login))
    if uncovered:
        listed = ", ".join(f"{code} ({n})" for code, n in sorted(uncovered.items()))
        these = "ce département" if len(uncovered) == 1 else "ces départements"
        raise LaunchRefused(
            f"aucun conseiller actif ne couvre le département de ces dossiers : {listed} "
            f"(nombre de dossiers) ; ajoutez {these} au territoire d'un conseiller (casework "
            "users update) ou répartissez avec --allocate balanced"
        )
    return chosen


def start(conn: Connection, app: App, groups: Mapping[int, str], actor: Actor) -> Started:
    """Start each case (case id → group) from its workflow's initial state, in the caller's
    transaction, with the trigger its workflow file names for the group (`start:`)."""
    done = Started()
    by_group: dict[str, list[int]] = defaultdict(list)
    for case_id, group in groups.items():
        by_group[group].append(case_id)
    flows = _workflows(conn, app, list(groups))
    for group, ids in sorted(by_group.items()):
        by_trigger: dict[str, list[int]] = defaultdict(list)
        for case_id in ids:
            by_trigger[flows[case_id].start[group]].append(case_id)
        for trigger, started in sorted(by_trigger.items()):
            _start(conn, app, group, started, trigger, actor, done)
    return done


def _start(
    conn: Connection,
    app: App,
    group: str,
    ids: list[int],
    trigger: str,
    actor: Actor,
    done: Started,
) -> None:
    result = app.engine.fire_many("case", ids, trigger, actor, conn=conn)
    done.started[group] = done.started.get(group, 0) + len(result.applied)
    done.left += len(result.refused)
    if result.failed or result.missing:
        stuck = len(result.failed) + len(result.missing)
        raise LaunchRefused(f"{stuck} dossier(s) n'ont pas pu démarrer")


def _workflows(conn: Connection, app: App, ids: list[int]) -> dict[int, WorkflowDef]:
    """Each case's own workflow."""
    found = {}
    for at in range(0, len(ids), CHUNK):
        query = select(CASES.c.id, CASES.c.workflow_name, CASES.c.workflow_version).where(
            CASES.c.id.in_(ids[at : at + CHUNK])
        )
        for row in conn.execute(query):
            found[row.id] = app.workflows.definition(row.workflow_name, row.workflow_version)
    return found


def waiting(
    conn: Connection, app: App, cohort: int
) -> list[tuple[int, str, str | None, str | None]]:
    """The cohort's cases not started yet (in their workflow's initial state): (id, group,
    referent, département)."""
    from casework.models import Beneficiary

    people = Beneficiary.__table__
    not_started = or_(
        *(
            and_(
                CASES.c.workflow_name == wf.name,
                CASES.c.workflow_version == wf.version,
                CASES.c.state == wf.initial,
            )
            for wf in app.workflows
            if wf.entity == "case"
        )
    )
    query = (
        select(CASES.c.id, CASES.c.group, CASES.c.referent, people.c.departement)
        .join(people, people.c.id == CASES.c.beneficiary_id)
        .where(CASES.c.cohort == cohort, not_started)
        .order_by(CASES.c.id)
    )
    return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


# -- the parts ---------------------------------------------------------------------------------


def _referents(conn: Connection) -> dict[str, frozenset[str]]:
    """Active counsellors and managers, with the départements they cover (empty: all)."""
    query = (
        select(USERS.c.login, USERS.c.territory)
        .where(USERS.c.active.is_(True), USERS.c.role.in_(sorted(r.value for r in REFERENT_ROLES)))
        # Against a deactivation at the same moment (see `handover.successor_refusal`).
        .with_for_update(read=True)
    )
    return {row.login: frozenset(row.territory or ()) for row in conn.execute(query)}


def _able(people: Mapping[str, frozenset[str]], departement: str | None) -> frozenset[str]:
    """Who covers a département: those whose territory names it, and those whose territory is
    not limited; a young person whose département is unknown (no postcode, or a place outside
    any département) only the latter."""
    return frozenset(
        login
        for login, area in people.items()
        if not area or (departement is not None and departement in area)
    )


def _least_loaded(heap: list[tuple[int, str]], loads: Mapping[str, int]) -> str:
    """The person with the fewest cases. An entry whose load moved since (another set of
    candidates gave them a case) goes back with the current load before looking again."""
    while True:
        load, login = heapq.heappop(heap)
        current = loads.get(login, 0)
        if load == current:
            return login
        heapq.heappush(heap, (current, login))
