"""Table 7 of the report: the assessments read from the `assessments` table, split by moment
and by group, every count made by hand; labels in French, no code on screen."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert

from casework.app import App
from casework.evaluation.format import Num, Pct
from casework.evaluation.model import Scope
from casework.evaluation.report import build_report
from casework.models import Assessment
from tests.integration.test_report import block, row, table
from tests.report_cohort import COHORT, Person, add_cohort

CUTOFF = date(2027, 6, 30)
BEFORE = datetime(2027, 6, 30, 20, tzinfo=UTC)  # 22:00 in Paris on the cut-off day: counted
AFTER = datetime(2027, 6, 30, 22, 30, tzinfo=UTC)  # 00:30 on 1 July in Paris: not yet


def assessment(case: int, moment: str, situation: str, diploma: str, satisfaction, at=BEFORE):
    return {
        "case_id": case,
        "moment": moment,
        "situation": situation,
        "diploma": diploma,
        "satisfaction": satisfaction,
        "comments": "Très bien",
        "author": "referente",
        "recorded_at": at,
    }


def test_table_7_counts_the_assessments_by_moment_and_group(app: App) -> None:
    a, b, c, d, control = add_cohort(app, [Person("test")] * 4 + [Person("control")])
    (elsewhere,) = add_cohort(app, [Person("test")], cohort=COHORT + 1)
    with app.db.transaction() as conn:
        conn.execute(
            insert(Assessment),
            [
                assessment(a, "one_year", "same_employer", "pending", 4),
                assessment(b, "one_year", "same_employer", "pending", 5),
                assessment(c, "one_year", "other_employer", "pending", None),
                assessment(d, "one_year", "unemployed", "not_obtained", 2, at=AFTER),
                assessment(a, "contract_end", "employed", "obtained", 5),
                assessment(control, "one_year", "unknown", "pending", None),
                assessment(elsewhere, "one_year", "unemployed", "pending", 1),
            ],
        )
    assessments = table(build_report(app, Scope(COHORT, CUTOFF)), 7)
    assert assessments.empty is None
    assert [b.caption for b in assessments.blocks] == [
        "Bilan à un an : situation du jeune",
        "Bilan à un an : diplôme",
        "Bilan à un an : satisfaction",
        "Bilan de fin de contrat : situation du jeune",
        "Bilan de fin de contrat : diplôme",
        "Bilan de fin de contrat : satisfaction",
    ]
    one_year = block(assessments, "Bilan à un an : situation du jeune")
    assert one_year.columns == ["Situation", "Groupe test", "%", "Groupe témoin", "%"]
    assert one_year.rows == [
        ["bilans enregistrés", 3, None, 1, None],
        ["en contrat chez le même employeur", 2, Pct(2 / 3), 0, Pct(0.0)],
        ["en contrat chez un autre employeur", 1, Pct(1 / 3), 0, Pct(0.0)],
        ["en formation sans contrat", 0, Pct(0.0), 0, Pct(0.0)],
        ["en emploi", 0, Pct(0.0), 0, Pct(0.0)],
        ["sans emploi ni formation", 0, Pct(0.0), 0, Pct(0.0)],
        ["situation inconnue", 0, Pct(0.0), 1, Pct(1.0)],
    ]
    diplomas = block(assessments, "Bilan à un an : diplôme")
    assert [r[:3] for r in diplomas.rows] == [
        ["diplôme obtenu", 0, Pct(0.0)],
        ["diplôme non obtenu", 0, Pct(0.0)],
        ["résultat en attente", 3, Pct(1.0)],
    ]
    satisfaction = block(assessments, "Bilan à un an : satisfaction")
    assert [r[:5] for r in satisfaction.rows] == [
        ["1 sur 5", 0, Pct(0.0), 0, Pct(0.0)],
        ["2 sur 5", 0, Pct(0.0), 0, Pct(0.0)],
        ["3 sur 5", 0, Pct(0.0), 0, Pct(0.0)],
        ["4 sur 5", 1, Pct(1 / 3), 0, Pct(0.0)],
        ["5 sur 5", 1, Pct(1 / 3), 0, Pct(0.0)],
        ["non renseignée", 1, Pct(1 / 3), 1, Pct(1.0)],
        ["satisfaction moyenne", Num(4.5, 1), None, Num(None, 1), None],
    ]
    at_the_end = block(assessments, "Bilan de fin de contrat : situation du jeune")
    assert row(at_the_end, "bilans enregistrés") == ["bilans enregistrés", 1, None, 0, None]
    assert row(at_the_end, "en emploi")[1:5] == [1, Pct(1.0), 0, Pct(None)]
    assert row(block(assessments, "Bilan de fin de contrat : diplôme"), "diplôme obtenu")[1] == 1


def test_table_7_without_assessments_says_so(app: App) -> None:
    add_cohort(app, [Person("test"), Person("control")])
    assessments = table(build_report(app, Scope(COHORT, CUTOFF)), 7)
    assert assessments.empty == "Aucun bilan enregistré à la date d'arrêt."
