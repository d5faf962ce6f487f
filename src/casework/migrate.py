"""Schema migrations (Alembic), driven from Python so an installed casework needs no alembic.ini."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from casework.database import Database


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", "casework:migrations")
    config.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); safe to run again."""
    config = alembic_config(db)
    with db.engine.connect() as conn, _foreign_keys_checked_at_the_end(conn), conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        check_foreign_keys(conn)


def downgrade(db: Database, revision: str) -> None:
    """Take the schema back to `revision` (tests and a rollback of an upgrade), with foreign
    keys checked as `upgrade` checks them."""
    config = alembic_config(db)
    with db.engine.connect() as conn, _foreign_keys_checked_at_the_end(conn), conn.begin():
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        check_foreign_keys(conn)


@contextmanager
def _foreign_keys_checked_at_the_end(conn: Connection) -> Iterator[None]:
    """SQLite alters a table by copying it, dropping the original and renaming the copy; with
    foreign keys on, dropping a table that other rows point to is refused (deferring the check
    does not help: the renamed copy never counts as the rows coming back). As SQLite's manual
    says to: foreign keys off for the migration (set outside a transaction, where SQLite takes
    it), every reference checked before the commit, and on again."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection  # no transaction is begun: BEGIN is ours
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def check_foreign_keys(conn: Connection) -> None:
    """Refuse (and so roll back) a migration that left a row pointing nowhere (SQLite)."""
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            tables = ", ".join(sorted({str(row[0]) for row in broken}))
            raise RuntimeError(f"migration left rows pointing nowhere in: {tables}")


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
