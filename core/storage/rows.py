"""Rows written and read without tortoise's query machinery: a ticket, its timeline
events, its outbox rows, and model instances built from plain SQL rows.

``Model.create`` passes every attribute through tortoise's validating ``__setattr__``, runs
the save signals and looks up an executor on each call: measured here, that was most of
the CPU time of opening a ticket, more than the database work. :func:`insert` writes the
row with one prepared INSERT and builds the instance with ``Model.construct``; values are
validated as ``Model.create`` validates them (a text longer than its column refused with
:class:`~core.errors.InvalidInput` naming the field, on SQLite too, which would store it).

Values are what the model's fields hold in Python (enums, aware datetimes, dicts). A
relation may be given as an instance or None (kept on the new object, as ``create`` keeps
it) or as its ``<name>_id``. Fields not given take their declared default.

:func:`insert_later` writes a row whose id nobody needs without waiting for it: inside a
SQLite write transaction it travels with the transaction's next statement
(:class:`core.storage.sqlite_engine.ImmediateTransactionWrapper`).

:func:`from_row` turns a row read with :func:`core.storage.rawsql.fetch` into an instance.
It uses tortoise's public API only (``Model.construct``, the fields' own conversions and
validation, but :func:`~core.storage.rawsql.stored_time` for time columns; the field list
is read from the model's ``_meta``); tests/core/test_rows.py pins what this module
promises, on SQLite and on PostgreSQL, and that time columns read as tortoise reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import ValidationError
from tortoise.fields.base import Field
from tortoise.fields.data import DatetimeField
from tortoise.models import Model

from core.errors import InvalidInput
from core.storage.rawsql import stored_time

M = TypeVar("M", bound=Model)
P = TypeVar("P", bound=Model)


@dataclass(frozen=True)
class _Plan:
    """How to insert one model's rows on one database kind."""

    sql: str
    fields: tuple[tuple[str, Field[Any]], ...]  # (name, field) in placeholder order
    columns: dict[str, str]  # field name -> column name, every column of the row
    relations: dict[str, str]  # relation name -> the field holding its id
    defaults: dict[str, Any]  # field name -> default value or factory
    pk: str
    table: str


_PLANS: dict[tuple[type[Model], str], _Plan] = {}
_PAIR_SQL: dict[tuple[type[Model], type[Model]], str] = {}  # PostgreSQL only


def _plan(model: type[Model], db: BaseDBAsyncClient) -> _Plan:
    dialect = db.capabilities.dialect
    key = (model, dialect)
    plan = _PLANS.get(key)
    if plan is None:
        meta = model._meta
        if any(
            getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            for f in meta.fields_map.values()
        ):
            raise TypeError(f"insert() does not stamp auto_now fields: {model.__name__}")
        columns = dict(meta.fields_db_projection)
        fields = tuple((name, meta.fields_map[name]) for name in columns if name != meta.pk_attr)
        plan = _PLANS[key] = _Plan(
            sql=_insert_sql(
                meta.db_table, [columns[n] for n, _ in fields], columns[meta.pk_attr], dialect
            ),
            fields=fields,
            columns=columns,
            relations={
                name: str(meta.fields_map[name].source_field)
                for name in (*meta.fk_fields, *meta.o2o_fields)
            },
            defaults={name: field.default for name, field in fields},
            pk=meta.pk_attr,
            table=meta.db_table,
        )
    return plan


def _insert_sql(table: str, columns: list[str], pk: str, dialect: str) -> str:
    """One row's INSERT: ``?`` marks on SQLite (the id is the last row id), ``$n`` and
    ``RETURNING`` the id on PostgreSQL."""
    names = ", ".join(f'"{c}"' for c in columns)
    if dialect == "sqlite":
        return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING "{pk}"'


def _default(value: Any) -> Any:
    return value() if callable(value) else value


async def insert(model: type[M], **values: Any) -> M:
    """Write one row of ``model`` in the current transaction (if any); the saved instance."""
    db = connections.get(model._meta.default_connection or "default")
    plan = _plan(model, db)
    row, related = _row(model, plan, values)
    result = await db.execute_insert(plan.sql, _params(model, plan, row))
    return _built(model, plan, row, related, result if isinstance(result, int) else result[0])


async def insert_later(model: type[Model], **values: Any) -> None:
    """Write one row of ``model`` whose id nobody needs, validated now. In a SQLite write
    transaction it goes to the database with the transaction's next statement or its commit
    (several rows, one round trip to the connection's thread; a row that cannot be written
    fails the transaction); elsewhere it is written at once."""
    db = connections.get(model._meta.default_connection or "default")
    plan = _plan(model, db)
    row, _related = _row(model, plan, values)
    params = _params(model, plan, row)
    hold = getattr(db, "execute_later", None)
    if hold is not None:
        hold(plan.sql, params)
    else:
        await db.execute_insert(plan.sql, params)


async def insert_pair(
    parent: type[P], parent_values: dict[str, Any], child: type[M], child_values: dict[str, Any]
) -> tuple[P, M]:
    """Write a row and one row of ``child`` pointing to it (its relation to ``parent`` is
    filled in). Both go in one round trip: on PostgreSQL as an INSERT inside ``WITH``, in a
    SQLite write transaction as two INSERTs on the connection's thread; elsewhere as two
    :func:`insert` calls."""
    db = connections.get(parent._meta.default_connection or "default")
    link = _link(child, parent)
    pair = getattr(db, "execute_insert_pair", None)  # a SQLite write transaction's
    if db.capabilities.dialect != "postgres" and pair is None:
        first = await insert(parent, **parent_values)
        return first, await insert(child, **child_values, **{link: first})
    parent_plan, child_plan = _plan(parent, db), _plan(child, db)
    parent_row, parent_related = _row(parent, parent_plan, parent_values)
    child_row, child_related = _row(child, child_plan, {**child_values, link: None})
    link_field = child_plan.relations[link]
    if pair is not None:
        child_params = _params(child, child_plan, child_row)
        at = [name for name, _field in child_plan.fields].index(link_field)
        ids = await pair(
            parent_plan.sql,
            _params(parent, parent_plan, parent_row),
            child_plan.sql,
            child_params,
            at,
        )
        first = _built(parent, parent_plan, parent_row, parent_related, ids[0])
        child_row[link_field] = first.pk
        return first, _built(child, child_plan, child_row, {**child_related, link: first}, ids[1])
    params = _params(parent, parent_plan, parent_row) + _params(
        child, child_plan, child_row, skip=link_field
    )
    key = (parent, child)
    if key not in _PAIR_SQL:
        _PAIR_SQL[key] = _pair_sql(parent_plan, child_plan, link_field)
    record = await db.execute_insert(_PAIR_SQL[key], params)
    first = _built(parent, parent_plan, parent_row, parent_related, record[1])
    child_row[link_field] = first.pk
    return first, _built(child, child_plan, child_row, {**child_related, link: first}, record[0])


def _link(child: type[Model], parent: type[Model]) -> str:
    """The one relation of ``child`` to ``parent``."""
    meta = child._meta
    links = [
        n for n in meta.fk_fields if getattr(meta.fields_map[n], "related_model", None) is parent
    ]
    if len(links) != 1:
        raise TypeError(f"{child.__name__} has no single relation to {parent.__name__}")
    return links[0]


def _pair_sql(parent: _Plan, child: _Plan, link_field: str) -> str:
    """``WITH p AS (INSERT parent RETURNING id) INSERT child RETURNING id, link``."""
    count = len(parent.fields)
    values: list[str] = []
    for name, _field in child.fields:
        if name == link_field:
            values.append(f'(SELECT "{parent.columns[parent.pk]}" FROM "parent")')
        else:
            count += 1
            values.append(f"${count}")
    parent_columns = ", ".join(f'"{parent.columns[name]}"' for name, _ in parent.fields)
    child_columns = ", ".join(f'"{child.columns[name]}"' for name, _ in child.fields)
    marks = ", ".join(f"${n}" for n in range(1, len(parent.fields) + 1))
    return (
        f'WITH "parent" AS (INSERT INTO "{parent.table}" ({parent_columns}) VALUES ({marks})'
        f' RETURNING "{parent.columns[parent.pk]}")'
        f' INSERT INTO "{child.table}" ({child_columns}) VALUES ({", ".join(values)})'
        f' RETURNING "{child.columns[child.pk]}", "{child.columns[link_field]}"'
    )


def _row(
    model: type[Model], plan: _Plan, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Model | None]]:
    """Every column's value (defaults filled in) and the related objects given."""
    unknown = values.keys() - plan.columns.keys() - plan.relations.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    values = dict(values)
    related: dict[str, Model | None] = {}
    for name, id_field in plan.relations.items():
        if name in values:
            obj = related[name] = values.pop(name)
            values[id_field] = obj.pk if obj is not None else None
        elif id_field not in values:
            related[name] = None
    row = {
        name: values[name] if name in values else _default(plan.defaults[name])
        for name in plan.columns
        if name != plan.pk
    }
    return row, related


def _params(
    model: type[Model], plan: _Plan, row: dict[str, Any], *, skip: str | None = None
) -> list[Any]:
    """The row's values as the driver takes them, in placeholder order (but ``skip``),
    validated as ``Model.create`` validates them."""
    try:
        return [field.to_db_value(row[name], model) for name, field in plan.fields if name != skip]
    except ValidationError:
        raise _invalid(model, plan, row) from None


def _invalid(model: type[Model], plan: _Plan, row: dict[str, Any]) -> InvalidInput:
    """Which field of ``row`` is refused, and why (without repeating the value)."""
    for name, field in plan.fields:
        value = row[name]
        limit = getattr(field, "max_length", None)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            return InvalidInput(
                f"{model.__name__}.{name} is {len(value)} characters long, at most {limit} fit"
            )
        try:
            field.to_db_value(value, model)
        except ValidationError:
            return InvalidInput(f"{model.__name__}.{name} is not a valid value")
    return InvalidInput(f"{model.__name__}: invalid values")


def _built(
    model: type[M], plan: _Plan, row: dict[str, Any], related: dict[str, Model | None], pk: Any
) -> M:
    """The saved instance, as tortoise builds one read from the database."""
    row[plan.pk] = pk
    values = {name: convert(row[name]) for name, _column, convert in _columns(model)}
    return model.construct(_saved_in_db=True, **values, **related)


def from_row(model: type[M], row: Mapping[str, Any]) -> M:
    """An instance of ``model`` from a database row (column name -> value as the driver
    returns it), as a tortoise query would build it. Every column of the model must be in
    ``row``; other keys are ignored."""
    return model.construct(
        _saved_in_db=True,
        **{name: convert(row[column]) for name, column, convert in _columns(model)},
    )


@cache
def _columns(model: type[Model]) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    """(field name, column, how the driver's value becomes the field's) of every column of
    ``model``: the field's own conversion, but :func:`~core.storage.rawsql.stored_time` for
    a time column (the same aware UTC datetime, at a tenth of the cost)."""
    meta = model._meta
    return tuple(
        (name, column, _python_value(meta.fields_map[name]))
        for name, column in meta.fields_db_projection.items()
    )


def _python_value(field: Field[Any]) -> Callable[[Any], Any]:
    return stored_time if isinstance(field, DatetimeField) else field.to_python_value
