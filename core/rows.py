"""Row inserts for the hot paths: a ticket, its timeline events, its outbox rows.

``Model.create`` passes every attribute through tortoise's validating ``__setattr__``, runs
the save signals and looks up an executor on each call: measured here, that was most of
the CPU time of opening a ticket, more than the database work. :func:`insert` writes the
row with the model's own prepared INSERT and builds the instance the way tortoise builds
one it has read from the database.

Values are what the model's fields hold in Python (enums, aware datetimes, dicts). A
relation may be given as an instance or None (kept on the new object, as ``create`` keeps
it) or as its ``<name>_id``. Fields not given take their declared default.

This module is the one place that leans on tortoise internals (``Model._init_from_db``,
the ``_<relation>`` attribute that caches a foreign key's object); tests/core/test_rows.py
pins what it promises, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.base import Field
from tortoise.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Plan:
    """How to insert one model's rows on one database kind."""

    sql: str
    fields: tuple[tuple[str, Field[Any]], ...]  # (name, field) in placeholder order
    columns: dict[str, str]  # field name -> column name, every column of the row
    relations: dict[str, str]  # relation name -> the field holding its id
    defaults: dict[str, Any]  # field name -> default value or factory
    pk: str


_PLANS: dict[tuple[type[Model], str], _Plan] = {}


def _plan(model: type[Model], db: BaseDBAsyncClient) -> _Plan:
    key = (model, db.capabilities.dialect)
    plan = _PLANS.get(key)
    if plan is None:
        meta = model._meta
        stamped = [n for n, f in meta.fields_map.items() if getattr(f, "auto_now_add", False)]
        if stamped or any(getattr(f, "auto_now", False) for f in meta.fields_map.values()):
            raise TypeError(f"insert() does not stamp auto_now fields: {model.__name__}")
        executor = db.executor_class(model=model, db=db)
        relations = {
            name: str(meta.fields_map[name].source_field)
            for name in (*meta.fk_fields, *meta.o2o_fields)
        }
        plan = _PLANS[key] = _Plan(
            sql=executor.insert_query,
            fields=tuple((name, meta.fields_map[name]) for name in executor.regular_columns),
            columns=dict(meta.fields_db_projection),
            relations=relations,
            defaults={
                name: field.default
                for name, field in meta.fields_map.items()
                if name in meta.fields_db_projection
            },
            pk=meta.pk_attr,
        )
    return plan


def _default(value: Any) -> Any:
    return value() if callable(value) else value


async def insert(model: type[M], **values: Any) -> M:
    """Write one row of ``model`` in the current transaction (if any); the saved instance."""
    db = connections.get(model._meta.default_connection or "default")
    plan = _plan(model, db)
    unknown = values.keys() - plan.columns.keys() - plan.relations.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
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
    params = [field.to_db_value(row[name], model) for name, field in plan.fields]
    result = await db.execute_insert(plan.sql, params)
    row[plan.pk] = result if isinstance(result, int) else result[0]
    instance = model._init_from_db(**{plan.columns[name]: value for name, value in row.items()})
    for name, obj in related.items():
        object.__setattr__(instance, f"_{name}", obj)
    return instance
