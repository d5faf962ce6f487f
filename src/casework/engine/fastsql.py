"""The hot write path: a batch's UPDATEs and INSERTs as a few set-based statements.

Applying a transition writes one UPDATE and one INSERT per row. Row by row (or with
`executemany`) in batches of a thousand, per-statement overhead costs more than the database
work, and SQLAlchemy's per-row parameter processing costs more still. So a batch becomes a few
statements, shaped for each database:

SQLite, multi-row VALUES (up to ROWS_PER_STATEMENT rows each):

    UPDATE cases SET state = v.column3, version = cases.version + 1, updated_at = ?, …
    FROM (VALUES (id, expected version, state, …), (…), …) AS v
    WHERE cases.id = v.column1 AND cases.version = v.column2
    INSERT INTO events (…) VALUES (…), (…), …

PostgreSQL, one array per column (short SQL that psycopg parses once, any number of rows):

    UPDATE cases SET state = v.state, … FROM unnest(%s::integer[], %s::integer[], …)
    AS v(id, version, state, …) WHERE cases.id = v.id AND cases.version = v.version
    INSERT INTO events (…) SELECT … FROM unnest(%s::integer[], …) AS v(…)

Values go through the very bind processors SQLAlchemy would use (so a timestamp or an enum is
stored exactly as by the ORM), and what the whole batch shares (the time) is converted once.
The UPDATE's row count is the optimistic-lock check: a row whose version moved is not matched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Column, Connection, Table
from sqlalchemy.engine import Dialect

from casework.chunks import chunks

Converter = Callable[[Any], Any]
# SQLite allows 32,766 parameters per statement: 200 rows of a dozen values stay far below, and
# measured as fast as larger statements.
ROWS_PER_STATEMENT = 200


def _identity(value: Any) -> Any:
    return value


class FastSQL:
    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self.quote = dialect.identifier_preparer.quote
        self.arrays = dialect.name == "postgresql"
        self.mark = "%s" if self.arrays else "?"
        self._converters: dict[Column[Any], Converter] = {}
        self._converter_rows: dict[tuple[str, tuple[str, ...]], tuple[Converter, ...] | None] = {}
        self._sql: dict[tuple[object, ...], str] = {}

    # -- values --------------------------------------------------------------------------------

    def converter(self, column: Column[Any]) -> Converter:
        """The bind processor SQLAlchemy applies to this column's values on this dialect (on
        PostgreSQL, JSON goes as text inside an array and is cast back in the statement)."""
        found = self._converters.get(column)
        if found is None:
            if self.arrays and isinstance(column.type, JSON):
                found = getattr(self.dialect, "_json_serializer", None) or json.dumps
            else:
                processor = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
                found = processor or _identity
            self._converters[column] = found
        return found

    def convert_values(
        self, table: Table, columns: tuple[str, ...], values: dict[str, Any]
    ) -> tuple[Any, ...]:
        """`values[c]` for each column, through its converter (skipped where it does nothing)."""
        key = (table.name, columns)
        converters = self._converter_rows.get(key)
        if converters is None and key not in self._converter_rows:
            found = tuple(self.converter(table.c[c]) for c in columns)
            converters = None if all(f is _identity for f in found) else found
            self._converter_rows[key] = converters
        if converters is None:
            return tuple(values[c] for c in columns)
        return tuple(f(values[c]) for f, c in zip(converters, columns, strict=True))

    # -- statements ----------------------------------------------------------------------------

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
        head = [now, now] if reenter else [now]  # the SET clause's parameters come first
        if self.arrays:
            sql = self._update_sql(table, columns, reenter, 0)
            return conn.exec_driver_sql(sql, (*head, *map(list, zip(*rows, strict=True)))).rowcount
        changed = 0
        for part in chunks(rows, ROWS_PER_STATEMENT):
            sql = self._update_sql(table, columns, reenter, len(part))
            changed += conn.exec_driver_sql(sql, (*head, *chain.from_iterable(part))).rowcount
        return changed

    def insert(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        few: frozenset[str] = frozenset(),
    ) -> None:
        """Insert `rows` (values already converted, in the order of `columns`).

        `few` names columns with few distinct values in a batch (a trigger, a state, a time
        shared by the batch, a mail's context). On PostgreSQL each of them goes as its
        distinct values plus a small integer per row: psycopg then quotes and escapes each
        distinct text once instead of once per row, which on wide text (JSON) is most of the
        cost of the statement."""
        if not rows:
            return
        if self.arrays:
            shared = [c for c in columns if c in few]
            if not shared:
                conn.exec_driver_sql(
                    self._insert_sql(table, columns, 0), tuple(map(list, zip(*rows, strict=True)))
                )
                return
            by_column = list(zip(*rows, strict=True))
            params: list[Any] = []
            arrays: list[list[Any]] = []
            for name, values in zip(columns, by_column, strict=True):
                if name in shared:
                    distinct: dict[Any, int] = {}
                    arrays.append([distinct.setdefault(v, len(distinct) + 1) for v in values])
                    params.append(list(distinct))
                else:
                    arrays.append(list(values))
            sql = self._insert_few_sql(table, columns, tuple(shared))
            conn.exec_driver_sql(sql, (*params, *arrays))
            return
        for part in chunks(rows, ROWS_PER_STATEMENT):
            sql = self._insert_sql(table, columns, len(part))
            conn.exec_driver_sql(sql, tuple(chain.from_iterable(part)))

    def _update_sql(self, table: Table, columns: Sequence[str], reenter: bool, rows: int) -> str:
        key = ("update", table.name, tuple(columns), reenter, rows)
        sql = self._sql.get(key)
        if sql is None:
            q, t = self.quote, self.quote(table.name)
            keyed = ["id", "version", "state", *columns]
            source, v = self._source(table, keyed, rows)
            sets = [
                f"{q('state')} = {v['state']}",
                f"{q('version')} = {t}.{q('version')} + 1",
                f"{q('updated_at')} = {self.mark}",
            ]
            if reenter:
                sets.append(f"{q('state_since')} = {self.mark}")
                sets.append(f"{q('entered_version')} = {t}.{q('version')} + 1")
            sets.extend(f"{q(c)} = {v[c]}" for c in columns)
            sql = self._sql[key] = (
                f"UPDATE {t} SET {', '.join(sets)} FROM {source} "
                f"WHERE {t}.{q('id')} = {v['id']} AND {t}.{q('version')} = {v['version']}"
            )
        return sql

    def _insert_sql(self, table: Table, columns: Sequence[str], rows: int) -> str:
        key = ("insert", table.name, tuple(columns), rows)
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(self.quote(c) for c in columns)
            source, v = self._source(table, columns, rows)
            if self.arrays:
                selected = ", ".join(
                    f"{v[c]}::jsonb" if isinstance(table.c[c].type, JSON) else v[c] for c in columns
                )
                body = f"SELECT {selected} FROM {source}"
            else:
                body = self._values(len(columns), rows)
            sql = self._sql[key] = f"INSERT INTO {self.quote(table.name)} ({names}) {body}"
        return sql

    def _insert_few_sql(self, table: Table, columns: Sequence[str], few: tuple[str, ...]) -> str:
        """PostgreSQL: `few` columns picked by index from their distinct values:
        INSERT … SELECT (%s::text[])[v.k_trigger], … FROM unnest(…, %s::int[], …) AS v(…)."""
        key = ("insert-few", table.name, tuple(columns), few)
        sql = self._sql.get(key)
        if sql is None:
            q = self.quote
            names = ", ".join(q(c) for c in columns)
            unnested, aliases, selected = [], [], []
            for c in columns:
                if c in few:
                    unnested.append("%s::integer[]")
                    aliases.append(q(f"k_{c}"))
                    value = f"(%s::{self._array_type(table.c[c])})[v.{q(f'k_{c}')}]"
                else:
                    unnested.append(f"%s::{self._array_type(table.c[c])}")
                    aliases.append(q(c))
                    value = f"v.{q(c)}"
                selected.append(f"{value}::jsonb" if isinstance(table.c[c].type, JSON) else value)
            # Placeholders are positional: the SELECT list's (the distinct values, in column
            # order) come before the unnest's (the per-row arrays), as `insert` passes them.
            sql = self._sql[key] = (
                f"INSERT INTO {q(table.name)} ({names}) SELECT {', '.join(selected)} "
                f"FROM unnest({', '.join(unnested)}) AS v({', '.join(aliases)})"
            )
        return sql

    def _source(
        self, table: Table, columns: Sequence[str], rows: int
    ) -> tuple[str, dict[str, str]]:
        """The rows as a table `v`, and how to name each column of it."""
        if self.arrays:
            arrays = ", ".join(f"%s::{self._array_type(table.c[c])}" for c in columns)
            names = ", ".join(self.quote(c) for c in columns)
            return f"unnest({arrays}) AS v({names})", {c: f"v.{self.quote(c)}" for c in columns}
        # A VALUES list's columns are named column1, column2…
        values = self._values(len(columns), rows)
        return f"({values}) AS v", {c: f"v.column{i}" for i, c in enumerate(columns, 1)}

    def _values(self, width: int, rows: int) -> str:
        one = "(" + ", ".join([self.mark] * width) + ")"
        return "VALUES " + ", ".join([one] * rows)

    def _array_type(self, column: Column[Any]) -> str:
        if isinstance(column.type, JSON):
            return "text[]"
        return f"{column.type.compile(self.dialect)}[]"
