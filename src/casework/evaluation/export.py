"""The evaluator's export: one row per case of a cohort, pseudonymised, read in bounded pages.

Guarantees:
- **No personal data.** A row holds no name, contact detail, birth date (only the age in
  completed years at the contract's start), address (only the département), employer or
  training centre, and no free text (contacts' notes, referrals' descriptions, assessments'
  comments, rupture reasons): only dates, counts, durations, codes and labels of closed lists.
- **A stable pseudonym** is the row's key: HMAC-SHA256 of the case's number with a key kept
  outside the database (`[evaluation] pseudonym_key`), its first 16 hexadecimal characters
  (64 bits: two of a million cases share one with a probability below one in ten million). The
  same key gives the same pseudonym export after export; without the key, neither the number
  nor anything else can be found from it.
- **Bounded memory.** Cases are read a page at a time (keyset on the case number), and what is
  counted per case (contacts, sheets, assessments, days per phase) is read for that page's
  range of case numbers only.

Column names are stable codes (an evaluator's scripts read them from one export to the next);
`columns()` describes each in French (the "Dictionnaire" sheet); values are French labels.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from casework.app import App
from casework.clock import to_local
from casework.errors import CaseworkError
from casework.labels import (
    ASSESSMENT_MOMENT,
    DIPLOMA_OUTCOME,
    EXIT_KIND,
    GROUP,
    LEARNER_STATUS,
    NEED_CATEGORY,
    RUPTURE_INITIATIVE,
    SITUATION,
)
from casework.models.base import NeedCategory, enum_values
from casework.models.beneficiary import age_on
from casework.models.tables import (
    ASSESSMENTS,
    CASES,
    CONTACT_LOGS,
    CONTRACTS,
    EVENTS,
    PEOPLE,
    SHEETS,
)
from casework.models.user import Role
from casework.states.definition import WorkflowDef
from casework.wording import state as state_label

PSEUDONYM_HEX = 16
PAGE = 1000  # cases read per query
_MOMENTS = (("un_an", "one_year"), ("fin", "contract_end"))  # column prefix, moment
NEEDS = tuple(enum_values(NeedCategory))


# Who may take a cohort's data out of casework: its evaluators, and administrators.
MAY_EXPORT = frozenset({Role.EVALUATOR, Role.ADMINISTRATOR})


class ExportRefused(CaseworkError):
    """An export that cannot be made as asked (said in French)."""


@dataclass(frozen=True)
class Column:
    name: str
    says: str  # what the column holds, in French (the data dictionary)


def _phases(app: App) -> list[tuple[str, str]]:
    """(code, label) of every phase of the case workflows loaded, in the files' order."""
    found: dict[str, str] = {}
    for definition in app.workflows:
        if definition.entity == "case":
            for phase in definition.phases.values():
                found.setdefault(phase.name, phase.label)
    return list(found.items())


# long: the export's data dictionary, one declaration per column, read in one place.
def columns(phases: Sequence[tuple[str, str]]) -> list[Column]:
    fixed = [
        Column(
            "pseudonyme",
            "Clé de la ligne : pseudonyme du dossier (HMAC-SHA256 de son numéro "
            "avec la clé de l'export, 16 caractères) ; le même d'un export à l'autre avec la "
            "même clé.",
        ),
        Column(
            "cohorte",
            "Cohorte : la campagne de signature où le dossier a été repéré (son année, comme "
            "l'option --cohort du rapport).",
        ),
        Column(
            "annee_entree",
            "Année d'entrée : l'année civile du début du contrat, celle des tableaux du rapport "
            "(une campagne qui court de juillet à février en a deux).",
        ),
        Column("groupe", "« test » (suivi par un référent) ou « témoin » (observé seulement)."),
        Column("programme", "Le programme que suit le dossier."),
        Column(
            "age_debut_contrat",
            "Âge en années révolues au début du contrat ; vide : date de naissance inconnue.",
        ),
        Column("sexe", "F ou M, comme le dit le fichier de la chambre ; vide : non renseigné."),
        Column(
            "niveau",
            "Niveau du diplôme préparé (3 : CAP, BEP ; 4 : bac pro, BP ; 5 : BTS ; "
            "6 : licence ; 7 : master) ; vide : inconnu.",
        ),
        Column("annee_formation", "Année de formation (1 pour la première)."),
        Column("statut", "Apprenti(e) ou étudiant(e) du supérieur ; vide : non renseigné."),
        Column("departement", "Département de résidence (code)."),
        Column("debut_contrat", "Date de début du contrat."),
        Column("fin_prevue_contrat", "Date de fin prévue du contrat (la dernière connue)."),
        Column("rupture_contrat", "Date de la rupture ; vide : pas de rupture connue."),
        Column("initiative_rupture", "À l'initiative de qui le contrat a été rompu."),
        Column(
            "issue_contrat",
            "À la date de l'export : « rompu », « terminé » (fin prévue "
            "passée sans rupture) ou « en cours ».",
        ),
        Column("etat", "État du dossier à la date de l'export."),
        Column("entree_etat", "Date d'entrée dans cet état."),
        Column(
            "sortie",
            "Après une rupture : la solution trouvée, une sortie sans solution ou perdu de vue.",
        ),
    ]
    per_phase = [
        Column(
            f"jours_{code}",
            f"Jours passés dans la phase « {label} » (jusqu'à l'export ou "
            "jusqu'à la fin du suivi).",
        )
        for code, label in phases
    ]
    contacts = [
        Column("contacts", "Contacts enregistrés par le référent."),
        Column("minutes_contacts", "Durée totale de ces contacts, en minutes."),
    ]
    for code, label in phases:
        contacts.append(Column(f"contacts_{code}", f"Contacts pendant la phase « {label} »."))
        contacts.append(
            Column(f"minutes_{code}", f"Minutes de contact pendant la phase « {label} ».")
        )
    sheets = [Column("fiches", "Fiches de liaison ouvertes (orientations vers un partenaire).")]
    sheets += [
        Column(f"fiches_{need}", f"Fiches de liaison pour le besoin « {NEED_CATEGORY[need]} ».")
        for need in NEEDS
    ]
    assessments = []
    for prefix, moment in _MOMENTS:
        said = ASSESSMENT_MOMENT[moment].capitalize()
        assessments += [
            Column(
                f"bilan_{prefix}_situation",
                f"{said} : situation du jeune ; vide : pas de bilan.",
            ),
            Column(
                f"bilan_{prefix}_diplome",
                f"{said} : diplôme obtenu, non obtenu, ou résultat en attente.",
            ),
            Column(
                f"bilan_{prefix}_satisfaction",
                f"{said} : satisfaction du jeune, de "
                "1 (pas du tout satisfait) à 5 (très satisfait).",
            ),
        ]
    return fixed + per_phase + contacts + sheets + assessments


class CohortExport:
    """The rows of one cohort's export, as of `now` (the data cut-off)."""

    def __init__(self, app: App, cohort: int, key: str, now: datetime):
        if not key:
            raise ExportRefused(
                "pas de clé de pseudonymisation : réglez [evaluation] pseudonym_key (ou "
                "CASEWORK_EVALUATION_PSEUDONYM_KEY) ; sans elle, rien n'est exporté"
            )
        self.app, self.cohort, self.key, self.now = app, cohort, key, now
        self.today = to_local(now).date()
        self.phases = _phases(app)
        self.columns = columns(self.phases)
        # Keyed once: each row's pseudonym is a copy of it fed the case's number.
        self._keyed = hmac.new(key.encode(), digestmod=hashlib.sha256)
        # Looked up once per workflow version, not per row (a million rows).
        self._definitions: dict[tuple[str, int], WorkflowDef | None] = {}
        self._states: dict[tuple[str, int, str], str] = {}

    def count(self, conn: Connection) -> int:
        stmt = select(func.count()).select_from(CASES).where(CASES.c.cohort == self.cohort)
        return int(conn.execute(stmt).scalar_one())

    def rows(
        self, conn: Connection, progress: Callable[[int], None] = lambda n: None
    ) -> Iterator[list[Any]]:
        last = 0
        while True:
            page = conn.execute(_page(self.cohort, last)).all()
            if not page:
                return
            ids = [r.id for r in page]
            facts = _Facts.read(conn, ids[0], ids[-1])
            for case in page:
                yield self._row(case, facts)
            progress(len(page))
            last = ids[-1]

    def _definition(self, name: str, version: int) -> WorkflowDef | None:
        if (name, version) not in self._definitions:
            self._definitions[(name, version)] = self.app.workflows.find(name, version)
        return self._definitions[(name, version)]

    def _state(self, definition: WorkflowDef | None, case: Any) -> str:
        key = (case.workflow_name, case.workflow_version, case.state)
        if key not in self._states:
            self._states[key] = state_label(definition, case.state)
        return self._states[key]

    def _pseudonym(self, case_id: int) -> str:
        keyed = self._keyed.copy()
        keyed.update(f"case:{case_id}".encode())
        return keyed.hexdigest()[:PSEUDONYM_HEX]

    def _row(self, case: Any, facts: _Facts) -> list[Any]:
        definition = self._definition(case.workflow_name, case.workflow_version)
        values: list[Any] = [
            self._pseudonym(case.id),
            case.cohort,
            case.start_date.year,
            GROUP.get(case.group, case.group),
            definition.label if definition is not None else case.workflow_name,
            age_on(case.birth_date, case.start_date) if case.birth_date else case.age_at_start,
            case.sex,
            case.diploma_level,
            case.training_year,
            LEARNER_STATUS.get(case.learner_status) if case.learner_status else None,
            case.departement,
            case.start_date,
            case.planned_end_date,
            case.rupture_date,
            RUPTURE_INITIATIVE.get(case.rupture_initiative) if case.rupture_initiative else None,
            self._outcome(case),
            self._state(definition, case),
            to_local(case.state_since).date() if case.state_since else None,
            EXIT_KIND.get(case.exit_kind) if case.exit_kind else None,
        ]
        days = self._days(definition, facts.entries.get(case.id, []))
        values += [days.get(code, 0) for code, _label in self.phases]
        contacts = facts.contacts.get(case.id, {})
        values += [
            sum(n for n, _m in contacts.values()),
            sum(m for _n, m in contacts.values()),
        ]
        for code, _label in self.phases:
            values += list(contacts.get(code, (0, 0)))
        needs = facts.sheets.get(case.id, {})
        values += [sum(needs.values()), *(needs.get(n, 0) for n in NEEDS)]
        for _prefix, moment in _MOMENTS:
            found = facts.assessments.get((case.id, moment))
            if found is None:
                values += [None, None, None]
            else:
                values += [SITUATION[found[0]], DIPLOMA_OUTCOME[found[1]], found[2]]
        return values

    def _outcome(self, case: Any) -> str:
        if case.rupture_date is not None:
            return "rompu"
        return "terminé" if case.planned_end_date <= self.today else "en cours"

    def _days(
        self, definition: WorkflowDef | None, entries: list[tuple[datetime, str]]
    ) -> dict[str, int]:
        """Whole days in each phase: from each state's entry to the next one's (the last one's
        to the cut-off, unless it is final)."""
        if definition is None or not entries:  # no history read: no day to count
            return {}
        seconds: dict[str, float] = defaultdict(float)
        for (at, state), following in zip(entries, [*entries[1:], None], strict=True):
            phase = definition.phase_of(state)
            final = definition.states.get(state)
            if phase is None or (following is None and final is not None and final.final):
                continue
            end = following[0] if following is not None else self.now
            seconds[phase] += max((end - at).total_seconds(), 0.0)
        return {phase: int(s // 86400) for phase, s in seconds.items()}


def _page(cohort: int, after: int) -> Any:
    return (
        select(
            CASES.c.id,
            CASES.c.cohort,
            CASES.c.group,
            CASES.c.workflow_name,
            CASES.c.workflow_version,
            CASES.c.state,
            CASES.c.state_since,
            CASES.c.exit_kind,
            PEOPLE.c.birth_date,
            PEOPLE.c.sex,
            PEOPLE.c.departement,
            CONTRACTS.c.diploma_level,
            CONTRACTS.c.training_year,
            CONTRACTS.c.learner_status,
            CONTRACTS.c.start_date,
            CONTRACTS.c.planned_end_date,
            CONTRACTS.c.rupture_date,
            CONTRACTS.c.rupture_initiative,
            CONTRACTS.c.age_at_start,
        )
        .join(CONTRACTS, CONTRACTS.c.id == CASES.c.contract_id)
        .join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
        .where(CASES.c.cohort == cohort, CASES.c.id > after)
        .order_by(CASES.c.id)
        .limit(PAGE)
    )


@dataclass
class _Facts:
    """What one page's cases have, counted: read with a few grouped queries per part."""

    contacts: dict[int, dict[str, tuple[int, int]]]  # case → phase → (contacts, minutes)
    sheets: dict[int, dict[str, int]]  # case → need → sheets
    assessments: dict[tuple[int, str], tuple[str, str, int | None]]
    entries: dict[int, list[tuple[datetime, str]]]  # case → (when, state entered), in order

    @classmethod
    def read(cls, conn: Connection, first: int, last: int) -> _Facts:
        """The facts of the cases numbered `first` to `last`: one page's, and any other
        cohort's case in that range, never asked for (a range on the indexed case id reads and
        caches as one statement, where lists of a page's ids were compiled query by query)."""
        facts = cls(defaultdict(dict), defaultdict(dict), {}, defaultdict(list))
        logs = CONTACT_LOGS.c
        for case_id, phase, n, minutes in conn.execute(
            select(logs.case_id, logs.phase, func.count(), func.sum(logs.duration_min))
            .where(logs.case_id.between(first, last))
            .group_by(logs.case_id, logs.phase)
        ):
            facts.contacts[case_id][phase or ""] = (int(n), int(minutes or 0))
        for case_id, need, n in conn.execute(
            select(SHEETS.c.case_id, SHEETS.c.need_category, func.count())
            .where(SHEETS.c.case_id.between(first, last))
            .group_by(SHEETS.c.case_id, SHEETS.c.need_category)
        ):
            facts.sheets[case_id][need] = int(n)
        a = ASSESSMENTS.c
        for case_id, moment, situation, diploma, satisfaction in conn.execute(
            select(a.case_id, a.moment, a.situation, a.diploma, a.satisfaction).where(
                a.case_id.between(first, last)
            )
        ):
            facts.assessments[(case_id, moment)] = (situation, diploma, satisfaction)
        e = EVENTS.c
        for case_id, at, to_state in conn.execute(
            select(e.case_id, e.at, e.to_state)
            .where(e.case_id.between(first, last), e.entity == "case", e.to_state.is_not(None))
            .order_by(e.case_id, e.at, e.id)
        ):
            facts.entries[case_id].append((at, to_state))
        return facts


def cut_off(now: datetime) -> date:
    """The data cut-off as the dictionary states it (the export's day, Paris)."""
    return to_local(now).date()
