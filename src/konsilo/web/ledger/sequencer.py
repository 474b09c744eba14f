"""The sequencer: gives pending entries their leaf indices and signs a checkpoint per batch.

Writers only insert pending rows (``Entry.index`` null) inside their own transactions, so
they never wait on each other. One sequencer at a time per organisation takes a batch: on
PostgreSQL it locks the organisation's `LogState` row with ``SELECT … FOR UPDATE SKIP
LOCKED`` (a second sequencer finds it taken and leaves the batch to the first, which loops
until nothing is pending); on SQLite the IMMEDIATE transaction holds the write lock.

For each batch it:

1. orders the batch as it was written (ids and the unlinkable entries' positions come from
   one counter, so an entry never precedes one that its transaction could see: replay
   keeps cause before effect), then shuffles each run of consecutive unlinkable entries
   with a CSPRNG (``secrets.SystemRandom``), so that neither order, times nor ids link a
   secret ballot to the member who cast it. Unlinkable entries that supersede each other
   (the same type, item and receipt or member: a changed ballot) keep their order;
2. builds each entry's exact bytes (`konsilo.web.ledger.entries.entry_bytes`), stores them
   with the index, and gives unlinkable entries the batch's time;
3. appends the leaf hashes with `konsilo.record.TreeAppender`, started from the right edge
   read back from the stored tiles, and stores the new tile hashes;
4. recomputes the root and the consistency proof from the *stored* tiles and signs the C2SP
   checkpoint only if it is consistent with the last signed checkpoint
   (`konsilo.record.check_consistent_to_sign`). Otherwise it logs at ERROR, raises
   `SequencerRefusedError` and the whole batch is rolled back: nothing is recorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from konsilo.record import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    InconsistentCheckpointError,
    MissingHashError,
    TreeAppender,
    check_consistent_to_sign,
    consistency_proof,
    is_valid_key_name,
    leaf_hash,
    sign_checkpoint,
    tree_root,
)
from konsilo.record import Checkpoint as CheckpointText
from konsilo.web.bulk import copied_rows, gc_paused
from konsilo.web.councils.models import Organisation
from konsilo.web.ledger import keys
from konsilo.web.ledger.entries import EntryTooLargeError, entry_bytes, format_time
from konsilo.web.ledger.models import Checkpoint, Entry, LogState, TreeTile
from konsilo.web.ledger.store import StoredHashReader, load_tiles

logger = logging.getLogger("konsilo.record")

DEFAULT_BATCH = 10_000
AUDIT_MINIMUM = 256  # entries re-hashed by every batch, beyond twice the batch's own size
IDLE_AUDIT = 20_000  # entries re-hashed by a worker pass that found nothing to sequence
_MASK = TILE_WIDTH - 1


class SequencerRefusedError(RuntimeError):
    """The sequencer refused to sign: the stored record does not extend what was signed."""


def origin_for(slug: str) -> str:
    """The origin line of a new log: ``KONSILO_LOG_ORIGIN`` with {host} and {slug} filled in."""
    template = getattr(settings, "KONSILO_LOG_ORIGIN", "") or "{host}/log/{slug}"
    host = getattr(settings, "KONSILO_LOG_HOST", "") or next(
        (h.lstrip(".") for h in settings.ALLOWED_HOSTS if h not in {"*", ""}), "localhost"
    )
    origin = template.format(host=host, slug=slug)
    if not is_valid_key_name(origin):
        raise SequencerRefusedError(
            f"KONSILO_LOG_ORIGIN gives {origin!r} for {slug!r}: an origin has no spaces and no '+'"
        )
    return origin


def _refuse(organisation: Any, message: str) -> SequencerRefusedError:
    logger.error("record of %s: %s", organisation.slug, message)
    return SequencerRefusedError(message)


def _ensure_state(organisation: Any) -> None:
    if LogState.objects.filter(organisation_id=organisation.pk).exists():
        return
    try:
        with transaction.atomic():
            LogState.objects.create(organisation=organisation, origin=origin_for(organisation.slug))
    except IntegrityError:
        pass  # another sequencer created it first


def sequence(
    organisation: Any, *, batch_size: int = DEFAULT_BATCH, drain: bool = True
) -> list[str]:
    """Sequence the organisation's pending entries; return the checkpoint notes signed.

    With ``drain`` (the write path) it goes on until nothing is pending, so that entries
    whose writer found the lock taken are never left behind. Without it (the worker, which
    comes back every few seconds) it stops after a batch that was not full, so that batches
    grow with the load instead of chasing every new entry.
    """
    _ensure_state(organisation)
    notes: list[str] = []
    with _durable_batches():
        while True:
            with gc_paused():  # a batch builds thousands of short-lived objects
                note, count = _sequence_batch(organisation, batch_size)
            if note is None:
                break
            notes.append(note)
            if not drain and count < batch_size:
                break
    return notes


@contextlib.contextmanager
def _durable_batches() -> Iterator[None]:
    """On SQLite, make every batch durable before its checkpoint can be read.

    konsilo runs SQLite in WAL mode with ``synchronous=NORMAL``: a writer's commit survives
    a crash of konsilo but not of the machine. A signed checkpoint must never name entries
    that a power cut could take back (a witness holding it would see the log fork), so the
    sequencer commits its batches with ``synchronous=FULL``, which syncs the write-ahead log
    and so every commit before it. It then copies the log into the database
    (a PASSIVE checkpoint, which never waits for writers), so that the writers themselves
    seldom do it in their commits.
    """
    sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
    if sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")
    try:
        yield
    finally:
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = NORMAL")
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def sequence_all(
    *, batch_size: int = DEFAULT_BATCH, drain: bool = True, audit_idle: bool = False
) -> int:
    """Sequence the pending entries of every organisation; return the checkpoints signed.

    With ``audit_idle`` (the worker) every log that had nothing pending is audited instead
    (`audit`), so that a quiet log is re-checked too.
    """
    ids = set(Entry.objects.filter(index__isnull=True).values_list("organisation_id", flat=True))
    signed = 0
    for organisation in Organisation.objects.filter(pk__in=ids):
        try:
            signed += len(sequence(organisation, batch_size=batch_size, drain=drain))
        except SequencerRefusedError:
            continue  # logged at ERROR; the other organisations' logs go on
    if audit_idle:
        idle = LogState.objects.filter(size__gt=0).exclude(organisation_id__in=ids)
        for organisation in Organisation.objects.filter(log_state__in=idle):
            with contextlib.suppress(SequencerRefusedError):  # logged at ERROR
                audit(organisation)
    return signed


def _sequence_batch(organisation: Any, batch_size: int) -> tuple[str | None, int]:
    pending = Entry.objects.filter(organisation_id=organisation.pk, index__isnull=True)
    if not connection.in_atomic_block and not pending.exists():
        return None, 0  # nothing to do: no lock taken, no transaction to commit
    with transaction.atomic():
        state = (
            LogState.objects.select_for_update(skip_locked=True)
            .filter(organisation_id=organisation.pk)
            .first()
        )
        if state is None:
            return None, 0  # another sequencer holds the lock; it loops until nothing is pending
        rows = _pending_rows(organisation.pk, batch_size)
        if not rows:
            return None, 0
        return _append_batch(organisation, state, shuffle_unlinkable(rows)), len(rows)


def _pending_rows(organisation_id: int, limit: int) -> list[tuple[Any, ...]]:
    """The next pending rows in the order written: (pk, type, council, actor, time, data).

    Plain SQL, so that the time comes back as stored (`_stored_time` reads it) instead of
    through Django's converters, which cost more than the rest of a row.
    """
    qn = connection.ops.quote_name
    sql = (
        f"SELECT {qn('id')}, {qn('entry_type')}, {qn('council')}, {qn('actor')}, "  # noqa: S608
        f"{qn('recorded_at')}, {qn('data')} FROM {qn(Entry._meta.db_table)} "
        f"WHERE {qn('organisation_id')} = %s AND {qn('index')} IS NULL "
        f"ORDER BY COALESCE({qn('position')}, {qn('id')}) LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation_id, limit])
        return [tuple(row) for row in cursor.fetchall()]


def _stored_time(value: Any) -> str:
    """An entry's time as the record writes it, from the stored value (SQLite keeps naive
    UTC text, PostgreSQL gives an aware datetime)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
    return format_time(value)


def _chain(entry_type: str, data: str) -> tuple[str, Any, Any]:
    """What makes unlinkable entries supersede each other: type, item and receipt/member."""
    try:
        value = json.loads(data)
    except ValueError:
        return (entry_type, None, None)
    if not isinstance(value, dict):
        return (entry_type, None, None)
    return (entry_type, value.get("item"), value.get("receipt", value.get("member")))


def shuffle_unlinkable(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Shuffle each run of consecutive unlinkable rows (no time of their own).

    Rows are (pk, type, council, actor, recorded_at, data) in the order written. Within a
    run, rows of one chain (`_chain`) keep their relative order in the places the shuffle
    gives that chain, so a changed ballot still comes after the ballot it replaces.
    """
    out = list(rows)
    rng = secrets.SystemRandom()
    start = 0
    while start < len(out):
        if out[start][4] is not None:
            start += 1
            continue
        end = start
        while end < len(out) and out[end][4] is None:
            end += 1
        run = out[start:end]
        rng.shuffle(run)
        by_chain: dict[tuple[str, Any, Any], list[tuple[Any, ...]]] = defaultdict(list)
        for row in out[start:end]:  # in written order
            by_chain[_chain(row[1], row[5])].append(row)
        for i, row in enumerate(run):
            out[start + i] = by_chain[_chain(row[1], row[5])].pop(0)
        start = end
    return out


def _last_signed(organisation: Any) -> Checkpoint | None:
    return Checkpoint.objects.filter(organisation_id=organisation.pk).order_by("-size").first()


def _check_stored_state(organisation: Any, state: LogState, last: Checkpoint | None) -> None:
    signed_size = last.size if last else 0
    if signed_size != state.size:
        raise _refuse(
            organisation,
            f"REFUSING TO SIGN: the log state says {state.size} entries but the last signed "
            f"checkpoint has {signed_size}; the stored record was changed outside konsilo",
        )
    beyond = Entry.objects.filter(organisation_id=organisation.pk, index__gte=state.size)
    if beyond.exists():
        raise _refuse(
            organisation,
            f"REFUSING TO SIGN: entries with indices at or beyond the signed size {state.size} "
            f"exist (first {beyond.order_by('index').values_list('index', flat=True)[0]}); "
            f"indices were written outside the sequencer",
        )
    if not state.size:
        return
    last_entry = (
        Entry.objects.filter(organisation_id=organisation.pk, index=state.size - 1)
        .values_list("body", flat=True)
        .first()
    )
    reader = StoredHashReader(organisation.pk)
    try:
        stored = reader.read_hashes([(0, state.size - 1)])[0]
    except MissingHashError as exc:
        raise _refuse(
            organisation, f"REFUSING TO SIGN: the stored tree is incomplete: {exc}"
        ) from None
    if last_entry is None or leaf_hash(bytes(last_entry)) != stored:
        raise _refuse(
            organisation,
            f"REFUSING TO SIGN: entry {state.size - 1}, the last one signed, is missing or no "
            f"longer hashes to its stored leaf hash; the stored record was rewritten",
        )


def _audit(organisation: Any, state: LogState, budget: int) -> None:
    """Re-hash up to ``budget`` signed entries from where the last audit stopped, against the
    leaf hashes in the stored tiles, and refuse to sign anything more if one differs.

    The last signed entry is checked on every batch (`_check_stored_state`); this goes round
    the rest of the log, so that an entry rewritten in the database long after it was signed
    stops the log too, not only the pages that serve it. Each batch audits at least twice as
    many entries as it appends, and an idle worker audits more.
    """
    size = state.size
    if not size or budget <= 0:
        return
    start = state.audited if 0 <= state.audited < size else 0
    stop = min(size, start + budget)
    bodies = Entry.objects.filter(
        organisation_id=organisation.pk, index__gte=start, index__lt=stop
    ).values_list("index", "body")
    found = {int(i): bytes(b) if b is not None else None for i, b in bodies}
    first_tile, last_tile = start // TILE_WIDTH, (stop - 1) // TILE_WIDTH
    tiles = load_tiles(organisation.pk, [(0, n) for n in range(first_tile, last_tile + 1)])
    for index in range(start, stop):
        tile = tiles.get((0, index // TILE_WIDTH), b"")
        at = (index % TILE_WIDTH) * HASH_SIZE
        stored = tile[at : at + HASH_SIZE]
        body = found.get(index)
        if body is None or len(stored) != HASH_SIZE or leaf_hash(body) != stored:
            raise _refuse(
                organisation,
                f"REFUSING TO SIGN: entry {index} is missing or no longer hashes to the leaf "
                "hash the log signed; the stored record was rewritten",
            )
    state.audited = stop % size


def audit(organisation: Any, *, budget: int = IDLE_AUDIT) -> None:
    """Audit the next ``budget`` signed entries of the organisation's log (the idle worker)."""
    _ensure_state(organisation)
    with transaction.atomic():
        state = (
            LogState.objects.select_for_update(skip_locked=True)
            .filter(organisation_id=organisation.pk)
            .first()
        )
        if state is None:
            return  # a sequencer is at work; it audits as it goes
        _audit(organisation, state, budget)
        state.save(update_fields=["audited"])


def _append_batch(organisation: Any, state: LogState, rows: Sequence[tuple[Any, ...]]) -> str:
    last = _last_signed(organisation)
    _check_stored_state(organisation, state, last)
    _audit(organisation, state, 2 * len(rows) + AUDIT_MINIMUM)
    reader = StoredHashReader(organisation.pk)
    try:
        appender = TreeAppender.from_reader(state.size, reader)
    except MissingHashError as exc:
        raise _refuse(
            organisation, f"REFUSING TO SIGN: the stored tree is incomplete: {exc}"
        ) from None

    now = timezone.now()
    batch_time = format_time(now)
    slug = organisation.slug
    bodies: list[bytes] = []
    updates: list[tuple[int, bytes, int]] = []
    try:
        for offset, (pk, entry_type, council, actor, recorded_at, data) in enumerate(rows):
            index = state.size + offset
            body = entry_bytes(
                index=index,
                entry_type=entry_type,
                organisation=slug,
                council=council,
                actor=actor,
                time=batch_time if recorded_at is None else _stored_time(recorded_at),
                data=data,
            )
            bodies.append(body)
            updates.append((index, body, pk))
    except EntryTooLargeError as exc:
        raise _refuse(organisation, str(exc)) from None
    result = appender.append([leaf_hash(b) for b in bodies])

    _write_entries(updates, now)
    _write_tiles(organisation, result.new_hashes)

    stored_root = tree_root(result.size, reader)
    if stored_root != result.root:
        raise _refuse(
            organisation,
            f"REFUSING TO SIGN: the stored tiles give root {stored_root.hex()} for size "
            f"{result.size}, the appended tree {result.root.hex()}; the stored hashes changed",
        )
    new = CheckpointText(state.origin, result.size, stored_root)
    if last is not None:
        previous = CheckpointText(state.origin, last.size, bytes(last.root))
        try:
            proof = consistency_proof(last.size, result.size, reader)
            check_consistent_to_sign(previous, new, proof)
        except (InconsistentCheckpointError, MissingHashError) as exc:
            raise _refuse(organisation, str(exc)) from None
    note = sign_checkpoint(new, keys.signer_for(state.origin))
    Checkpoint.objects.create(
        organisation=organisation, size=result.size, root=stored_root, note=note, signed_at=now
    )
    state.size = result.size
    state.save(update_fields=["size", "audited", "updated_at"])
    return note


def _write_entries(updates: Sequence[tuple[int, bytes, int]], now: Any) -> None:
    """Store index and bytes; unlinkable rows (no time of their own) get the batch's time."""
    qn = connection.ops.quote_name
    table = qn(Entry._meta.db_table)
    batch_time = connection.ops.adapt_datetimefield_value(now)
    # Only quoted identifiers from the model are formatted in; the values are parameters.
    if connection.vendor == "postgresql":
        # One statement for the batch, its rows copied (in binary) into a scratch table and
        # joined from there: no body is quoted into SQL text nor built into an array value.
        with (
            psycopg.Cursor(connection.connection) as cursor,
            copied_rows(
                cursor,
                Entry._meta.db_table,
                ["index", "body", "id"],
                updates,
                types=["int8", "bytea", "int8"],
            ) as scratch,
        ):
            cursor.execute(
                f"UPDATE {table} AS e SET {qn('index')} = v.{qn('index')}, "  # noqa: S608
                f"{qn('body')} = v.{qn('body')}, "
                f"{qn('recorded_at')} = COALESCE(e.{qn('recorded_at')}, %s), "
                f"{qn('position')} = NULL "
                f"FROM {scratch} AS v WHERE e.{qn('id')} = v.{qn('id')}",
                [batch_time],
            )
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {qn('index')} = %s, {qn('body')} = %s, "  # noqa: S608
            f"{qn('recorded_at')} = COALESCE({qn('recorded_at')}, %s), {qn('position')} = NULL "
            f"WHERE {qn('id')} = %s",
            [(i, b, batch_time, pk) for i, b, pk in updates],
        )


def _write_tiles(organisation: Any, new_hashes: Iterable[tuple[int, int, bytes]]) -> None:
    """Add the batch's tile-level hashes to their tiles (the last one of a level grows)."""
    grouped: dict[tuple[int, int], list[tuple[int, bytes]]] = defaultdict(list)
    for level, index, h in new_hashes:
        if level % TILE_HEIGHT == 0:
            grouped[(level // TILE_HEIGHT, index >> TILE_HEIGHT)].append((index & _MASK, h))
    existing = load_tiles(organisation.pk, grouped)
    tiles = []
    for (level, index), hashes in grouped.items():
        data = existing.get((level, index), b"")
        expected = len(data) // HASH_SIZE
        positions = [p for p, _ in hashes]
        if positions != list(range(expected, expected + len(positions))):
            raise _refuse(
                organisation,
                f"REFUSING TO SIGN: tile {level}/{index} holds {expected} hashes but the "
                f"tree appends at position {positions[0]}; the stored tiles were changed",
            )
        tiles.append(
            TreeTile(
                organisation=organisation,
                level=level,
                index=index,
                data=data + b"".join(h for _, h in hashes),
            )
        )
    TreeTile.objects.bulk_create(
        tiles,
        update_conflicts=True,
        unique_fields=["organisation", "level", "index"],
        update_fields=["data"],
    )
