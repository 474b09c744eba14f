"""The sequencer: indices in batches, the exact entry bytes, signed checkpoints, unlinkable
entries, and refusing to sign over rewritten history."""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

import pytest
from django.db import connection, transaction

from konsilo import canonical
from konsilo.record import (
    TreeAppender,
    leaf_hash,
    open_checkpoint,
    root_from_leaf_hashes,
    verify_consistency,
)
from konsilo.web.councils import actions
from konsilo.web.ledger import selectors
from konsilo.web.ledger.actions import LedgerError, append, forget_worker_state
from konsilo.web.ledger.entries import format_time
from konsilo.web.ledger.models import Checkpoint, Entry, LogState, TreeTile, WorkerHeartbeat
from konsilo.web.ledger.sequencer import SequencerRefusedError, audit, sequence, sequence_all
from tests.personas import Federation
from tests.web.ledger_helpers import append_one, bodies, rebuild_tiles


def test_entries_are_the_contracts_canonical_bytes(fed: Federation) -> None:
    sequence(fed.org)
    rows = Entry.objects.filter(organisation=fed.org).order_by("index")
    for entry in rows:
        obj = {
            "index": entry.index,
            "type": entry.entry_type,
            "org": "fed",
            "council": entry.council,
            "actor": entry.actor,
            "time": format_time(entry.recorded_at),
            "data": canonical.loads(entry.data),
        }
        assert bytes(entry.body) == canonical.dumps(obj)
        assert canonical.loads(bytes(entry.body))["index"] == entry.index


def test_an_entry_written_on_the_second_keeps_its_exact_time(
    fed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A time with no microseconds is stored without them; the entry still says ".000000Z".
    import datetime as dt

    from django.utils import timezone

    when = dt.datetime(2026, 12, 2, 9, 30, 5, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: when)
    with transaction.atomic():
        pending = append("test.entry", {"n": 1}, organisation=fed.org)
    sequence(fed.org)
    entry = Entry.objects.get(pk=pending.pk)
    assert entry.recorded_at == when
    assert canonical.loads(bytes(entry.body))["time"] == "2026-12-02T09:30:05.000000Z"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's synchronous setting")
def test_sqlite_batches_commit_synced_and_writers_go_back_to_normal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from konsilo.web.ledger import sequencer

    org = actions.create_organisation(actor=None, slug="sync", name="Sync", levels=["base"])
    seen: list[int] = []

    def note(*args: Any, **kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            seen.append(cursor.fetchone()[0])
        return original(*args, **kwargs)

    original = sequencer.sign_checkpoint
    monkeypatch.setattr(sequencer, "sign_checkpoint", note)
    forget_worker_state()
    with transaction.atomic():
        append("test.entry", {"n": 1}, organisation=org)  # sequenced as it commits
    assert seen == [2]  # FULL while the batch that is signed commits
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 1  # NORMAL for the writers again


def test_every_entry_gets_one_index_without_gaps(fed: Federation) -> None:
    pending = Entry.objects.filter(organisation=fed.org, index__isnull=True).count()
    sequence(fed.org, batch_size=7)
    indices = sorted(Entry.objects.filter(organisation=fed.org).values_list("index", flat=True))
    assert indices == list(range(pending))
    assert LogState.objects.get(organisation=fed.org).size == pending


def test_each_batch_signs_a_checkpoint_the_pure_package_verifies(fed: Federation) -> None:
    notes = sequence(fed.org, batch_size=10)
    verifier = selectors.verifier(fed.org)
    checkpoints = [open_checkpoint(note, verifier) for note in notes]
    assert [c.size for c in checkpoints] == [10, 20, 27]
    leaves = [leaf_hash(b) for b in bodies(fed.org)]
    for checkpoint in checkpoints:
        assert checkpoint.origin == "127.0.0.1/log/fed"
        assert checkpoint.root == root_from_leaf_hashes(leaves[: checkpoint.size])
    stored = list(Checkpoint.objects.filter(organisation=fed.org).order_by("size"))
    assert [c.note for c in stored] == notes


def test_the_stored_tiles_are_the_tree_of_the_entries(fed: Federation) -> None:
    for n in range(600):
        append_one(fed.org, n)
    sequence(fed.org, batch_size=97)
    leaves = [leaf_hash(b) for b in bodies(fed.org)]
    expected = {(level, index): h for level, index, h in TreeAppender().append(leaves).new_hashes}
    tiles = {
        (t.level, t.index): bytes(t.data) for t in TreeTile.objects.filter(organisation=fed.org)
    }
    assert sorted(tiles) == [(0, 0), (0, 1), (0, 2), (1, 0)]  # 627 leaves
    for (level, index), data in tiles.items():
        for pos in range(len(data) // 32):
            assert data[32 * pos : 32 * pos + 32] == expected[(8 * level, 256 * index + pos)]
    assert [len(tiles[k]) // 32 for k in sorted(tiles)] == [256, 256, 115, 2]


def test_consecutive_checkpoints_are_consistent(fed: Federation) -> None:
    sequence(fed.org, batch_size=5)
    verifier = selectors.verifier(fed.org)
    cps = [open_checkpoint(c.note, verifier) for c in selectors.list_checkpoints(fed.org)]
    for old, new in itertools.pairwise(cps):
        proof = selectors.prove_consistency(fed.org, old.size, new.size)
        verify_consistency(
            old_size=old.size,
            new_size=new.size,
            old_root=old.root,
            new_root=new.root,
            proof=[__import__("base64").b64decode(p) for p in proof["proof"]],
        )


def test_entries_keep_the_order_they_were_written_in(fed: Federation) -> None:
    sequence(fed.org)
    with transaction.atomic():
        made = [append("test.entry", {"n": n}, organisation=fed.org) for n in range(50)]
    sequence(fed.org)
    assert [Entry.objects.get(pk=e.pk).index for e in made] == list(range(27, 77))


def _ballot(org: Any, n: int, receipt: int) -> Entry:
    return append(
        "ballot.cast",
        {"item": "i-1", "receipt": f"{receipt:064x}", "weight": "1", "ballot": {"n": n}},
        organisation=org,
        unlinkable=True,
    )


def test_unlinkable_entries_are_shuffled_between_the_entries_around_them(
    fed: Federation,
) -> None:
    sequence(fed.org)
    with transaction.atomic():
        opened = append("vote.opened", {"item": "i-1"}, organisation=fed.org)
        ballots = [_ballot(fed.org, n, receipt=n) for n in range(200)]
    with transaction.atomic():
        closed = append("tally.recorded", {"item": "i-1"}, organisation=fed.org)
    sequence(fed.org)
    index = {e.pk: e.index for e in Entry.objects.filter(organisation=fed.org)}
    order = [index[b.pk] for b in ballots]
    assert sorted(order) == list(range(28, 228))
    assert order != sorted(order)  # the chance of a shuffle keeping the order is 1/200!
    assert index[opened.pk] == 27
    assert index[closed.pk] == 228
    assert not Entry.objects.filter(position__isnull=False).exists()


def test_a_changed_ballot_stays_after_the_ballot_it_replaces(fed: Federation) -> None:
    sequence(fed.org)
    with transaction.atomic():
        mine = []
        for n in range(60):
            _ballot(fed.org, n, receipt=1000 + n)
            if n % 20 == 0:
                mine.append(_ballot(fed.org, n, receipt=7))
    sequence(fed.org)
    order = [Entry.objects.get(pk=e.pk).index for e in mine]
    assert order == sorted(order)
    kept = [canonical.loads(bytes(Entry.objects.get(pk=e.pk).body))["data"] for e in mine]
    assert [d["ballot"]["n"] for d in kept] == [0, 20, 40]


def test_unlinkable_entries_have_random_ids_no_actor_and_the_batch_time(fed: Federation) -> None:
    sequence(fed.org)
    with transaction.atomic():
        secret = [
            append(
                "ballot.cast",
                {"item": "i-1", "receipt": f"{n:064x}"},
                organisation=fed.org,
                unlinkable=True,
            )
            for n in range(20)
        ]
        plain = append("test.entry", {"n": 1}, organisation=fed.org, actor="m-x")
    ids = [e.pk for e in secret]
    assert all(pk < 0 for pk in ids)
    assert len(set(ids)) == 20
    assert ids != sorted(ids)
    assert ids != sorted(ids, reverse=True)
    assert all(e.actor == "" and e.recorded_at is None for e in secret)
    (_note,) = sequence(fed.org)
    checkpoint = Checkpoint.objects.get(organisation=fed.org, size=48)
    batch_time = format_time(checkpoint.signed_at)
    for entry in Entry.objects.filter(pk__in=ids):
        data = canonical.loads(bytes(entry.body))
        assert data["actor"] == ""
        assert data["time"] == batch_time
    own = canonical.loads(bytes(Entry.objects.get(pk=plain.pk).body))
    assert own["actor"] == "m-x"
    assert own["time"] != batch_time


def test_an_unlinkable_entry_cannot_name_its_actor(fed: Federation) -> None:
    with pytest.raises(LedgerError, match="unlinkable"), transaction.atomic():
        append("ballot.cast", {}, organisation=fed.org, actor="m-1", unlinkable=True)


# -- the write path and concurrent writers ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_write_path_sequences_on_commit_when_no_worker_runs() -> None:
    forget_worker_state()  # no worker seen in the last second by an earlier test
    org = actions.create_organisation(actor=None, slug="solo", name="Solo", levels=["base"])
    assert not Entry.objects.filter(organisation=org, index__isnull=True).exists()
    assert selectors.signed_size(org) == 2


@pytest.mark.django_db(transaction=True)
def test_the_write_path_leaves_sequencing_to_a_live_worker() -> None:
    from django.utils import timezone

    WorkerHeartbeat.objects.create(worker_id="w-1", seen_at=timezone.now())
    org = actions.create_organisation(actor=None, slug="solo", name="Solo", levels=["base"])
    assert Entry.objects.filter(organisation=org, index__isnull=True).count() == 2
    from konsilo.web.worker import tick

    tick("w-1")
    assert selectors.signed_size(org) == 2
    forget_worker_state()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_each_get_one_index_and_no_gaps() -> None:
    org = actions.create_organisation(actor=None, slug="busy", name="Busy", levels=["base"])
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for n in range(25):
                with transaction.atomic():
                    append("test.entry", {"writer": w, "n": n}, organisation=org)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sequence(org)  # whatever the last on-commit runs left
    rows = list(Entry.objects.filter(organisation=org).values_list("index", "data"))
    assert sorted(i for i, _ in rows) == list(range(2 + 6 * 25))
    seen = {(d["writer"], d["n"]) for _, raw in rows if "writer" in (d := canonical.loads(raw))}
    assert len(seen) == 150
    verifier = selectors.verifier(org)
    cps = [open_checkpoint(c.note, verifier) for c in selectors.list_checkpoints(org)]
    assert cps[-1].size == 152
    assert cps[-1].root == root_from_leaf_hashes([leaf_hash(b) for b in bodies(org)])


# -- refusing to sign over rewritten history -------------------------------------------------


def _rewrite(org: Any, kind: str) -> None:
    entries = bodies(org)
    rows = list(Entry.objects.filter(organisation=org).order_by("index"))
    if kind == "rewrite":
        forged = entries[3].replace(b'"type":"', b'"type":"forged.')
        Entry.objects.filter(pk=rows[3].pk).update(body=forged)
        entries[3] = forged
    elif kind == "delete":
        Entry.objects.filter(pk=rows[5].pk).delete()
        for row in rows[6:]:
            Entry.objects.filter(pk=row.pk).update(index=row.index - 1)
        del entries[5]
        LogState.objects.filter(organisation=org).update(size=len(entries))
    elif kind == "reorder":
        Entry.objects.filter(pk=rows[4].pk).update(index=-1)
        Entry.objects.filter(pk=rows[7].pk).update(index=4)
        Entry.objects.filter(pk=rows[4].pk).update(index=7)
        entries[4], entries[7] = entries[7], entries[4]
    elif kind == "insert":
        for row in reversed(rows[2:]):
            Entry.objects.filter(pk=row.pk).update(index=row.index + 1)
        forged = entries[2].replace(b'"index":2', b'"index":99')
        Entry.objects.create(
            organisation=org, index=2, entry_type="council.created", data="{}", body=forged
        )
        entries.insert(2, forged)
        LogState.objects.filter(organisation=org).update(size=len(entries))
    rebuild_tiles(org, entries)


@pytest.mark.parametrize("kind", ["rewrite", "delete", "reorder", "insert"])
def test_the_sequencer_refuses_to_sign_over_rewritten_history(
    fed: Federation, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    sequence(fed.org)
    last = selectors.latest_checkpoint(fed.org)
    _rewrite(fed.org, kind)
    append_one(fed.org)
    with (
        caplog.at_level(logging.ERROR, logger="konsilo.record"),
        pytest.raises(SequencerRefusedError, match="REFUSING TO SIGN"),
    ):
        sequence(fed.org)
    assert any(
        r.levelno == logging.ERROR and "REFUSING TO SIGN" in r.getMessage() for r in caplog.records
    )
    assert selectors.latest_checkpoint(fed.org) == last  # nothing recorded
    assert Entry.objects.filter(organisation=fed.org, index__isnull=True).count() == 1


def test_a_rewritten_stored_hash_alone_is_refused(fed: Federation) -> None:
    sequence(fed.org)
    tile = TreeTile.objects.get(organisation=fed.org, level=0, index=0)
    data = bytearray(tile.data)
    data[32 * 26] ^= 1  # the last leaf hash
    TreeTile.objects.filter(pk=tile.pk).update(data=bytes(data))
    append_one(fed.org)
    with pytest.raises(SequencerRefusedError, match="REFUSING TO SIGN"):
        sequence(fed.org)


def test_an_old_entry_rewritten_alone_is_refused_at_its_index(fed: Federation) -> None:
    """The tiles are left as signed; only entry 3's bytes change in the database."""
    sequence(fed.org)
    last = selectors.latest_checkpoint(fed.org)
    row = Entry.objects.get(organisation=fed.org, index=3)
    forged = bytes(row.body).replace(b'"type":"', b'"type":"forged.')
    Entry.objects.filter(pk=row.pk).update(body=forged)
    append_one(fed.org)
    with pytest.raises(SequencerRefusedError, match="entry 3 is missing or no longer hashes"):
        sequence(fed.org)
    assert selectors.latest_checkpoint(fed.org) == last


def test_the_audit_goes_round_the_whole_log(fed: Federation) -> None:
    sequence(fed.org)
    size = LogState.objects.get(organisation=fed.org).size
    audit(fed.org, budget=10)
    assert LogState.objects.get(organisation=fed.org).audited == 10
    audit(fed.org, budget=size)  # to the end of the log, then from the start again
    assert LogState.objects.get(organisation=fed.org).audited == 0
    audit(fed.org, budget=10)
    assert LogState.objects.get(organisation=fed.org).audited == 10
    row = Entry.objects.get(organisation=fed.org, index=size - 2)
    Entry.objects.filter(pk=row.pk).update(body=bytes(row.body) + b" ")
    with pytest.raises(SequencerRefusedError, match=f"entry {size - 2} is missing"):
        audit(fed.org, budget=size)


def test_an_idle_worker_round_audits_the_quiet_logs(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    sequence(fed.org)
    row = Entry.objects.get(organisation=fed.org, index=1)
    Entry.objects.filter(pk=row.pk).delete()
    with caplog.at_level(logging.ERROR, logger="konsilo.record"):
        assert sequence_all(drain=False, audit_idle=True) == 0
    assert any("entry 1 is missing" in r.getMessage() for r in caplog.records)


def test_an_index_written_outside_the_sequencer_is_refused(fed: Federation) -> None:
    sequence(fed.org)
    entry = append_one(fed.org)
    Entry.objects.filter(pk=entry.pk).update(index=27)
    append_one(fed.org)
    with pytest.raises(SequencerRefusedError, match="outside the sequencer"):
        sequence(fed.org)
