"""Intake against real databases: importing both files (whole, once, updates), cross-matching
with a review queue whose decisions hold, assigning groups written once, ruptures by file."""

from __future__ import annotations

import csv
import logging
import re
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from casework.actors import Actor
from casework.app import App
from casework.intake import assignment, matching
from casework.intake.assignment import (
    AssignmentError,
    _lottery,
    _matched_not_yet_cases,
)
from casework.intake.importer import Importer, ImportRefused
from casework.intake.linkage import Band
from casework.intake.sample_files import (
    CMA_HEADER,
    caseload_rows,
    contract_rows,
    write_csv,
    write_sample_files,
)
from casework.intake.synthetic import generate
from casework.models import (
    AssignmentDraw,
    Beneficiary,
    Case,
    Contract,
    IntakeFile,
    IntakeRecord,
    MatchProposal,
    OutboxMail,
)
from tests.factories import add_user, assign, events

ME = Actor.person("referente")
COHORT = 2026


def rows_of(app: App, model: type) -> list:
    with app.db.read() as conn:
        return list(conn.execute(select(model.__table__)).all())


def groups_by_contract(app: App) -> dict[str, str]:
    with app.db.read() as conn:
        return dict(
            conn.execute(
                select(Contract.cma_number, Case.group).join(Case, Case.contract_id == Contract.id)
            ).all()
        )


def sex_by_contract(app: App) -> dict[str, str | None]:
    """The sex of each case's young person, by contract number (None: unknown)."""
    with app.db.read() as conn:
        return dict(
            conn.execute(
                select(Contract.cma_number, Beneficiary.sex).join(
                    Beneficiary, Beneficiary.id == Contract.beneficiary_id
                )
            ).all()
        )


def season(tmp_path: Path, n: int = 80, seed: int = 9) -> tuple[Path, Path]:
    write_sample_files(tmp_path, n, seed=seed, cohort=COHORT)
    return tmp_path / "contrats_cma.csv", tmp_path / "jeunes_ml.xlsx"


def import_both(app: App, cma: Path, ml: Path) -> None:
    Importer(app).run(cma, "cma", actor=ME, skip_invalid=True)
    Importer(app).run(ml, "ml", actor=ME, skip_invalid=True)


def test_a_file_with_bad_rows_is_refused_whole_and_nothing_is_written(
    app: App, tmp_path: Path
) -> None:
    cma, _ml = season(tmp_path)
    with pytest.raises(ImportRefused) as refused:
        Importer(app).run(cma, "cma", actor=ME)
    assert len(refused.value.problems) == 4
    assert "refusé, rien n'est importé" in str(refused.value)
    assert rows_of(app, IntakeFile) == []
    assert rows_of(app, IntakeRecord) == []


def test_skip_invalid_takes_the_good_rows_and_writes_the_others(app: App, tmp_path: Path) -> None:
    cma, _ml = season(tmp_path)
    report = Importer(app).run(cma, "cma", actor=ME, skip_invalid=True)
    assert (len(report.created), report.rejected) == (80, 4)
    assert report.rejected_file == tmp_path / "contrats_cma.rejets.csv"
    with report.rejected_file.open(encoding="utf-8-sig") as f:
        rejected = list(csv.reader(f, delimiter=";"))
    assert len(rejected) == 1 + 4
    assert rejected[1][-1] == "Date de naissance : cette date n'existe pas"
    (stored,) = rows_of(app, IntakeFile)
    assert (stored.records, stored.rejected, stored.created) == (80, 4, 80)


def test_importing_the_same_file_again_changes_nothing(app: App, tmp_path: Path) -> None:
    cma, _ml = season(tmp_path)
    Importer(app).run(cma, "cma", actor=ME, skip_invalid=True)
    before = rows_of(app, IntakeRecord)
    again = Importer(app).run(cma, "cma", actor=ME, skip_invalid=True)
    assert again.already is not None
    assert (again.created, again.updated) == ([], [])
    # The same rows in other bytes (another encoding, another separator): all unchanged.
    copy = tmp_path / "copie.csv"
    with cma.open(encoding="cp1252", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    write_csv(rows, CMA_HEADER, copy, "utf-8", ",")
    third = Importer(app).run(copy, "cma", actor=ME, skip_invalid=True)
    assert third.already is None
    assert (third.created, third.updated, third.unchanged) == ([], [], 80)
    assert rows_of(app, IntakeRecord) == before


def test_a_dry_run_shows_and_writes_nothing(app: App, tmp_path: Path) -> None:
    cma, _ml = season(tmp_path)
    report = Importer(app).run(cma, "cma", actor=ME, skip_invalid=True, dry_run=True)
    assert len(report.created) == 80
    assert rows_of(app, IntakeRecord) == []
    assert rows_of(app, IntakeFile) == []
    assert not (tmp_path / "contrats_cma.rejets.csv").exists()


def test_matching_proposes_and_a_persons_decisions_hold(app: App, tmp_path: Path) -> None:
    cma, ml = season(tmp_path, n=100)
    import_both(app, cma, ml)
    report = matching.match(app, COHORT)
    assert report.contracts == 100
    assert report.matched > 50
    proposals = {p.cma_key: p for p in rows_of(app, MatchProposal)}
    some_match = next(p for p in proposals.values() if p.band == Band.MATCH)
    assert some_match.explanation[0].startswith("nom de naissance : ")
    # A person rejects a match, then confirms it is wrong again next run: never proposed again.
    matching.decide(app, some_match.cma_key, False, ME)
    matching.match(app, COHORT)
    again = {p.cma_key: p for p in rows_of(app, MatchProposal)}
    assert again.get(some_match.cma_key) is None or again[some_match.cma_key].ml_key != (
        some_match.ml_key
    )
    # A pair to review confirmed stays a match in later runs.
    waiting = matching.waiting(app)
    assert waiting  # these generated lists have pairs only a person can decide
    proposal, cma_row, ml_row = waiting[0]
    assert cma_row
    assert ml_row
    matching.decide(app, proposal.cma_key, True, ME)
    matching.match(app, COHORT)
    kept = {p.cma_key: p for p in rows_of(app, MatchProposal)}[proposal.cma_key]
    assert (kept.ml_key, kept.band, kept.probability) == (proposal.ml_key, "match", 1.0)
    assert "décision d'une personne" in kept.explanation[-1]
    with pytest.raises(matching.ReviewError, match="aucune proposition"):
        matching.decide(app, "inconnu", True, ME)


def test_parity_assignment_is_written_once_and_audited(
    app: App, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cma, ml = season(tmp_path, n=120)
    import_both(app, cma, ml)
    caplog.set_level(logging.INFO, logger="casework.intake")
    matched = matching.match(app, COHORT)
    report = assign(app, COHORT, "parity", actor=ME)
    cases = rows_of(app, Case)
    assert len(cases) == sum(report.cases.values()) > 0
    # The log says it in plain sentences with the figures, not as Python reprs.
    said = [r.getMessage() for r in caplog.records if r.name == "casework.intake"]
    assert not [line for line in said if "Report(" in line]
    assert (
        f"matching {COHORT}: 120 contracts and {matched.young_people} young people, "
        f"{matched.compared} pairs compared: {matched.matched} matched, "
        f"{matched.to_review} to review"
    ) in said
    assert (
        f"assignment {COHORT}: draw {report.draw_id} by parity, {report.cases['test']} test "
        f"and {report.cases['control']} control cases ({len(cases)} started), 0 rupture(s) "
        f"already known, {report.not_eligible} contract(s) not eligible"
    ) in said
    with app.db.read() as conn:
        born = dict(
            conn.execute(
                text(
                    "SELECT cases.id, beneficiaries.birth_date FROM cases JOIN beneficiaries "
                    "ON beneficiaries.id = cases.beneficiary_id"
                )
            ).all()
        )
    for case in cases:
        day = (
            born[case.id] if isinstance(born[case.id], date) else date.fromisoformat(born[case.id])
        )
        assert case.group == ("test" if day.day % 2 == 0 else "control")
        assert case.assignment_method == "parity"
    (draw,) = rows_of(app, AssignmentDraw)
    assert (draw.method, draw.cases, draw.drawn_by) == ("parity", len(cases), "person:referente")
    created = events(app, "case", cases[0].id)[0]
    assert created.data == {
        "cohort": COHORT,
        "group": cases[0].group,
        "assignment_method": "parity",
        "draw": draw.id,
    }
    # Again: nobody is assigned twice.
    assert assign(app, COHORT, "lottery", seed=1, actor=ME).cases == {}
    # And the database itself refuses a changed group, whoever tries.
    other = "control" if cases[0].group == "test" else "test"
    change = update(Case).where(Case.id == cases[0].id).values(group=other)
    with pytest.raises(DBAPIError, match="written once"), app.db.transaction() as conn:
        conn.execute(change)
    assert rows_of(app, Case)[0].group == cases[0].group


def test_a_lottery_is_reproducible_from_its_seed(app: App, tmp_path: Path) -> None:
    cma, ml = season(tmp_path, n=120)
    import_both(app, cma, ml)
    matching.match(app, COHORT)
    with app.db.read() as conn:
        pairs = _matched_not_yet_cases(conn, app, COHORT)
    # The draw is a function of its seed, strata, block size and rows, nothing else.
    planned = _lottery(pairs, 7, ("sex",), 4)
    assert _lottery(list(reversed(pairs)), 7, ("sex",), 4) == planned
    assert _lottery(pairs, 8, ("sex",), 4) != planned
    report = assign(app, COHORT, "lottery", seed=7, strata=("sex",), block_size=4, actor=ME)
    drawn = groups_by_contract(app)
    assert drawn == planned
    (draw,) = rows_of(app, AssignmentDraw)
    assert (draw.seed, draw.details["strata"], draw.details["block_size"]) == (7, ["sex"], 4)
    # Balanced: blocks of four are half and half within each stratum.
    by_sex: dict[str, list[str]] = {}
    for key, cma_row, _ml in pairs:
        by_sex.setdefault(cma_row.get("sex"), []).append(planned[key])
    for groups in by_sex.values():
        assert abs(groups.count("test") - groups.count("control")) <= 1
    assert sum(report.cases.values()) == len(pairs)
    with pytest.raises(AssignmentError, match="graine"):
        assign(app, COHORT, "lottery", actor=ME)


def test_the_evaluators_table_decides(app: App, tmp_path: Path) -> None:
    cma, ml = season(tmp_path, n=60)
    import_both(app, cma, ml)
    matching.match(app, COHORT)
    matched = [p.cma_key for p in rows_of(app, MatchProposal) if p.band == "match"]
    table = tmp_path / "allocation.csv"
    table.write_text(
        "N° contrat;Groupe\n"
        + "".join(f"{k};{'Test' if i % 3 else 'Témoin'}\n" for i, k in enumerate(matched[1:]))
    )
    with pytest.raises(AssignmentError, match="1 contrat\\(s\\) sans groupe"):
        assign(app, COHORT, "evaluator", table=table, actor=ME)
    assert rows_of(app, Case) == []  # nothing half-done
    with table.open("a") as f:
        f.write(f"{matched[0]};témoin\n")
    report = assign(app, COHORT, "evaluator", table=table, actor=ME)
    assert sum(report.cases.values()) == len(matched)
    groups = groups_by_contract(app)
    assert groups[matched[0]] == "control"
    assert groups[matched[1]] == "control"  # i = 0: Témoin
    assert groups[matched[2]] == "test"


def test_a_young_person_with_a_second_contract_is_assigned_once(app: App, tmp_path: Path) -> None:
    """Two matched proposals naming one young person with two contracts (runs at different
    times can leave that): one case, from the first contract by number; the other waits, and
    is not eligible once the young person is a case."""
    cma, ml = season(tmp_path, n=60)
    import_both(app, cma, ml)
    matching.match(app, COHORT)
    first = min(
        (p for p in rows_of(app, MatchProposal) if p.band == "match"), key=lambda p: p.cma_key
    )
    second = "ZZ-" + first.cma_key
    records, proposals = IntakeRecord.__table__, MatchProposal.__table__
    with app.db.transaction() as conn:
        record = conn.execute(
            select(records).where(records.c.source == "cma", records.c.key == first.cma_key)
        ).one()
        copy = {k: v for k, v in record._mapping.items() if k != "id"}
        conn.execute(insert(records).values({**copy, "key": second}))
        proposal = {k: v for k, v in first._mapping.items() if k != "id"}
        conn.execute(insert(proposals).values({**proposal, "cma_key": second}))
    report = assign(app, COHORT, "parity", actor=ME)
    groups = groups_by_contract(app)
    assert first.cma_key in groups
    assert second not in groups
    assert sum(report.cases.values()) == len(groups)
    assert assign(app, COHORT, "parity", actor=ME).cases == {}
    with app.db.read() as conn:
        _contracts, young = matching.eligible(conn, app, COHORT)
    assert first.ml_key not in {r.key for r in young}


def test_an_assignment_made_meanwhile_is_named_and_nothing_is_half_written(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people assign the same season at once. SQLite: the first holds the write lock from
    its start, so the second waits and then finds nobody left. PostgreSQL: both read the same
    pairs; the second meets the first's cases when writing, is rolled back whole, and says
    whom, in French."""
    cma, ml = season(tmp_path, n=60)
    import_both(app, cma, ml)
    matching.match(app, COHORT)
    draw = assignment._draw
    rival: dict[str, object] = {}

    def meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(assignment, "_draw", draw)  # the rival draws normally
        thread = threading.Thread(
            target=lambda: rival.update(report=assign(app, COHORT, "parity", actor=ME))
        )
        thread.start()
        rival["thread"] = thread
        if app.db.engine.dialect.name == "postgresql":
            thread.join()  # the rival commits before this one writes
        return draw(*args, **kwargs)

    monkeypatch.setattr(assignment, "_draw", meanwhile)
    if app.db.engine.dialect.name == "postgresql":
        with pytest.raises(AssignmentError) as refused:
            assign(app, COHORT, "lottery", seed=3, actor=ME)
        said = str(refused.value)
        assert said.startswith("attribution impossible : une autre attribution a fait")
        assert "(contrat " in said
        assert "Rien n'a été enregistré" in said
        winner = "parity"
    else:
        assign(app, COHORT, "lottery", seed=3, actor=ME)
        rival["thread"].join()  # type: ignore[attr-defined]
        assert rival["report"].cases == {}  # type: ignore[attr-defined]
        winner = "lottery"
    # One draw's cases only, each young person once.
    cases = rows_of(app, Case)
    assert cases
    assert {c.assignment_method for c in cases} == {winner}
    assert len(rows_of(app, AssignmentDraw)) == 1


def test_a_sex_no_file_gives_stays_unknown_and_is_a_stratum_of_its_own(
    app: App, tmp_path: Path
) -> None:
    """Neither file gives the sex of some young people: their cases are made all the same, sex
    unknown (never guessed), and a lottery stratified by sex draws them as their own stratum."""
    cma, ml = season(tmp_path, n=60)
    import_both(app, cma, ml)
    matching.match(app, COHORT)
    matched = sorted(p for p in rows_of(app, MatchProposal) if p.band == "match")
    unknown = {p.cma_key for p in matched[:6]}
    records = IntakeRecord.__table__
    with app.db.transaction() as conn:
        for proposal in matched[:6]:
            for source, key in (("cma", proposal.cma_key), ("ml", proposal.ml_key)):
                row = conn.execute(
                    select(records).where(records.c.source == source, records.c.key == key)
                ).one()
                data = {k: v for k, v in row.data.items() if k != "sex"}
                conn.execute(update(records).where(records.c.id == row.id).values(data=data))
    with app.db.read() as conn:
        pairs = _matched_not_yet_cases(conn, app, COHORT)
    planned = _lottery(pairs, 5, ("sex",), 2)
    assign(app, COHORT, "lottery", seed=5, strata=("sex",), block_size=2, actor=ME)
    sexes = sex_by_contract(app)
    assert {k for k, sex in sexes.items() if sex is None} == unknown
    # Blocks of two within the unknown stratum: three test, three control.
    drawn = [planned[k] for k in sorted(unknown)]
    assert sorted(drawn) == ["control"] * 3 + ["test"] * 3
    assert groups_by_contract(app) == planned


def test_a_later_file_updates_contracts_and_brings_ruptures_for_both_groups(
    app: App, tmp_path: Path
) -> None:
    data = generate(120, seed=9, cohort=COHORT)
    cma_rows = contract_rows(data, 9, COHORT, bad_rows=False)
    first = tmp_path / "septembre.csv"
    write_csv(cma_rows, CMA_HEADER, first, "cp1252", ";")
    ml = tmp_path / "ml.csv"
    ml_rows = caseload_rows(data, 9, COHORT)
    write_csv(ml_rows, list(ml_rows[0]), ml, "utf-8", ",")
    import_both(app, first, ml)
    matching.match(app, COHORT)
    assign(app, COHORT, "parity", actor=ME)
    with app.db.read() as conn:
        by_group = {
            group: number
            for number, group in conn.execute(
                select(Contract.cma_number, Case.group)
                .join(Case, Case.contract_id == Contract.id)
                .order_by(Contract.cma_number)
            ).all()
        }
    test_key, control_key = by_group["test"], by_group["control"]
    for row in cma_rows:
        if row["N° contrat"] in (test_key, control_key):
            start = row["Date de début"]
            row["Date de rupture"] = f"15/{start[3:5]}/{start[6:]}" if start[:2] < "15" else start
        if row["N° contrat"] == test_key:
            row["Employeur"] = "Boulangerie Nouvelle"
    later = tmp_path / "octobre.csv"
    write_csv(cma_rows, CMA_HEADER, later, "cp1252", ";")
    report = Importer(app).run(later, "cma", actor=ME)
    assert {k for k, _ in report.updated} == {test_key, control_key}
    assert report.contracts_updated == 2
    outcomes = {key: outcome for key, _case, outcome in report.ruptures}
    assert outcomes[test_key] == "enregistrée (rupture)"
    assert outcomes[control_key] == "enregistrée (rupture_recorded)"
    with app.db.read() as conn:
        contracts = {
            c.cma_number: c
            for c in conn.execute(select(Contract.__table__)).all()
            if c.cma_number in (test_key, control_key)
        }
    assert contracts[test_key].employer_name == "Boulangerie Nouvelle"
    assert contracts[test_key].rupture_date is not None
    assert contracts[control_key].rupture_date is not None
    # The same later file again: nothing moves twice.
    assert Importer(app).run(later, "cma", actor=ME).already is not None
    # Control-group cases never get a mail, even with a rupture.
    control_cases = {c.id for c in rows_of(app, Case) if c.group == "control"}
    assert not [m for m in rows_of(app, OutboxMail) if m.case_id in control_cases]


def test_a_season_from_the_command_line(app: App, db_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from casework.cli import main

    cma, ml = season(tmp_path, n=100)

    def run(*args: str, code: int = 0) -> str:
        env = {"CASEWORK_AS": "referente"} if "--as" not in args else {}
        out = CliRunner().invoke(
            main, ["--database", db_url, *args], env=env, catch_exceptions=False
        )
        assert out.exit_code == code, out.output
        return out.output

    add_user(app)
    refused = run("intake", "import", "cma", str(cma), "--as", "referente", code=1)
    assert "contrats_cma.csv, ligne 102, colonne « Date de naissance » : « 31/02/2008 »" in refused
    assert "refusé, rien n'est importé" in refused
    dry = run(
        "intake", "import", "cma", str(cma), "--skip-invalid", "--dry-run", "--as", "referente"
    )
    assert "Simulation — contrats_cma.csv (CSV cp1252, séparateur point-virgule" in dry
    assert "4 ligne(s) seraient écartée(s)" in dry
    done = run("intake", "import", "cma", str(cma), "--skip-invalid", "--as", "referente")
    assert "100 nouvelle(s) ligne(s), 0 mise(s) à jour, 0 inchangée(s)." in done
    assert "4 ligne(s) écartée(s), écrite(s) dans" in done
    # From here, $CASEWORK_AS says who acts, instead of --as on every command.
    assert "déjà importé le" in run("intake", "import", "cma", str(cma), "--skip-invalid")
    assert "classeur XLSX" in run("intake", "import", "ml", str(ml), "--skip-invalid")
    matched = run("intake", "match", str(COHORT))
    assert f"Cohorte {COHORT} : 100 contrat(s) de la saison" in matched
    listed = run("intake", "review")
    first = listed.split(" ↔ ")[0]
    assert "nom de naissance : " in listed
    # Probabilities in French, rounded down: a pair to review never reads "99,0 %".
    shown = re.findall(r"\(probabilité (\d+,\d) %\)", listed)
    assert shown
    assert all(50 <= float(p.replace(",", ".")) < 99 for p in shown)
    assert run("intake", "decide", first, "oui") == f"Contrat {first} : même personne.\n"
    assigned = run(
        "intake",
        "assign",
        str(COHORT),
        "--method",
        "lottery",
        "--seed",
        "3",
        "--referent",
        "referente",
    )
    assert f"Cohorte {COHORT}, répartition n° 1 (tirage au sort) : " in assigned
    again = run("intake", "assign", str(COHORT), "--method", "parity", "--allocate", "balanced")
    assert again.startswith("Aucun jeune retenu sans dossier : rien à attribuer.\n")
    assert "Une saison, dans l'ordre" in run("intake", "--help")
