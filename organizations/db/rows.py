"""The submission path's reads and its one write, each one SQL statement built once per model.

The ORM spends more on compiling a query with joins than PostgreSQL spends answering it: on
the respondent's and the partner's hot path (a link with its survey, a survey with its live
version, an API key with its tenant) that was most of a request's time. These reads list the
models' own columns (so a new field is read without editing the SQL) and turn the row back
into instances as the ORM would, converters included. They run on the same connection, so
the tenant guard (organizations/db/guard.py) sees them like any other query; the caller still
sets the scope.

The write is a new response's INSERT (insert_one): the statement is built once per model and
the values prepared by each field as Model.save would. It sends no save signals, so nothing
may listen to them (tests/test_respondent.py holds that).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import connection, models


def columns(model: type[models.Model], alias: str) -> str:
    """The SELECT list of every stored field of `model`, read from the table aliased `alias`."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


@functools.cache
def _converters(model: type[models.Model]) -> list[tuple[int, object, list]]:
    """(position, column, converters) of each field whose value the ORM would convert."""
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column)
        if hasattr(field, "from_db_value"):
            converters = [*converters, field.from_db_value]
        if converters:
            found.append((index, column, converters))
    return found


def fetch_one(sql: str, params: Sequence, models_in_row: Sequence[type[models.Model]]) -> list:
    """Run `sql` (a SELECT of `columns(model, ...)` for each of `models_in_row`, in that order)
    and return one instance per model, or None where a LEFT JOIN found nothing; [] when the
    statement returns no row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return []
    instances = []
    start = 0
    for model in models_in_row:
        fields = model._meta.concrete_fields
        values = list(row[start : start + len(fields)])
        start += len(fields)
        if values[fields.index(model._meta.pk)] is None:
            instances.append(None)
            continue
        for index, column, converters in _converters(model):
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        instances.append(model.from_db(connection.alias, [f.attname for f in fields], values))
    return instances


# Django's own field classes that store a str, int, bool or None attribute as it is (their
# preparation hands such a value back unchanged), and the values they take that way.
_PLAIN_FIELDS = frozenset(
    {
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.BooleanField,
    }
)
_PLAIN_IDS = frozenset({models.AutoField, models.BigAutoField})
_PLAIN_VALUES = frozenset({str, int, bool, type(None)})


def _stores_plainly(field: models.Field) -> bool:
    """Whether `field` stores a plain attribute value as it is: one of Django's text, integer
    or boolean fields, or a foreign key to an integer id (subclasses may prepare their own)."""
    if type(field) is models.ForeignKey:
        return type(field.target_field) in _PLAIN_IDS
    return type(field) in _PLAIN_FIELDS


@functools.cache
def _insert(model: type[models.Model]) -> tuple[str, list[tuple[models.Field, bool]]]:
    """The INSERT of a new row of `model` with every stored field but its id, returning the id;
    with each field, whether it stores plain values as they are."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    names = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(["%s"] * len(fields))
    return (
        f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({values}) '  # noqa: S608 - model names, not input
        f'RETURNING "{model._meta.pk.column}"',
        [(field, _stores_plainly(field)) for field in fields],
    )


def insert_one(instance: models.Model) -> None:
    """Store a new `instance` in one INSERT and give it its id, as `instance.save()` would for
    a new row of a model without save signals (each field's pre_save runs: auto_now stamps).
    A plain value of a plain field goes as it is: the ORM's preparation of each field was a
    measurable share of a submission, and it would return such a value unchanged."""
    sql, fields = _insert(type(instance))
    params = []
    for field, plain in fields:
        value = getattr(instance, field.attname) if plain else None
        if not plain or type(value) not in _PLAIN_VALUES:
            value = field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        params.append(value)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias


def update_many(instances: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Write the fields named of each of `instances` (rows of one tenant-owned model, already
    stored): on PostgreSQL one UPDATE from arrays, the values prepared by each field as the
    ORM would. Django's bulk_update builds a CASE expression per field with a branch per row,
    which takes seconds of Python for thousands of rows (5,000 org units: 8 s against 0.1 s)."""
    if not instances:
        return
    model = type(instances[0])
    if connection.vendor != "postgresql":
        model._base_manager.bulk_update(instances, field_names)
        return
    fields = [model._meta.get_field(name) for name in field_names]
    arrays = ", ".join(
        f'unnest(%s::{field.db_type(connection)}[]) AS "{field.column}"' for field in fields
    )
    assignments = ", ".join(f'"{field.column}" = v."{field.column}"' for field in fields)
    sql = (
        f'UPDATE "{model._meta.db_table}" AS u SET {assignments} '  # noqa: S608 - model names
        "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::bigint[]) AS tenant_id, "
        f"{arrays}) AS v WHERE u.id = v.id AND u.tenant_id = v.tenant_id"
    )
    params = [[instance.pk for instance in instances], [i.tenant_id for i in instances]]
    params += [
        [
            field.get_db_prep_save(getattr(instance, field.attname), connection)
            for instance in instances
        ]
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
