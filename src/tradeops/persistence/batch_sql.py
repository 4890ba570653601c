"""The projection's write statements as driver SQL, built once per table from the schema.

`SqlStateStore.apply` writes one batch of projected rows per transaction. Building a SQLAlchemy
statement and its bound parameters per row cost more than SQLite itself (issue 17's profile:
`construct_params`, the `Money` bind processor, `excluded` column proxies). Here every statement
is plain SQL text written once (the upsert syntax `INSERT .. ON CONFLICT (..) DO UPDATE SET
c = excluded.c` is the same on SQLite and PostgreSQL; only the placeholder differs) and a row is a
tuple in column order, converted in one pass: money to exact plain-notation text on SQLite (NUMERIC
from a Decimal on PostgreSQL), the exact text the `Money` column type writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Table

from tradeops.domain.money import decimal_str
from tradeops.persistence.schema import Money, MoneyRoundTripError


def _money_text(value: Any) -> Any:
    if type(value) is not Decimal or not value.is_finite():
        if value is None:
            return None
        raise MoneyRoundTripError(f"money value {value!r} is not a finite Decimal")
    # No read-back check as the `Money` type makes: `decimal_str` of a finite Decimal is exact
    # (format "f" without a precision keeps every digit; only trailing fraction zeros go), so it
    # always reads back equal (tests/property/test_money_text.py).
    return decimal_str(value)


def _money_numeric(value: Any) -> Any:
    text = _money_text(value)
    return None if text is None else Decimal(text)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class BatchStatement:
    """One statement's SQL text and how a row dict becomes its parameter tuple."""

    sql: str
    columns: tuple[str, ...]
    money: frozenset[str]
    convert: Callable[[Any], Any]
    _read: Callable[[Mapping[str, Any]], Any] = field(init=False, repr=False, compare=False)
    _money_at: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A row is read with one itemgetter call, then only its money columns are converted.
        columns = self.columns
        read = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
        object.__setattr__(self, "_read", read)
        object.__setattr__(self, "_money_at", tuple(i for i, c in enumerate(columns) if c in self.money))

    def params(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        read, money_at, convert = self._read, self._money_at, self.convert
        if not money_at:
            return [read(row) for row in rows]
        out = []
        if convert is _money_text:  # SQLite: a finite Decimal's text without the wrapper's call
            text = decimal_str
            for row in rows:
                values = list(read(row))
                for i in money_at:
                    value = values[i]
                    exact = type(value) is Decimal and value.is_finite()
                    values[i] = text(value) if exact else convert(value)
                out.append(tuple(values))
            return out
        for row in rows:
            values = list(read(row))
            for i in money_at:
                values[i] = convert(values[i])
            out.append(tuple(values))
        return out


class BatchSql:
    """The upsert, insert and update statements of the projected tables for one dialect."""

    def __init__(
        self, tables: Mapping[str, Table], keys: Mapping[str, tuple[str, ...]], dialect: str
    ) -> None:
        self._mark = "%s" if dialect == "postgresql" else "?"
        self._convert = _money_numeric if dialect == "postgresql" else _money_text
        self._tables = tables
        self.upserts = {name: self._upsert(name, keys[name]) for name in keys}
        self.inserts = {name: self._insert(name) for name in ("orders", "fills")}
        self.order_update = self._update("orders", ("client_order_id",))

    def _shape(self, table: Table) -> tuple[tuple[str, ...], frozenset[str]]:
        columns = tuple(c.name for c in table.columns)
        money = frozenset(c.name for c in table.columns if isinstance(c.type, Money))
        return columns, money

    def _insert(self, name: str, suffix: str = "") -> BatchStatement:
        columns, money = self._shape(self._tables[name])
        marks = ", ".join(self._mark for _ in columns)
        sql = f"INSERT INTO {_quote(name)} ({', '.join(map(_quote, columns))}) VALUES ({marks}){suffix}"
        return BatchStatement(sql, columns, money, self._convert)

    def _upsert(self, name: str, keys: tuple[str, ...]) -> BatchStatement:
        columns, _ = self._shape(self._tables[name])
        changed = [c for c in columns if c not in keys]
        action = (
            "DO UPDATE SET " + ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in changed)
            if changed
            else "DO NOTHING"
        )
        return self._insert(name, f" ON CONFLICT ({', '.join(map(_quote, keys))}) {action}")

    def _update(self, name: str, keys: tuple[str, ...]) -> BatchStatement:
        columns, money = self._shape(self._tables[name])
        changed = tuple(c for c in columns if c not in keys)
        sets = ", ".join(f"{_quote(c)} = {self._mark}" for c in changed)
        where = " AND ".join(f"{_quote(k)} = {self._mark}" for k in keys)
        return BatchStatement(
            f"UPDATE {_quote(name)} SET {sets} WHERE {where}", changed + keys, money, self._convert
        )
