"""The demo's own database: the demo empties and fills only a database it created.

`casework serve --demo` starts from an empty database every time, and `casework demo --fresh`
empties one; given `--database` naming a real database, they used to delete it. Now the demo
marks each SQLite file it creates, in SQLite's `application_id` header field (there for exactly
this: saying which application a file belongs to), and only ever empties a marked file. A file
that holds tables without the mark, or that is not SQLite at all, is refused and left as it is,
before anything connects to it (connecting alone would switch it to WAL). A PostgreSQL database
is never emptied, and `casework demo` only uses one with no tables yet.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from casework.errors import CaseworkError

# "CWKD": read with `sqlite3 FILE 'PRAGMA application_id'` (1129794372).
DEMO_APPLICATION_ID = 0x43574B44
_NOT_OURS = (
    "elle contient des données que la démonstration n'a pas créées. Donnez-lui un autre "
    "fichier (--database sqlite:///chemin/nouveau.sqlite3), ou supprimez celui-ci vous-même "
    "si c'est une ancienne démonstration."
)


class DemoDatabaseRefused(CaseworkError):
    def __init__(self, where: str, reason: str):
        super().__init__(f"demo refused database {where}: {reason}")
        self.where, self.reason = where, reason

    def french(self) -> str:
        return f"La démonstration ne touche pas à la base {self.where} : {self.reason}"


def prepare_demo_database(url: str, *, wipe: bool) -> None:
    """Make sure the demo may use the database at `url` (and with `wipe`, empty it), or raise
    DemoDatabaseRefused having touched nothing. A new SQLite file is created marked."""
    parsed = make_url(url)
    where = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() != "sqlite":
        if wipe:
            raise DemoDatabaseRefused(
                where,
                "elle ne vide qu'une base SQLite qu'elle a créée elle-même (sans --database, "
                "elle prend var/demo.sqlite3).",
            )
        engine = create_engine(parsed)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if tables:
            raise DemoDatabaseRefused(
                where,
                "elle contient déjà des tables ; la démonstration n'utilise qu'une base "
                "PostgreSQL vide.",
            )
        return
    if not parsed.database or parsed.database == ":memory:":
        return  # a database in memory is new by definition
    path = Path(parsed.database)
    if path.is_file() and path.stat().st_size > 0:
        marked, has_tables = _look(path)
        if has_tables and not marked:
            raise DemoDatabaseRefused(where, _NOT_OURS)
        if marked and not wipe:
            return
        for suffix in ("", "-wal", "-shm"):  # ours, or holds nothing: start it afresh
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
    conn.close()


def _look(path: Path) -> tuple[bool, bool]:
    """(marked as the demo's, has tables), read without writing anything; a file SQLite cannot
    read counts as someone else's data."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            marked = conn.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False, True
    return marked, tables
