"""Row locks of the engine's batches on PostgreSQL, found by the chaos run (issue 11).

A batch (`fire_many`: the sweep, an import) locks its rows until it commits. Every row that
references a case — an event, a timer, a mail, a link, a liaison sheet — makes PostgreSQL check
that case with `FOR KEY SHARE`. Locked `FOR UPDATE`, a case blocked those checks, so a sheet's
transition (its event names the case) waited for any batch holding that case; and when the same
batch then wanted the sheet, each waited for the other: deadlock, one of them aborted (a
partner's acknowledgement, or a mail round rendering links). The batch only changes non-key
columns: `FOR NO KEY UPDATE` keeps other writers of the row out and lets the checks through.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from casework.actors import Actor
from casework.app import App
from casework.models import Case, LiaisonSheet
from tests.factories import add_case, add_sheet, row

pytestmark = pytest.mark.postgres_only


def test_a_batch_holding_a_case_does_not_block_the_rows_that_reference_it(
    app: App, backend: str
) -> None:
    case_id = add_case(app)
    sheet_id = add_sheet(app, case_id=case_id)
    with app.db.transaction() as batch:
        # The batch has read (locked) and written the case, and has not committed yet.
        done = app.engine.fire_many("case", [case_id], "ask_consent", Actor.system(), conn=batch)
        assert [t.entity_id for t in done.applied] == [case_id]
        with app.db.transaction() as other:
            # Waiting would mean the lock is in the way (and, with the batch wanting the sheet
            # next, a deadlock): fail after a while instead of hanging.
            other.execute(text("SET LOCAL lock_timeout = '10s'"))
            app.engine.fire_sheet(
                sheet_id, "cancel", Actor.person("referente"), conn=other, reason="doublon"
            )
    assert row(app, Case, case_id).state == "consent_asked"
    assert row(app, LiaisonSheet, sheet_id).state == "cancelled"
