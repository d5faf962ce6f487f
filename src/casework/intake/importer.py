"""Importing a source's file: whole or not at all, once, and later files updating what they match.

- *Whole or nothing* (the default): any bad row refuses the file, each problem said with its
  file, line, column, value and reason, and nothing is written. `skip_invalid` takes the good
  rows and writes the others, with why, to a file beside it.
- *Once*: the same bytes imported again change nothing (their SHA-256 is kept); a file whose
  rows are all known and the same changes nothing either.
- *A later file updates* the rows it has by their key (contract number, Mission Locale id): the
  record, and for a contract that became a case, the contract's dates, employer and training
  centre. A rupture date that appears fires the case's `rupture` transition, for test and
  control cases alike: outcomes are known for both groups.
- *One transaction*: the file's record, its rows, the contracts it updates and the ruptures it
  fires commit together. `dry_run` does all of it and rolls back, to show what would change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from casework.actors import Actor
from casework.app import App
from casework.chunks import chunks
from casework.errors import CaseworkError
from casework.french import os_error
from casework.intake import rejects
from casework.intake.fields import KEYS, Problem
from casework.intake.profile import Profile, default_profile
from casework.intake.reading import Checked, check_file, write_rejected
from casework.models.tables import CASES, CONTRACTS, FILES, RECORDS
from casework.states.requirements import requires

log = logging.getLogger("casework.intake")
CHUNK = 500
# The trigger a rupture date in the chamber's file fires, found by this tag in the case's own
# workflow, given the date (`assignment.py` too, for a contract broken before its case began).
RUPTURE_TAG = "rupture"
requires(
    "case",
    by="l'import des ruptures (intake/importer.py)",
    tagged={RUPTURE_TAG: {"rupture_date": "date"}},
)
# What a later chamber file may change on a contract that became a case.
CONTRACT_COLUMNS = (
    "employer_name",
    "employer_siret",
    "employer_trade",
    "training_centre_name",
    "training_centre_uai",
    "diploma",
    "diploma_level",
    "training_year",
    "learner_status",
    "start_date",
    "planned_end_date",
)


class ImportRefused(CaseworkError):
    """The file has bad rows (or is unusable): nothing was imported. The message says why the
    file as a whole was refused, and suggests --skip-invalid only where it would help."""

    def __init__(self, file: str, problems: list[Problem], checked: Checked, skip_invalid: bool):
        self.file, self.problems = file, problems
        whole = checked.refused_whole
        if whole is not None:  # its columns: no row was read, --skip-invalid changes nothing
            why = f" : {whole}"
        elif skip_invalid:  # --skip-invalid given, and no row is good
            why = f" : aucune ligne n'est valable ({len(problems)} problème(s))"
        else:
            why = f" ({len(problems)} problème(s) ; --skip-invalid importe les bonnes lignes)"
        super().__init__(f"{file} : refusé, rien n'est importé{why}")


class ImportFailed(CaseworkError):
    """The database refused the import: rolled back whole, said without the rows' values."""

    def __init__(self, file: str, error: DBAPIError):
        said = str(error.orig).splitlines()[0] if error.orig is not None else ""
        super().__init__(
            f"{file} : la base de données a refusé l'import, rien n'est importé "
            f"({type(error.orig).__name__}: {said})"
        )


@dataclass
class ImportReport:
    source: str
    file: str
    described: str
    sha256: str
    dry_run: bool = False
    already: Any = None  # the earlier import of the very same bytes
    created: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)  # key, fields changed
    unchanged: int = 0
    contracts_updated: int = 0
    ruptures: list[tuple[str, int, str]] = field(default_factory=list)  # key, case, outcome
    rejected: int = 0
    rejected_file: Path | None = None
    rejected_file_error: str | None = None  # the copy could not be written (rows kept anyway)
    file_id: int | None = None
    ignored: list[str] = field(default_factory=list)  # the file's columns nothing was read from
    incomplete: int = 0  # rows taken without a name, a first name or a birth date


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


class Importer:
    def __init__(self, app: App):
        self.app = app

    def run(
        self,
        path: Path,
        source: str,
        profile: Profile | None = None,
        *,
        actor: Actor,
        skip_invalid: bool = False,
        rejected_to: Path | None = None,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        checked: Checked | None = None,
    ) -> ImportReport:
        """`checked`: the file already read and checked (to size a progress bar first)."""
        profile = profile or default_profile(source)
        checked = checked or check_file(path, profile, self.app.settings.intake)
        if checked.problems and (not skip_invalid or not checked.records):
            raise ImportRefused(path.name, checked.problems, checked, skip_invalid)
        digest = checked.sha256
        report = ImportReport(source, path.name, checked.described, digest, dry_run)
        report.ignored, report.incomplete = checked.ignored, checked.incomplete
        try:
            with self.app.db.transaction() as conn:
                already = conn.execute(
                    select(FILES).where(FILES.c.source == source, FILES.c.sha256 == digest)
                ).first()
                if already is not None:
                    report.already = already
                    return report
                self._take(conn, checked, source, path.name, report, actor, progress)
                report.rejected = len(checked.rejected)
                rejects.store(conn, report.file_id, checked)  # with the import, or not at all
                self._record_counts(conn, report)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        except DBAPIError as error:
            # Said without the statement's parameters: they are the file's names and birth dates.
            raise ImportFailed(path.name, error) from None
        if checked.rejected and not dry_run:
            # After the commit, and only a copy: the rows are kept with the import.
            target = rejected_to or path.with_name(f"{path.stem}.rejets.csv")
            try:
                write_rejected(checked, target)
                report.rejected_file = target
            except OSError as error:
                report.rejected_file_error = f"{target} : {os_error(error, writing=True)}"
        log.info(
            "import %s (%s)%s: %d new, %d updated, %d unchanged, %d rupture(s), %d rejected",
            path.name,
            source,
            " [dry run]" if dry_run else "",
            len(report.created),
            len(report.updated),
            report.unchanged,
            len(report.ruptures),
            report.rejected,
        )
        return report

    def _take(
        self,
        conn: Connection,
        checked: Checked,
        source: str,
        name: str,
        report: ImportReport,
        actor: Actor,
        progress: Callable[[int], None] | None,
    ) -> None:
        now = self.app.clock.now()
        records = checked.records
        file_id = self._record_file(conn, checked, source, name, report, actor, now)
        report.file_id = file_id
        key_name = KEYS[source]
        changed_contracts: dict[str, dict[str, Any]] = {}
        ruptures: dict[str, date] = {}
        for part in chunks(records, CHUNK):
            keys = [str(values[key_name]) for _, values in part]
            known = _known_records(conn, source, keys)
            new_rows, changed_rows = [], []
            for line, values in part:
                key = str(values[key_name])
                data = _as_json(values)
                old = known.get(key)
                if old is None:
                    new_rows.append(
                        {
                            "source": source,
                            "key": key,
                            "data": data,
                            "file_id": file_id,
                            "line": line,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    report.created.append(key)
                elif old.data != data:
                    fields = sorted(
                        f for f in set(data) | set(old.data) if data.get(f) != old.data.get(f)
                    )
                    changed_rows.append(
                        {
                            "record_id": old.id,
                            "data": data,
                            "file_id": file_id,
                            "line": line,
                            "updated_at": now,
                        }
                    )
                    report.updated.append((key, fields))
                    if source == "cma":
                        changed_contracts[key] = values
                        if values.get("rupture_date") and not old.data.get("rupture_date"):
                            ruptures[key] = values["rupture_date"]
                else:
                    report.unchanged += 1
            _write_records(conn, new_rows, changed_rows)
            if progress is not None:
                progress(len(part))
        if changed_contracts:
            self._update_contracts(conn, changed_contracts, ruptures, report, name)

    def _update_contracts(
        self,
        conn: Connection,
        changed: dict[str, dict[str, Any]],
        ruptures: dict[str, date],
        report: ImportReport,
        name: str,
    ) -> None:
        """The contracts that became cases follow their file; a new rupture date fires the
        case's rupture (test and control alike)."""
        now = self.app.clock.now()
        cases = _cases_of(conn, list(changed))
        if cases:
            # One statement for all: a value the file leaves empty keeps the contract's own.
            conn.execute(
                update(CONTRACTS)
                .where(CONTRACTS.c.id == bindparam("contract_id"))
                .values(
                    {
                        **{
                            c: func.coalesce(
                                bindparam(f"new_{c}", type_=CONTRACTS.c[c].type), CONTRACTS.c[c]
                            )
                            for c in CONTRACT_COLUMNS
                        },
                        "updated_at": now,
                    }
                ),
                [
                    {
                        "contract_id": row.id,
                        **{f"new_{c}": changed[key].get(c) for c in CONTRACT_COLUMNS},
                    }
                    for key, row in cases.items()
                ],
            )
            report.contracts_updated += len(cases)
        self._fire_ruptures(conn, cases, ruptures, report, name)

    def _record_file(
        self,
        conn: Connection,
        checked: Checked,
        source: str,
        name: str,
        report: ImportReport,
        actor: Actor,
        now: datetime,
    ) -> int:
        """The imported file's own row: records and events point at it."""
        return int(
            conn.execute(
                insert(FILES).returning(FILES.c.id),
                {
                    "source": source,
                    "name": name[:255],
                    "sha256": report.sha256,
                    "described": report.described[:120],
                    "records": len(checked.records),
                    "rejected": 0,
                    "created": 0,
                    "updated": 0,
                    "imported_at": now,
                    "imported_by": str(actor)[:120],
                    "header": [rejects.as_text(h) for h in checked.header],
                },
            ).scalar_one()
        )

    def _fire_ruptures(
        self,
        conn: Connection,
        cases: dict[str, Any],
        ruptures: dict[str, date],
        report: ImportReport,
        name: str,
    ) -> None:
        """Fire each case's rupture the file newly tells, each in its own savepoint: a refused
        one is reported and must not undo the import."""
        actor = Actor.importer(f"fichier CMA {name}")
        for key, day in sorted(ruptures.items()):
            if key not in cases:
                continue  # not a case: the record keeps it for the evaluation
            case_id = cases[key].case_id
            flow = self.app.workflows.definition(
                cases[key].workflow_name, cases[key].workflow_version
            )
            rupture = flow.trigger_tagged(RUPTURE_TAG)
            nested = conn.begin_nested()  # a refused rupture must not undo the import
            try:
                done = self.app.engine.fire_case(
                    case_id, rupture, actor, conn=conn, rupture_date=day
                )
            except CaseworkError as error:
                nested.rollback()
                report.ruptures.append((key, case_id, f"non enregistrée : {error}"))
                continue
            nested.commit()
            report.ruptures.append((key, case_id, f"enregistrée ({done.dest})"))

    @staticmethod
    def _record_counts(conn: Connection, report: ImportReport) -> None:
        conn.execute(
            update(FILES)
            .where(FILES.c.id == report.file_id)
            .values(
                rejected=report.rejected,
                created=len(report.created),
                updated=len(report.updated),
            )
        )


def _as_json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, date) else v for k, v in values.items() if v is not None
    }


def _known_records(conn: Connection, source: str, keys: list[str]) -> dict[str, Any]:
    """The records of `source` already stored under `keys`, by key."""
    return {
        row.key: row
        for row in conn.execute(
            select(RECORDS.c.id, RECORDS.c.key, RECORDS.c.data).where(
                RECORDS.c.source == source, RECORDS.c.key.in_(keys)
            )
        )
    }


def _write_records(
    conn: Connection, new_rows: list[dict[str, Any]], changed_rows: list[dict[str, Any]]
) -> None:
    if new_rows:
        conn.execute(insert(RECORDS), new_rows)
    if changed_rows:
        conn.execute(
            update(RECORDS)
            .where(RECORDS.c.id == bindparam("record_id"))
            .values(
                data=bindparam("data"),
                file_id=bindparam("file_id"),
                line=bindparam("line"),
                updated_at=bindparam("updated_at"),
            ),
            changed_rows,
        )


def _cases_of(conn: Connection, keys: list[str]) -> dict[str, Any]:
    """The contracts among `keys` (CMA numbers) that became cases, with their case's workflow."""
    cases = {}
    for part in chunks(keys, CHUNK):
        for row in conn.execute(
            select(
                CONTRACTS.c.id,
                CONTRACTS.c.cma_number,
                CASES.c.id.label("case_id"),
                CASES.c.workflow_name,
                CASES.c.workflow_version,
            )
            .join(CASES, CASES.c.contract_id == CONTRACTS.c.id)
            .where(CONTRACTS.c.cma_number.in_(part))
        ):
            cases[row.cma_number] = row
    return cases
