"""A whole cohort through the engine (the demo's story), then checks on what was recorded."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from casework.actors import Actor
from casework.app import App, build_app
from casework.clock import FixedClock
from casework.demo import cohort_start, demo_cases, run_story, seed_cohort
from casework.evaluation.export_files import export_cohort
from casework.french import faults
from casework.models import Case, ContactLog, Event, LiaisonSheet, OutboxMail
from casework.settings import EvaluationSettings, MailSettings, Settings

KEY = "demo-pseudonym-key-0123456789abcdefghijk"
FINAL = {"closed", "positive_exit", "exit_without_solution", "lost_contact", "rupture_recorded"}


def test_a_cohort_runs_through_and_the_record_is_consistent(app: App, clock: FixedClock) -> None:
    lines: list[str] = []
    run_story(app, clock, lines.append, n_cases=60, cohort=2025, seed=7)
    output = "\n".join(lines)
    assert "Cohorte 2025 : 60 apprentis identifiés" in output
    assert "Bilan :" in output
    # Told in French, with labels: no state or trigger codes.
    assert faults(output) == []
    assert not re.search(r"\b(?:identified|consent_asked|follow_up|ask_consent)\b", output)
    assert "Demander le consentement (Identifié → Consentement à recueillir), par système" in output

    with app.db.read() as conn:
        cases = conn.execute(select(Case.id, Case.group, Case.state, Case.version)).all()
        all_events = conn.execute(select(Event.__table__).order_by(Event.id)).all()
        contacted = set(conn.execute(select(ContactLog.case_id)).scalars())
        referred = set(conn.execute(select(LiaisonSheet.case_id)).scalars())
        sheets = conn.execute(select(func.count()).select_from(LiaisonSheet)).scalar_one()
        mailed = set(conn.execute(select(OutboxMail.case_id)).scalars())

    groups = {c.id: c.group for c in cases}
    assert set(groups.values()) == {"test", "control"}
    # Control-group cases are never contacted and never referred.
    assert not {i for i in contacted | referred if groups[i] == "control"}
    # ...and never mailed about, while test-group cases are.
    assert mailed
    assert not {i for i in mailed if groups[i] == "control"}
    assert {c.state for c in cases if c.group == "control"} <= {
        "outcome_tracking",
        "rupture_recorded",
    }
    assert {c.state for c in cases if c.group == "test"} <= {
        "follow_up",
        "monitoring",
        "declined",
        "rupture",
        "reorientation",
        *FINAL,
    }
    assert "monitoring" in {c.state for c in cases}  # six cycles went by, driven by timers
    assert sheets > 0

    # The audit log replays into the current state: each event starts where the previous ended,
    # and every transition of a row bumped its version exactly once.
    chains: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for event in all_events:
        chains[(event.entity, event.entity_id)].append(event)
    for (entity, _entity_id), chain in chains.items():
        assert chain[0].from_state is None
        for before, after in itertools.pairwise(chain):
            assert after.from_state == before.to_state, (entity, before.id, after.id)
            assert after.at >= before.at
    for c in cases:
        chain = chains[("case", c.id)]
        assert chain[-1].to_state == c.state
        assert c.version == len(chain)


def test_the_readme_shows_a_followed_test_group_case_of_the_demo(
    app: App, clock: FixedClock
) -> None:
    """The Quick start's commands name the case `serve --demo` prints as the one its people
    follow: a test-group case with a history, not one left to the reader or a control case."""
    clock.set(cohort_start(2025))
    seed_cohort(app, 40, 2025, seed=53)  # what `serve --demo` makes, with its defaults
    yours, example, _housing = demo_cases(app)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("Meanwhile, from another terminal") :].split("```")[1]
    named = {int(n) for n in re.findall(r"(?:history|--case|show) (\d+)", block)}
    assert named == {example}
    with app.db.read() as conn:
        group = conn.execute(select(Case.group).where(Case.id == example)).scalar_one()
    assert group == "test"
    assert example not in yours


def test_the_demos_report_as_the_readme_shows_it(tmp_path: Path) -> None:
    """`casework demo --fresh --days 290` then `casework report` on its cohort, as the README's
    evaluation paragraph runs them: the simulated counsellor's one-year assessments fill
    Table 7, and the export has them on their rows."""
    from click.testing import CliRunner

    from casework.cli import main

    database = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    runner = CliRunner()
    told = runner.invoke(main, ["--database", database, "demo", "--fresh", "--days", "290"])
    assert told.exit_code == 0, told.output
    out = tmp_path / "rapports"
    period = ["--cohort", "2025", "--cutoff", "2026-09-30", "--format", "html"]
    done = runner.invoke(main, ["--database", database, "report", *period, "--out", str(out)])
    assert done.exit_code == 0, done.output
    html = (out / "rapport-cohorte-2025-2026-09-30.html").read_text(encoding="utf-8")
    assert "Aucun bilan enregistré" not in html
    assembled = re.sub(r"<[^>]+>", " ", html)
    recorded = re.search(r"bilans enregistrés\s+(\d+)", assembled)
    assert recorded is not None, assembled[-3000:]
    assert int(recorded.group(1)) > 0
    # The export of the same cohort carries them on their rows.
    settings = Settings(mail=MailSettings(enabled=False), evaluation=EvaluationSettings(KEY))
    demo = build_app(
        settings.with_database(database), FixedClock(datetime(2026, 10, 1, tzinfo=UTC))
    )
    try:
        exported = export_cohort(demo, 2025, tmp_path / "evaluation.csv", Actor.system())
    finally:
        demo.close()
    rows = exported.path.read_text(encoding="utf-8-sig").splitlines()
    at_one_year = rows[0].split(";").index("bilan_un_an_situation")
    assert any(r.split(";")[at_one_year] for r in rows[1:])
