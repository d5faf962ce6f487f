"""A programme report, computed: the seven tables for one scope, and what makes it
reproducible (the cut-off, the software and library versions, the settings that shaped it).

One read transaction: every table sees the same data. `progress` is told each step done (the
command line draws its bar with it).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from casework.app import App, build_calendar
from casework.evaluation import extract, extract_activity
from casework.evaluation.activity import CONSENT_TRIGGERS, activity_table
from casework.evaluation.after_rupture import after_rupture_table
from casework.evaluation.assessments import assessments_table
from casework.evaluation.bands import parse_bands
from casework.evaluation.format import long_date
from casework.evaluation.model import Report, Scope, Table
from casework.evaluation.partners import ESCALATE, REMIND, partners_table
from casework.evaluation.population import Population, materialised
from casework.evaluation.profile import profile_table
from casework.evaluation.ruptures import ruptures_table
from casework.evaluation.time_to_rupture import time_to_rupture_table

STEPS = 7
LIBRARIES = ("scipy", "statsmodels", "lifelines", "matplotlib", "SQLAlchemy")


def software() -> str:
    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    libraries = ", ".join(f"{name} {of(name)}" for name in LIBRARIES)
    return f"casework {of('casework')} (Python {platform.python_version()} ; {libraries})"


def build_report(app: App, scope: Scope, progress: Callable[[], None] = lambda: None) -> Report:
    settings = app.settings.report
    bands = parse_bands(settings.age_bands)
    rule = app.settings.intake.eligibility.rule(scope.cohort)
    case_workflow = app.workflows.starting(rule.workflow, rule.workflow_version, "case").definition
    liaison = app.workflows.latest("liaison").definition
    calendar = build_calendar(app.settings.calendar)
    tables: list[Table] = []
    with (
        app.db.read() as conn,
        materialised(conn, Population(scope, conn.dialect.name)) as population,
    ):
        profile = extract.profile_counts(conn, population)
        tables.append(profile_table(profile, bands, settings.departements_shown))
        progress()
        tables.append(ruptures_table(extract.rupture_counts(conn, population)))
        progress()
        tables.append(time_to_rupture_table(extract.durations(conn, population)))
        progress()
        tables.append(
            after_rupture_table(extract.ruptured_cases(conn, population), calendar, scope.cutoff)
        )
        progress()
        tables.append(
            activity_table(
                extract_activity.cases_reaching(conn, population, CONSENT_TRIGGERS),
                extract_activity.contacts(conn, population),
                extract_activity.contacts_per_case(conn, population),
                extract_activity.difficulties(conn, population),
                extract_activity.referrals(conn, population),
                case_workflow,
            )
        )
        progress()
        tables.append(
            partners_table(
                extract_activity.sent_sheets(conn, population),
                extract_activity.sheet_events(conn, population, [REMIND, ESCALATE]),
                calendar,
                liaison,
                scope.cutoff,
            )
        )
        progress()
        tables.append(assessments_table(extract_activity.assessments(conn, population)))
        progress()
    size = sum(profile["sex"].values())
    return Report(
        scope=scope,
        tables=tables,
        generated_at=app.clock.now(),
        software=software(),
        settings_used=[
            ("cohorte", str(scope.cohort)),
            ("année d'entrée", "toutes" if scope.year is None else str(scope.year)),
            ("date d'arrêt des données", long_date(scope.cutoff)),
            ("tranches d'âge (report.age_bands)", settings.age_bands),
            (
                "départements détaillés (report.departements_shown)",
                str(settings.departements_shown),
            ),
            (
                "jours fériés (calendar.subdivision)",
                app.settings.calendar.subdivision or "France métropolitaine",
            ),
            ("workflow des dossiers", f"{case_workflow.name}, version {case_workflow.version}"),
            ("base de données", conn.dialect.name),
        ],
        population=size,
    )
