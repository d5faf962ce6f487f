"""Reads from the command line in the access log, on both databases: who (`--as`, checked, or
the terminal's own login, marked), which case (one row per case shown, one per listing), the
command line; and `casework privacy access-log` (and its former name) for administrators."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select

from casework.app import App
from casework.cli import main
from casework.clock import format_local
from casework.models.tables import ACCESS_LOG, CASES
from tests.factories import add_case, add_user

KEY = "pseudonym-key-0123456789abcdefghijklmnop"


def run(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    env = {"CASEWORK_AS": None, **(env or {})}  # type: ignore[dict-item]
    return CliRunner().invoke(main, ["--database", db_url, *args], env=env)


def logged(app: App) -> list[Any]:
    with app.db.read() as conn:
        return list(conn.execute(select(ACCESS_LOG).order_by(ACCESS_LOG.c.id)).all())


def test_each_command_that_prints_personal_data_records_the_read(
    app: App, db_url: str, tmp_path: Path
) -> None:
    add_user(app, login="claire", email="claire@ml.example")
    add_user(app, login="evaluatrice", email="eva@ml.example", role="evaluator")
    first = add_case(app, referent="claire", birth_name="Quatremare")
    for _ in range(3):
        add_case(app, referent="claire")
    # Without --as: the terminal's login as it is, marked as not checked; nothing else changes.
    shown = run(db_url, "case", "show", str(first))
    assert shown.exit_code == 0, shown.output
    assert "QUATREMARE" in shown.output
    (read,) = logged(app)
    assert (read.user_login, read.case_id, read.address) == (
        getpass.getuser(),
        first,
        "terminal-unchecked",
    )
    assert read.page == f"casework case show {first}"
    # With --as: checked, and said to come from the terminal.
    assert run(db_url, "history", str(first), "--as", "claire").exit_code == 0
    assert run(db_url, "case", "list", "--cohort", "2026", "--as", "claire").exit_code == 0
    assert run(db_url, "case", "list", "--summary", "--as", "claire").exit_code == 0  # counts
    assert run(db_url, "mail", "list", "--case", str(first), "--as", "claire").exit_code == 0
    assert run(db_url, "links", "list", "--case", str(first), "--as", "claire").exit_code == 0
    assert run(db_url, "alerts", "list", "--all", "--as", "claire").exit_code == 0
    assert run(db_url, "inbound", "list", "--as", "claire").exit_code == 0
    assert run(db_url, "intake", "review", "--as", "claire").exit_code == 0
    out = tmp_path / "e.csv"
    env = {"CASEWORK_EVALUATION_PSEUDONYM_KEY": KEY}
    exported = run(
        db_url, "export", "--cohort", "2026", "--out", str(out), "--as", "evaluatrice", env=env
    )
    assert exported.exit_code == 0, exported.output
    rows = logged(app)[1:]
    assert {(r.user_login, r.address) for r in rows} == {
        ("claire", "terminal"),
        ("evaluatrice", "terminal"),
    }
    assert [(r.page, r.case_id) for r in rows] == [
        (f"casework history {first}", first),
        # Four cases listed, one row: the listing and its filters, no case.
        ("casework case list --cohort 2026", None),
        (f"casework mail list --case {first}", first),
        (f"casework links list --case {first}", first),
        ("casework alerts list --all", None),
        ("casework inbound list", None),
        ("casework intake review", None),
        (f"casework export --cohort 2026 --out {out}", None),
    ]


def test_a_list_of_many_cases_is_one_row(app: App, db_url: str) -> None:
    for _ in range(60):
        add_case(app)
    listed = run(db_url, "case", "list", "--limit", "60")
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.splitlines()) == 61
    (read,) = logged(app)
    assert (read.page, read.case_id) == ("casework case list --limit 60", None)


def test_a_reader_who_is_not_a_user_reads_nothing_and_nothing_is_recorded(
    app: App, db_url: str
) -> None:
    add_user(app, login="claire", email="claire@ml.example")
    case_id = add_case(app, birth_name="Quatremare")
    refused = run(db_url, "case", "show", str(case_id), "--as", "personne")
    assert refused.exit_code == 1
    assert "« personne » n'est pas un utilisateur de casework" in refused.output
    assert "QUATREMARE" not in refused.output
    assert run(db_url, "case", "show", "999", "--as", "claire").exit_code == 1  # no such case
    assert logged(app) == []


def test_the_access_log_by_person_case_and_user_for_administrators(app: App, db_url: str) -> None:
    add_user(app, login="admin", email="admin@ml.example", role="administrator")
    add_user(app, login="claire", email="claire@ml.example")
    add_user(app, login="paul", email="paul@ml.example")
    mine = add_case(app, referent="claire")
    other = add_case(app, referent="claire")
    with app.db.read() as conn:
        person = conn.execute(select(CASES.c.beneficiary_id).where(CASES.c.id == mine)).scalar()
    run(db_url, "case", "show", str(mine), "--as", "claire")
    run(db_url, "history", str(other), "--as", "paul")
    run(db_url, "case", "list", "--as", "paul")

    by_person = run(db_url, "privacy", "access-log", "--person", str(person), "--as", "admin")
    assert by_person.exit_code == 0, by_person.output
    (seen,) = [r for r in logged(app) if r.case_id == mine]
    assert by_person.output.splitlines() == [
        f"{format_local(seen.at)}  claire  casework case show {mine}  dossier n° {mine}  "
        "depuis le terminal"
    ]
    by_case = run(db_url, "privacy", "access-log", "--case", str(other), "--as", "admin")
    assert f"paul  casework history {other}  dossier n° {other}" in by_case.output
    by_user = run(db_url, "privacy", "access-log", "--user", "paul", "--json", "--as", "admin")
    lines = [json.loads(line) for line in by_user.output.splitlines()]
    assert [(e["page"], e["case_id"], e["address"]) for e in lines] == [
        ("casework case list", None, "terminal"),
        (f"casework history {other}", other, "terminal"),
    ]
    assert lines[0]["at_paris"] == format_local(datetime.fromisoformat(lines[0]["at"]))
    # Reading the log is recorded too: one row, no case, the filters in the command line.
    reads = [r for r in logged(app) if r.user_login == "admin"]
    assert [(r.page, r.case_id) for r in reads] == [
        (f"casework privacy access-log --person {person}", None),
        (f"casework privacy access-log --case {other}", None),
        ("casework privacy access-log --user paul --json", None),
    ]
    # The former name still works, and says it is an alias.
    old = run(db_url, "access-log", "--case", str(mine), "--as", "admin")
    assert old.exit_code == 0, old.output
    assert f"claire  casework case show {mine}" in old.output
    assert "Alias de `casework privacy access-log`" in run(db_url, "--help").output


def test_what_the_access_log_command_refuses(app: App, db_url: str) -> None:
    add_user(app, login="admin", email="admin@ml.example", role="administrator")
    add_user(app, login="claire", email="claire@ml.example")
    case_id = add_case(app, referent="claire")
    before = len(logged(app))
    counsellor = run(db_url, "privacy", "access-log", "--as", "claire")
    assert counsellor.exit_code == 1
    assert "le journal des consultations leur est réservé" in counsellor.output
    both = run(db_url, "privacy", "access-log", "--person", "1", "--case", str(case_id))
    assert both.exit_code == 2
    assert "Donnez --person ou --case, pas les deux." in both.output
    unknown = run(db_url, "privacy", "access-log", "--person", "999", "--as", "admin")
    assert unknown.exit_code == 1
    assert "Aucune personne n° 999." in unknown.output
    nothing = run(db_url, "privacy", "access-log", "--since", "2026-09-02", "--as", "admin")
    assert nothing.output == "Aucune consultation enregistrée pour ces critères.\n"
    bad_day = run(db_url, "privacy", "access-log", "--since", "demain", "--as", "admin")
    assert bad_day.exit_code == 2
    assert len(logged(app)) == before + 1  # only the reading that was answered
