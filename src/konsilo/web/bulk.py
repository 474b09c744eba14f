"""Set-based work for the few places that change or read many rows at once (a federation's
bases closing at one deadline, their mandates derived together, the federation's page).

``in_batches`` runs such work a batch at a time, each batch its own transaction, and falls
back to one item at a time for a batch that fails, so that one broken item never stops the
others.

Django's ``bulk_update`` builds one ``CASE WHEN pk = ... THEN ...`` expression per field and
row and resolves each through the ORM: for a few hundred rows that costs more than the
statement itself. ``update_rows`` sends the same change as one
``UPDATE ... FROM (VALUES ...)`` per batch, the values prepared by the model's own fields,
on PostgreSQL and on SQLite (3.33 and newer) alike.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from typing import Any

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.fields import AutoFieldMixin

log = logging.getLogger(__name__)
BATCH = 500  # items (votes closed or opened, mandates derived) in one transaction


def in_batches(
    ids: Sequence[int],
    batch: Callable[[Sequence[int]], Sized],
    step: Callable[[int], object],
    failure: str,
    *,
    what: str,
    size: int | None = None,
) -> int:
    """Run ``batch`` on the ids, ``size`` at a time (each call its own transaction), and
    count what it did (the length of what it returns); a batch that fails is logged (``what``
    it did) and its ids run again one by one (``step``, see `each`, logging ``failure``), after
    the other batches. ``size``: `BATCH` unless given."""
    size = BATCH if size is None else size
    done = 0
    failed: list[int] = []
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        try:
            done += len(batch(chunk))
        except Exception:
            log.exception("could not %s %s..%s together", what, chunk[0], chunk[-1])
            failed.extend(chunk)
    return done + each(failed, step, failure)


def each(ids: Iterable[int], step: Callable[[int], object], failure: str) -> int:
    """Run ``step`` on every id (each call is its own transaction) and count those that did
    something (returned not None); a failure is logged (``failure`` % id) and does not stop
    the others."""
    done = 0
    for item_id in ids:
        try:
            if step(item_id) is not None:
                done += 1
        except Exception:
            log.exception(failure, item_id)
    return done


def among(field: str, ids: Sequence[int]) -> Q:
    """``field`` is one of the ``ids`` (integers): on PostgreSQL one array parameter the server
    unnests, instead of a placeholder per id for the driver to bind, which for thousands of
    ids costs more than the query."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))})
    return Q(**{f"{field}__in": list(ids)})


def insert_rows(objs: Sequence[models.Model], *, batch_size: int = 500) -> None:
    """Insert ``objs``, new rows of one model with database-made keys: one COPY on
    PostgreSQL, ``bulk_create`` elsewhere. What ``bulk_create`` stores, fields prepared by the
    model's own fields (``auto_now`` included); no signals, and the objects do not learn
    their keys."""
    if not objs:
        return
    if any(obj.pk is not None for obj in objs):
        raise ValueError("insert_rows inserts new rows only")
    model = type(objs[0])
    meta = model._meta
    if connection.vendor != "postgresql" or not isinstance(meta.pk, AutoFieldMixin):
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    names = ", ".join(qn(f.column) for f in fields)
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {qn(meta.db_table)} ({names}) FROM STDIN") as copy,
    ):
        for obj in objs:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def update_rows(
    objs: Sequence[models.Model], fields: Sequence[str], *, batch_size: int = 500
) -> int:
    """Store ``fields`` of every one of ``objs`` (saved rows of one model); returns how many
    rows the database changed. What ``Model.objects.bulk_update(objs, fields)`` does, without
    its per-row expressions: no signals, no ``auto_now``, as there."""
    if not objs:
        return 0
    model = type(objs[0])
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    columns = [meta.get_field(name) for name in fields]
    if any(not getattr(f, "concrete", False) or f.primary_key for f in columns):
        raise ValueError(f"update_rows stores concrete, non-key fields only: {list(fields)}")
    if any(obj.pk is None for obj in objs):
        raise ValueError("update_rows stores saved rows only")
    qn = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    if postgres:
        return _update_copied(objs, [pk, *columns])

    def slot(field: Any, first: bool) -> str:
        # PostgreSQL types a VALUES list by its first row: cast it to the columns' types.
        return f"%s::{field.cast_db_type(connection)}" if postgres and first else "%s"

    every = [pk, *columns]
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            chunk = objs[start : start + batch_size]
            rows = ", ".join(
                "(" + ", ".join(slot(f, n == 0) for f in every) + ")" for n in range(len(chunk))
            )
            params: list[Any] = []
            for obj in chunk:
                params.extend(
                    f.get_db_prep_save(getattr(obj, f.attname), connection) for f in every
                )
            # VALUES names its columns column1, column2, ... on both databases; only quoted
            # identifiers of the model are formatted in, every value is a parameter.
            assignments = ", ".join(
                f"{qn(f.column)} = v.column{n}" for n, f in enumerate(columns, start=2)
            )
            cursor.execute(
                f"UPDATE {qn(meta.db_table)} SET {assignments} "  # noqa: S608
                f"FROM (VALUES {rows}) AS v WHERE {qn(meta.db_table)}.{qn(pk.column)} = v.column1",
                params,
            )
            changed += cursor.rowcount
    return changed


def _update_copied(objs: Sequence[models.Model], every: Sequence[Any]) -> int:
    """``update_rows`` on PostgreSQL: the new values copied into a scratch table
    (`copied_rows`), then one UPDATE joining it."""
    qn = connection.ops.quote_name
    table = type(objs[0])._meta.db_table
    rows = (
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in every] for obj in objs
    )
    connection.ensure_connection()
    key, *names = (qn(f.column) for f in every)
    assignments = ", ".join(f"{n} = v.{n}" for n in names)
    with (
        connection.connection.cursor() as cursor,
        copied_rows(cursor, table, [f.column for f in every], rows) as scratch,
    ):
        cursor.execute(
            f"UPDATE {qn(table)} SET {assignments} FROM {scratch} AS v "  # noqa: S608
            f"WHERE {qn(table)}.{key} = v.{key}"
        )
        return int(cursor.rowcount)  # before the scratch table is dropped


@contextlib.contextmanager
def copied_rows(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    types: Sequence[str] | None = None,
) -> Iterator[str]:
    """PostgreSQL: ``rows`` copied (COPY) into a temporary table made of ``columns`` of
    ``table``, for one statement to join; yields its quoted name and drops it after. The
    values are bound by the driver, none is quoted into SQL text; with ``types`` (the
    columns' PostgreSQL types) they are copied in binary. The table is counted (ANALYZE), so
    that a join looks each row up by its key instead of reading the whole of ``table``."""
    qn = connection.ops.quote_name
    scratch = qn(f"konsilo_copied_{table}")
    names = ", ".join(qn(c) for c in columns)
    # Only quoted identifiers of the models are formatted into these statements.
    cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {scratch} AS SELECT {names} FROM {qn(table)} WITH NO DATA"  # noqa: S608
    )
    try:
        binary = " (FORMAT BINARY)" if types is not None else ""
        with cursor.copy(f"COPY {scratch} ({names}) FROM STDIN{binary}") as copy:
            if types is not None:
                copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"ANALYZE {scratch}")
        yield scratch
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {scratch}")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a batch builds its many short-lived objects.

    A batch (a few hundred votes closed or mandates derived, a federation's page) allocates
    hundreds of thousands of model instances, dicts and Fractions; every 700 of them the
    collector would walk the young objects, and every so often the whole heap, Django and
    everything it loaded included: that took 40% of a federation page's time. Reference
    counting frees nearly all of them anyway; the collector resumes when the batch ends
    (nested pauses resume at the outermost), and finds whatever cycles were left then.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
