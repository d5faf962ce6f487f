"""Schema migrations (Alembic), driven from Python so an installed casework needs no alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from casework.database import Database


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", "casework:migrations")
    config.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); safe to run again."""
    config = alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
