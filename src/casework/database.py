"""Connections and transactions, for SQLite (embedded default) and PostgreSQL.

SQLite: WAL (readers never block the writer), foreign keys and recursive triggers on (so that
INSERT OR REPLACE cannot bypass the delete triggers), a busy timeout, and every write
transaction opened with `BEGIN IMMEDIATE` so it holds the write lock from its first read: what a
transaction reads cannot change before it writes, and two writers never deadlock on lock upgrade.
Read-only work (`Database.read`) uses a plain deferred BEGIN and runs beside the writer.

PostgreSQL: READ COMMITTED; the engine guards each row with its version counter, and batch
paths lock the rows they are about to change (`SELECT … FOR NO KEY UPDATE`: other writers
of the row wait, rows that merely reference it do not).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from casework import text_hygiene
from casework.settings import DatabaseSettings

_READONLY = "casework_readonly"


class Database:
    def __init__(self, settings: DatabaseSettings):
        self.settings = settings
        self.url = make_url(settings.url)
        self.engine = _create_engine(settings)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: commits when the block ends, rolls back if it raises."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that does not take SQLite's write lock."""
        with self.engine.connect().execution_options(**{_READONLY: True}) as conn, conn.begin():
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in one write transaction (committed at the end of the block)."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(settings: DatabaseSettings) -> Engine:
    url = make_url(settings.url)
    kwargs: dict[str, Any] = {
        "echo": settings.echo,
        # A failed statement's error (logged, shown in /health, kept on a failed timer) must
        # not carry its parameters: names, birth dates and addresses would land in logs.
        "hide_parameters": True,
        "json_serializer": text_hygiene.json_dumps,
    }
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": settings.busy_timeout_ms / 1000}
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, settings.busy_timeout_ms)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
        _redact_postgresql_errors(engine)
    text_hygiene.install(engine)
    return engine


def _redact_postgresql_errors(engine: Engine) -> None:
    """PostgreSQL quotes the values it refuses in its errors ("DETAIL: Key (name)=(Léa
    MARTIN) already exists", "invalid input syntax for type integer: "Dupont""). An error's
    text reaches logs, tracebacks, /health and a failed timer's stored reason: keep what says
    where (the error's kind, SQLSTATE, table, column, constraint) and the message only where it
    names no value; never the DETAIL. (SQLite's messages name columns, not values.)"""

    @event.listens_for(engine, "handle_error")
    def _redact(context: Any) -> None:
        original = context.original_exception
        diag = getattr(original, "diag", None)
        sqlstate = getattr(original, "sqlstate", None)
        if diag is None or sqlstate is None:
            return
        primary = diag.message_primary or ""
        if sqlstate.startswith("22"):  # data exceptions: the message quotes the value
            primary = "value refused"
        where = ".".join(filter(None, (diag.table_name, diag.column_name)))
        said = f"{primary} [SQLSTATE {sqlstate}"
        said += f", {where}" if where else ""
        said += f", constraint {diag.constraint_name}]" if diag.constraint_name else "]"
        original.args = (said,)
        wrapped = context.sqlalchemy_exception
        if wrapped is not None and wrapped.args:
            kind = f"{type(original).__module__}.{type(original).__name__}"
            wrapped.args = (f"({kind}) {said}", *wrapped.args[1:])


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module so that we choose its kind in `_on_begin`.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Without it, INSERT OR REPLACE deletes the row it replaces without firing its delete
        # triggers: an event could be rewritten, a case's group changed.
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # NORMAL in WAL mode: a commit survives a process crash; only a power loss may drop the
        # last transactions, and never corrupts the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
