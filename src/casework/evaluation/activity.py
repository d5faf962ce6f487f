"""Table 5: the follow-up itself — consent, contacts (how many, how long, in which cycle and
phase), the difficulties noted and the needs referred to partners.

A contact's phase is the phase of the case's state when it was recorded (`contact_logs.phase`,
a code the case workflow declares under `phases:`); the time per phase is grouped by it, in the
file's order, named by the workflow's labels (`WorkflowDef.phases[code].label`), never by code.
"""

from __future__ import annotations

from collections.abc import Callable

from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from casework.evaluation.extract import Key
from casework.evaluation.format import Cell, Interval, Num, Pct
from casework.evaluation.model import Block, Table
from casework.labels import NEED_CATEGORY
from casework.states.definition import WorkflowDef

ASKED, GIVEN, DECLINED = "ask_consent", "give_consent", "decline"
CONSENT_TRIGGERS = [ASKED, GIVEN, DECLINED]


def consent_block(reached: dict[Key, int]) -> Block:
    asked = reached.get(("test", ASKED), 0)
    rows: list[list[Cell]] = [["consentement demandé", asked, None, None]]
    for trigger, label in ((GIVEN, "consentement recueilli"), (DECLINED, "accompagnement refusé")):
        n = reached.get(("test", trigger), 0)
        low, high = proportion_confint(n, asked, method="wilson") if asked else (None, None)
        rows.append([label, n, Pct(n / asked if asked else None), Interval(low, high)])
    waiting = asked - reached.get(("test", GIVEN), 0) - reached.get(("test", DECLINED), 0)
    rows.append(
        ["sans réponse à la date d'arrêt", waiting, Pct(waiting / asked if asked else None), None]
    )
    return Block(
        ["Groupe test", "Dossiers", "Part des demandes", "IC 95 % (Wilson)"], rows, "Consentement"
    )


def contacts_block(
    contacts: dict[str, dict[Key, tuple[int, int, int]]], per_case: dict[int, int], followed: int
) -> Block:
    total, minutes, contacted = contacts["all"].get((), (0, 0, 0))
    rows: list[list[Cell]] = [
        ["dossiers accompagnés (consentement recueilli)", followed],
        ["dossiers contactés au moins une fois", contacted],
        ["contacts", total],
        ["durée totale (heures)", Num(minutes / 60, 1)],
        [
            "contacts par dossier accompagné (moyenne)",
            Num(total / followed if followed else None, 1),
        ],
        [
            "minutes par dossier accompagné (moyenne)",
            Num(minutes / followed if followed else None, 0),
        ],
        ["minutes par contact (moyenne)", Num(minutes / total if total else None, 0)],
    ]
    if per_case:
        described = DescrStatsW(list(per_case), weights=list(per_case.values()))
        median = float(described.quantile([0.5], return_pandas=False)[0])
        rows.append(["contacts par dossier contacté (médiane)", Num(median, 0)])
    return Block(["Contacts", "Valeur"], rows, "Contacts avec les jeunes")


def _by_block(
    caption: str,
    first: str,
    counts: dict[Key, tuple[int, int, int]],
    label: Callable[[object], str],
    order: Callable[[Key], tuple[object, ...]],
) -> Block:
    total_minutes = sum(m for _, m, _ in counts.values())
    rows: list[list[Cell]] = []
    for key in sorted(counts, key=order):
        n, minutes, cases = counts[key]
        rows.append(
            [
                label(key[0]),
                n,
                cases,
                Num(minutes / 60, 1),
                Pct(minutes / total_minutes if total_minutes else None),
                Num(minutes / n if n else None, 0),
            ]
        )
    columns = [first, "Contacts", "Dossiers", "Heures", "Part du temps", "Minutes par contact"]
    return Block(columns, rows, caption)


def categories_block(
    caption: str, counts: dict[str, tuple[int, int]], what: str, followed: int
) -> Block:
    rows: list[list[Cell]] = []
    for category in sorted(counts, key=lambda c: -counts[c][0]):
        n, cases = counts[category]
        rows.append(
            [
                NEED_CATEGORY.get(category, category),
                n,
                cases,
                Pct(cases / followed if followed else None),
            ]
        )
    return Block(["Besoin", what, "Dossiers", "Part des dossiers accompagnés"], rows, caption)


def activity_table(
    reached: dict[Key, int],
    contacts: dict[str, dict[Key, tuple[int, int, int]]],
    per_case: dict[int, int],
    difficulties: dict[str, tuple[int, int]],
    referrals: dict[str, tuple[int, int]],
    case_workflow: WorkflowDef,
) -> Table:
    followed = reached.get(("test", GIVEN), 0)
    phases = list(case_workflow.phases)

    def phase(code: object) -> str:
        declared = case_workflow.phases.get(str(code))
        # NULL: the case was in a state of no phase; an unknown code (a phase a later version
        # of the file dropped) is not shown as a code either.
        if declared is not None:
            return declared.label
        return "hors phase" if code is None else "autre phase"

    def phase_order(key: Key) -> tuple[object, ...]:
        code = str(key[0])
        return (code not in phases, phases.index(code) if code in phases else 0, key[0] is None)

    blocks = [
        consent_block(reached),
        contacts_block(contacts, per_case, followed),
        _by_block(
            "Contacts par cycle mensuel",
            "Cycle",
            contacts["cycle"],
            lambda c: "avant le suivi mensuel" if not c else f"cycle {c}",
            lambda k: (k[0] is None, str(k[0]).zfill(4)),
        ),
        _by_block("Temps par phase", "Phase", contacts["phase"], phase, phase_order),
        categories_block(
            "Difficultés repérées lors des contacts", difficulties, "Contacts", followed
        ),
        categories_block(
            "Besoins orientés vers un partenaire (fiches de liaison envoyées)",
            referrals,
            "Fiches",
            followed,
        ),
    ]
    return Table(
        5,
        "Activité d'accompagnement",
        [
            "Groupe test seulement : le groupe témoin n'est pas contacté. Consentement : les "
            "dossiers pour lesquels il a été demandé, recueilli ou refusé à la date d'arrêt ; "
            "les parts se lisent sur les demandes.",
            "Contacts : ceux que les référents ont enregistrés (appel, SMS, courriel, visite, "
            "rendez-vous), avec leur durée déclarée. Le cycle est le point mensuel en cours au "
            "moment du contact (cycle 1 à 6) ; la phase, l'étape du travail du référent où en "
            "était le dossier, telle que la déclare le programme : "
            + _listed([f"« {p.label} »" for p in case_workflow.phases.values()])
            + " (« hors phase » : un contact pris quand le dossier n'était dans aucune).",
            "Difficultés : celles notées à chaque contact (un contact peut en noter "
            "plusieurs). Besoins orientés : les fiches de liaison envoyées à un partenaire, "
            "par besoin.",
        ],
        blocks,
    )


def _listed(items: list[str]) -> str:
    """« A », « B » et « C »."""
    return ", ".join(items[:-1]) + " et " + items[-1] if len(items) > 1 else "".join(items)
