"""The one way anything reaches the record: ``append``, inside the caller's transaction.

Writers only insert pending entries; the sequencer (konsilo.web.ledger.sequencer) gives them
their indices. When no `konsilo worker` is alive the sequencer runs right after the writer's
transaction commits (``on_commit``); when one is, the worker does it every few seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from konsilo import canonical
from konsilo.web.ledger.models import Entry, LongText, WorkerHeartbeat
from konsilo.web.ledger.sequencer import SequencerRefusedError, sequence

if TYPE_CHECKING:
    from konsilo.web.councils.models import Organisation

MAX_ENTRY_BYTES = 65_535
# Room left for the fields the sequencer adds around the data (index, type, time, ...).
_ENVELOPE_BYTES = 512

logger = logging.getLogger("konsilo.record")


class LedgerError(RuntimeError):
    """A change tried to reach the record in a way that would break it."""


def store_text(text: str) -> str:
    """Keep a long text by its SHA-256 (hex) and return the hash to put in an entry."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    LongText.objects.get_or_create(sha256=digest, defaults={"text": text})
    return digest


def _encode(entry_type: str, data: Mapping[str, Any]) -> str:
    encoded = canonical.dumps_str(data)
    size = len(encoded) if encoded.isascii() else len(encoded.encode("utf-8"))
    if size > MAX_ENTRY_BYTES - _ENVELOPE_BYTES:
        raise LedgerError(
            f"{entry_type}: the entry's data is {size} bytes; an entry holds at"
            f" most {MAX_ENTRY_BYTES - _ENVELOPE_BYTES}, so store long texts with store_text()"
        )
    return encoded


def _build(
    entry_type: str,
    data: Mapping[str, Any],
    *,
    organisation: Organisation,
    council: str,
    actor: str,
    now: Any,
) -> Entry:
    return Entry(
        organisation=organisation,
        entry_type=entry_type,
        council=council,
        actor=actor,
        recorded_at=now,
        data=_encode(entry_type, data),
    )


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise LedgerError("append() must run inside the action's transaction")


def _random_pk() -> int:
    # Negative, so that it never meets the ids the database hands out (and SQLite's
    # AUTOINCREMENT counter never moves next to it).
    return -(secrets.randbits(62) + 1)


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """What ``append`` wrote: the pending row's id and fields (the sequencer adds the rest)."""

    pk: int
    organisation_id: int
    entry_type: str
    council: str
    actor: str
    recorded_at: dt.datetime | None
    data: str


def append(
    entry_type: str,
    data: Mapping[str, Any],
    *,
    organisation: Organisation,
    council: str = "",
    actor: str = "",
    unlinkable: bool = False,
) -> PendingEntry | None:
    """Write one record entry in the current transaction; nothing changes off the record.

    Inside `collected` the row is kept and written with the others when the block ends
    (returns None then).

    ``unlinkable=True`` (secret ballots and participation): the row gets a random primary
    key, no actor and no time of its own; the sequencer gives it its batch's time and
    shuffles it among the other unlinkable entries written around it, so nothing in the
    record links it to the member who acted.

    This is every writer's hot path, so it writes its one row with plain SQL instead of
    building a model instance.
    """
    conn = connections[DEFAULT_DB_ALIAS]  # looked up once: every ``connection.x`` costs
    if not conn.in_atomic_block:
        raise LedgerError("append() must run inside the action's transaction")
    if unlinkable and actor:
        raise LedgerError(f"{entry_type}: an unlinkable entry cannot name its actor")
    encoded = _encode(entry_type, data)
    now = None if unlinkable else timezone.now()
    sqlite = conn.vendor == "sqlite"
    values: list[Any] = [
        organisation.pk,
        entry_type,
        council,
        actor,
        # SQLite keeps naive UTC text, as Django's adapt_datetimefield_value writes it.
        str(now.replace(tzinfo=None)) if sqlite and now is not None else now,
        encoded,
    ]
    if not _worker_recently_seen():
        _sequence_on_commit(organisation)
    kept = getattr(conn, _KEPT, None)
    if kept is not None and not unlinkable:
        kept.append(values)
        return None
    if kept:
        _write_kept(conn)  # an unlinkable entry keeps its place after those kept before it
    if unlinkable:
        values += [_random_pk(), _next_position()]
    # The driver's own cursor: the one row needs none of Django's cursor wrapping.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_insert_sql_for(conn.vendor, unlinkable), values)
        pk = int(cursor.fetchone()[0])
    finally:
        cursor.close()
    return PendingEntry(pk, organisation.pk, entry_type, council, actor, now, encoded)


_KEPT = "_konsilo_kept_entries"


@contextlib.contextmanager
def collected() -> Iterator[None]:
    """Keep the entries appended in the block and write them together as it ends, in the
    order appended: for actions that append many (a federation's mandates), so that each
    entry is not a round trip of its own. Must run inside the action's transaction."""
    conn = connections[DEFAULT_DB_ALIAS]
    if not conn.in_atomic_block:
        raise LedgerError("collected() must run inside the action's transaction")
    if getattr(conn, _KEPT, None) is not None:
        yield  # already collecting: the outer block writes them
        return
    setattr(conn, _KEPT, [])
    try:
        yield
        _write_kept(conn)
    finally:
        setattr(conn, _KEPT, None)


def _write_kept(conn: Any) -> None:
    kept: list[list[Any]] = getattr(conn, _KEPT)
    if not kept:
        return
    cursor = conn.connection.cursor()
    try:
        if conn.vendor == "postgresql":
            # COPY: the rows in one stream, in the order appended (their ids in that order).
            names = ", ".join(f'"{c}"' for c in _INSERT_COLUMNS)
            with cursor.copy(f'COPY "{Entry._meta.db_table}" ({names}) FROM STDIN') as copy:
                for row in kept:
                    copy.write_row(row)
        else:
            cursor.executemany(
                _insert_sql_for(conn.vendor, False).removesuffix(' RETURNING "id"'), kept
            )
    finally:
        cursor.close()
    kept.clear()


def _next_position() -> int:
    """A number from the counter that gives entries their ids: an unlinkable entry's place
    among the writes, so that the sequencer keeps cause before effect."""
    table = Entry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
            return int(cursor.fetchone()[0])
        if connection.vendor == "sqlite":
            # AUTOINCREMENT keeps the last id here; the next entry gets a higher one.
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = %s)",
                [table, table],
            )
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = %s RETURNING seq", [table]
            )
            return int(cursor.fetchone()[0])
    raise LedgerError(f"unlinkable entries need PostgreSQL or SQLite, not {connection.vendor}")


_INSERT_COLUMNS = ("organisation_id", "entry_type", "council", "actor", "recorded_at", "data")


@functools.cache
def _insert_sql_for(vendor: str, unlinkable: bool) -> str:
    """INSERT of one pending entry, returning its id, in the driver's own placeholders."""
    columns = [*_INSERT_COLUMNS, *(("id", "position") if unlinkable else ())]
    mark = "?" if vendor == "sqlite" else "%s"
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join([mark] * len(columns))
    return f'INSERT INTO "{Entry._meta.db_table}" ({names}) VALUES ({marks}) RETURNING "id"'  # noqa: S608


def append_many(
    items: Iterable[tuple[str, Mapping[str, Any], str]],
    *,
    organisation: Organisation,
    actor: str = "",
    batch_size: int = 2000,
) -> int:
    """Write many entries (type, data, council) in the current transaction; returns the count."""
    _require_transaction()
    now = timezone.now()
    built = [
        _build(t, d, organisation=organisation, council=c, actor=actor, now=now)
        for t, d, c in items
    ]
    Entry.objects.bulk_create(built, batch_size=batch_size)
    _sequence_on_commit(organisation)
    return len(built)


# -- the write path's sequencing -------------------------------------------------------------


_worker_seen: list[float] = []  # when this process last saw a live worker (monotonic)


def _worker_recently_seen() -> bool:
    return bool(_worker_seen) and time.monotonic() - _worker_seen[0] < 1.0


def live_heartbeats() -> QuerySet[WorkerHeartbeat]:
    """The heartbeats of the workers that reported in within ``KONSILO_WORKER_STALE_SECONDS``."""
    stale = getattr(settings, "KONSILO_WORKER_STALE_SECONDS", 15)
    since = timezone.now() - dt.timedelta(seconds=stale)
    return WorkerHeartbeat.objects.filter(seen_at__gte=since)


def worker_alive() -> bool:
    """Whether a `konsilo worker` reported in recently (it then does the sequencing).

    A live worker is remembered for a second, so that busy writers do not each ask.
    """
    if _worker_recently_seen():
        return True
    alive = live_heartbeats().exists()
    _worker_seen[:] = [time.monotonic()] if alive else []
    return alive


def forget_worker_state() -> None:
    """Ask the database again next time (after a worker stopped, and in tests)."""
    _worker_seen.clear()


class _SequenceAfterCommit:
    def __init__(self, organisation: Organisation) -> None:
        self.organisation_id = organisation.pk
        self.organisation = organisation

    def __call__(self) -> None:
        if not getattr(settings, "KONSILO_SEQUENCE_ON_COMMIT", True) or worker_alive():
            return
        # A refusal is logged at ERROR by the sequencer; the writer's change is committed.
        with contextlib.suppress(SequencerRefusedError):
            sequence(self.organisation)


def _sequence_on_commit(organisation: Organisation) -> None:
    for _, func, _ in connection.run_on_commit:
        if getattr(func, "organisation_id", None) == organisation.pk:
            return
    transaction.on_commit(_SequenceAfterCommit(organisation), robust=True)
