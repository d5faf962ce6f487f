"""The partner directory's migration keeps what the old free-text territory said."""

from __future__ import annotations

from sqlalchemy import select, text

from casework.database import Database
from casework.migrate import downgrade, upgrade
from casework.models import Partner
from casework.settings import DatabaseSettings


def test_the_old_territory_becomes_departements_and_postcodes(db_url: str) -> None:
    db = Database(DatabaseSettings(url=db_url))
    try:
        downgrade(db, "0011")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO partners (name, kind, need_categories, territory, created_at) "
                    "VALUES ('ADLJ', 'housing', '[\"housing\"]', '53, 72000 2a', "
                    "'2026-09-01 00:00:00+00:00'), ('ML', 'mission_locale', '[]', NULL, "
                    "'2026-09-01 00:00:00+00:00')"
                )
            )
        upgrade(db)
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(
                    Partner.name, Partner.departements, Partner.postcodes, Partner.active
                ).order_by(Partner.name)
            ).all()
        assert [tuple(r) for r in rows] == [
            ("ADLJ", ["53", "2A"], ["72000"], True),
            ("ML", [], [], True),
        ]
    finally:
        db.engine.dispose()


def test_partners_already_there_get_their_folded_name_and_near_duplicates_stay_apart(
    db_url: str,
) -> None:
    db = Database(DatabaseSettings(url=db_url))
    try:
        downgrade(db, "0015-1")  # before the folded name
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO partners (name, kind, need_categories, created_at) VALUES "
                    "('ADLJ 53', 'housing', '[]', '2026-09-01 00:00:00+00:00'), "
                    "('Adlj-53', 'housing', '[]', '2026-09-01 00:00:00+00:00'), "
                    "('Foyer Éole', 'housing', '[]', '2026-09-01 00:00:00+00:00')"
                )
            )
        upgrade(db)
        with db.engine.connect() as conn:
            rows = conn.execute(select(Partner.id, Partner.name_key).order_by(Partner.id)).all()
        first, second, third = rows
        assert [first.name_key, second.name_key, third.name_key] == [
            "adlj 53",
            f"adlj 53 #{second.id}",  # apart, so the index can be unique; nothing lost
            "foyer eole",
        ]
    finally:
        db.engine.dispose()
