"""The hot write path: multi-row statements through the DB-API, built once per shape.

Applying a transition writes one UPDATE and one INSERT per row. Done row by row (or with
`executemany`) in batches of a thousand, the per-statement overhead costs more than the database
work, and SQLAlchemy's per-row parameter processing costs more still. So each batch becomes a
few statements of up to ROWS_PER_STATEMENT rows:

    UPDATE cases SET state = v.column3, version = cases.version + 1, updated_at = ?, …
    FROM (VALUES (id, expected version, state, …), (…), …) AS v
    WHERE cases.id = v.column1 AND cases.version = v.column2

    INSERT INTO events (…) VALUES (…), (…), …

Values go through the very bind processors SQLAlchemy would use (so a timestamp or an enum is
stored exactly as by the ORM), and what the whole batch shares (the time) is converted once.
The UPDATE's row count is the optimistic-lock check: a row whose version moved is not matched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect

Converter = Callable[[Any], Any]
# SQLite allows 32,766 parameters per statement, PostgreSQL 65,535: 200 rows of a dozen values
# stay far below both, and measured as fast as larger statements.
ROWS_PER_STATEMENT = 200


def _identity(value: Any) -> Any:
    return value


class FastSQL:
    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self.mark = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
        self.quote = dialect.identifier_preparer.quote
        # PostgreSQL types a VALUES list from its first row; untyped parameters would be text.
        self.typed_values = dialect.name == "postgresql"
        self._converters: dict[Column[Any], Converter] = {}
        self._converter_rows: dict[tuple[str, tuple[str, ...]], tuple[Converter, ...] | None] = {}
        self._sql: dict[tuple[object, ...], str] = {}

    def converter(self, column: Column[Any]) -> Converter:
        """The bind processor SQLAlchemy applies to this column's values on this dialect."""
        found = self._converters.get(column)
        if found is None:
            processor = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            found = self._converters[column] = processor or _identity
        return found

    def convert_values(
        self, table: Table, columns: tuple[str, ...], values: dict[str, Any]
    ) -> tuple[Any, ...]:
        """`values[c]` for each column, through its converter (skipped where it does nothing)."""
        key = (table.name, columns)
        converters = self._converter_rows.get(key)
        if converters is None:
            found = tuple(self.converter(table.c[c]) for c in columns)
            converters = None if all(f is _identity for f in found) else found
            self._converter_rows[key] = converters
        if converters is None:
            return tuple(values[c] for c in columns)
        return tuple(f(values[c]) for f, c in zip(converters, columns, strict=True))

    def _values(self, table: Table, columns: Sequence[str], rows: int) -> str:
        if self.typed_values:
            first = ", ".join(
                f"CAST({self.mark} AS {table.c[c].type.compile(self.dialect)})" for c in columns
            )
        else:
            first = ", ".join([self.mark] * len(columns))
        other = ", ".join([self.mark] * len(columns))
        return ", ".join([f"({first})", *[f"({other})"] * (rows - 1)])

    def _update_sql(self, table: Table, columns: Sequence[str], reenter: bool, rows: int) -> str:
        key = ("update", table.name, tuple(columns), reenter, rows)
        sql = self._sql.get(key)
        if sql is None:
            q, t = self.quote, self.quote(table.name)
            keyed = ["id", "version", "state", *columns]
            # A VALUES list's columns are column1, column2… on SQLite and PostgreSQL alike.
            v = {name: f"v.column{i}" for i, name in enumerate(keyed, start=1)}
            sets = [
                f"{q('state')} = {v['state']}",
                f"{q('version')} = {t}.{q('version')} + 1",
                f"{q('updated_at')} = {self.mark}",
            ]
            if reenter:
                sets.append(f"{q('state_since')} = {self.mark}")
            sets.extend(f"{q(c)} = {v[c]}" for c in columns)
            sql = self._sql[key] = (
                f"UPDATE {t} SET {', '.join(sets)} "
                f"FROM (VALUES {self._values(table, keyed, rows)}) AS v "
                f"WHERE {t}.{q('id')} = {v['id']} AND {t}.{q('version')} = {v['version']}"
            )
        return sql

    def _insert_sql(self, table: Table, columns: Sequence[str], rows: int) -> str:
        key = ("insert", table.name, tuple(columns), rows)
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(self.quote(c) for c in columns)
            sql = self._sql[key] = (
                f"INSERT INTO {self.quote(table.name)} ({names}) "
                f"VALUES {self._values(table, columns, rows)}"
            )
        return sql

    def update_states(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        reenter: bool,
        rows: Sequence[tuple[Any, ...]],
        now: Any,
    ) -> int:
        """Rows are (id, expected version, new state, *values of `columns`), already converted;
        `now` (converted) goes to updated_at, and to state_since when the state is re-entered.
        Returns how many rows matched their expected version."""
        changed = 0
        head = [now, now] if reenter else [now]  # the SET clause's parameters come first
        for part in _parts(rows):
            flat = head + list(chain.from_iterable(part))
            sql = self._update_sql(table, columns, reenter, len(part))
            changed += conn.exec_driver_sql(sql, tuple(flat)).rowcount
        return changed

    def insert(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        for part in _parts(rows):
            flat = tuple(chain.from_iterable(part))
            conn.exec_driver_sql(self._insert_sql(table, columns, len(part)), flat)


def _parts(rows: Sequence[tuple[Any, ...]]) -> list[Sequence[tuple[Any, ...]]]:
    return [rows[i : i + ROWS_PER_STATEMENT] for i in range(0, len(rows), ROWS_PER_STATEMENT)]
