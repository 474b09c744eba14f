"""Benchmark the public record through the ledger app, on SQLite and PostgreSQL.

Prints, each beside this machine's pure SHA-256 rate (the limit for hashing entries):

1. durable appends per second through the sequencer with 8 concurrent writers (processes;
   ``--writers-as threads`` for threads of one process), one entry per writer transaction
   (``--per-transaction``), the sequencer running as the worker does (floors: 5,000/s on
   SQLite, 2,000/s on PostgreSQL). Timed from the first write until every entry is in a
   signed checkpoint;
2. the inclusion proof of a random entry in a 10,000,000-entry log, read from the stored
   tiles through the ledger's proof function (it also reads the entry and checks the proof
   against the signed checkpoint) (floor: under 5 ms, mean and p99). The tiles are
   precomputed and bulk-inserted: appending 10M entries one by one is not what is measured,
   nor is the write-back of that load (the database is checkpointed before the proofs);
3. `konsilo verify` of a 1,000,000-entry export (floor: under 60 s), when the command exists.

    PYTHONPATH=src python3 bench/record.py
    PYTHONPATH=src python3 bench/record.py --appends 2000 --leaves 300000 --verify-entries 20000

Each section runs in a child process per database (Django settings are per process). The
PostgreSQL runs use --pg-url (default: the `ledger` database); their rows are deleted after.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WRITERS = 8
APPEND_FLOORS = {"sqlite": 5_000.0, "postgres": 2_000.0}
PROOF_FLOOR_MS = 5.0
VERIFY_FLOOR_S = 60.0


def sha256_rate(count: int = 500_000, size: int = 250) -> float:
    """Leaf hashes per second of 0x00 || a typical-sized entry, with hashlib."""
    entries = [os.urandom(size) for _ in range(count)]
    sha = hashlib.sha256
    start = time.perf_counter()
    for entry in entries:
        sha(b"\x00" + entry).digest()
    return count / (time.perf_counter() - start)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- children: one database each ------------------------------------------------------------


def _setup() -> None:
    from konsilo.cli.main import migrate, setup_django

    setup_django()
    migrate()


def _new_org(prefix: str):  # type: ignore[no-untyped-def]
    from konsilo.web.councils import actions

    return actions.create_organisation(
        actor=None, slug=f"{prefix}-{secrets.token_hex(4)}", name="Bench", levels=["base"]
    )


def _cleanup(org) -> None:  # type: ignore[no-untyped-def]
    from konsilo.web.ledger.models import Checkpoint, Entry, LogState, TreeTile

    for model in (Entry, TreeTile, Checkpoint, LogState):
        model.objects.filter(organisation=org).delete()
    with contextlib.suppress(Exception):  # other apps' rows may protect it; they are small
        org.delete()


def child_appends(args: argparse.Namespace) -> dict[str, object]:
    _setup()
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from konsilo.record import leaf_hash, root_from_leaf_hashes
    from konsilo.web.ledger import actions as ledger_actions
    from konsilo.web.ledger.actions import append
    from konsilo.web.ledger.models import Checkpoint, Entry, WorkerHeartbeat
    from konsilo.web.ledger.sequencer import sequence

    org = _new_org("bench-appends")
    WorkerHeartbeat.objects.update_or_create(
        worker_id="bench", defaults={"seen_at": timezone.now() + timezone.timedelta(hours=1)}
    )
    ledger_actions.forget_worker_state()
    per_writer = args.appends // WRITERS
    total = per_writer * WRITERS
    expected_size = Entry.objects.filter(organisation=org).count() + total
    fork = multiprocessing.get_context("fork")
    done = fork.Event()
    signed = fork.Value("i", 0)

    def sequencer() -> None:
        # Its own process, as `konsilo worker` is beside the server in production.
        while True:
            finished = done.is_set()
            notes = sequence(org, batch_size=20_000, drain=finished)
            with signed.get_lock():
                signed.value += len(notes)
            if finished and not notes:
                return
            # As `konsilo worker` does (every KONSILO_WORKER_INTERVAL, 2 s by default),
            # but more often, so that the last entries wait little.
            time.sleep(args.sequencer_interval)

    def writer(w: int, go: Any = None) -> None:
        if go is not None:
            go.wait()
        try:
            for n in range(0, per_writer, args.per_transaction):
                with transaction.atomic():
                    for k in range(n, min(per_writer, n + args.per_transaction)):
                        append("bench.entry", {"writer": w, "n": k}, organisation=org)
        finally:
            connection.close()

    def writers_process(go: Any) -> None:
        # The server: 8 threads of one process, as `konsilo serve` runs its requests.
        threads = [threading.Thread(target=writer, args=(w, go)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # Writers are processes (several web processes) or threads of one process (one
    # `konsilo serve`); either way the sequencer is a process of its own, the worker. Every
    # process is forked before it opens a connection, then all are released together.
    connections.close_all()
    go = fork.Event()
    if args.writers_as == "threads":
        writers: list[Any] = [fork.Process(target=writers_process, args=(go,))]
    else:
        writers = [fork.Process(target=writer, args=(w, go)) for w in range(WRITERS)]
    seq = fork.Process(target=sequencer)
    for t in writers:
        t.start()
    seq.start()
    time.sleep(0.5)  # every process has started
    start = time.perf_counter()
    go.set()
    for t in writers:
        t.join()
    written = time.perf_counter() - start
    done.set()
    seq.join()
    elapsed = time.perf_counter() - start
    if seq.exitcode or any(t.exitcode for t in writers):
        raise SystemExit("a writer or the sequencer process failed")
    batches = [1] * signed.value

    last = Checkpoint.objects.filter(organisation=org).order_by("-size").first()
    assert last is not None
    assert last.size == expected_size, (last.size, expected_size)
    bodies = Entry.objects.filter(organisation=org).order_by("index").values_list("body", flat=True)
    commit_ms = _commit_latency_ms()
    root = root_from_leaf_hashes([leaf_hash(bytes(b)) for b in bodies.iterator(chunk_size=5000)])
    assert root == bytes(last.root), "the signed root is not the tree of the stored entries"
    # The sequencer alone: the same number of entries written first, then sequenced at once.
    from konsilo.web.ledger.actions import append_many

    with transaction.atomic():
        append_many(
            (("bench.entry", {"writer": 0, "n": n}, "") for n in range(total)), organisation=org
        )
    start = time.perf_counter()
    sequence(org, batch_size=20_000)
    sequencer_rate = total / (time.perf_counter() - start)
    WorkerHeartbeat.objects.filter(worker_id="bench").delete()
    _cleanup(org)
    return {
        "sequencer_rate": sequencer_rate,
        "entries": total,
        "seconds": elapsed,
        "write_seconds": written,
        "rate": total / elapsed,
        "checkpoints": len(batches),
        "commit_ms": commit_ms,
    }


def _commit_latency_ms(count: int = 100) -> float:
    """Mean time of one durable one-row INSERT + COMMIT on this database (its fsync cost)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_commit (x integer)")
    try:
        start = time.perf_counter()
        for i in range(count):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("INSERT INTO bench_commit VALUES (%s)", [i])
        return (time.perf_counter() - start) / count * 1000
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_commit")


def _build_levels(leaves: int):  # type: ignore[no-untyped-def]
    """Leaf and node hashes of `leaves` contract-shaped entries, kept at the tile levels."""
    sha = hashlib.sha256
    template = (
        b'{"actor":"","council":"","data":{"n":%d},"index":%d,"org":"bench",'
        b'"time":"2026-12-01T00:00:00.000000Z","type":"bench.entry"}'
    )
    level = b"".join(sha(b"\x00" + template % (i, i)).digest() for i in range(leaves))
    kept = {0: level}
    height = 0
    while len(level) >= 64:
        buf = memoryview(level)
        pairs = len(level) // 64
        level = b"".join(sha(b"\x01" + buf[i : i + 64]).digest() for i in range(0, 64 * pairs, 64))
        height += 1
        if height % 8 == 0:
            kept[height] = level
    return template, kept


def _settle() -> None:
    """Write back what the bulk load left, so that the proofs are measured and not that.

    Loading a gigabyte of tiles leaves PostgreSQL with dirty buffers, tuples without hint
    bits and a checkpoint due by WAL volume: the first reads then wait on the write-back of
    the load (a proof now and then takes tens of milliseconds, all of it in the database).
    A live log is written a little at a time and its pages are written back all along.
    No proof runs before the measured ones: their tiles are read as they come.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE) ledger_treetile, ledger_entry")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def child_proofs(args: argparse.Namespace) -> dict[str, object]:
    _setup()
    from django.utils import timezone

    from konsilo.record import (
        Checkpoint as CheckpointText,
    )
    from konsilo.record import (
        inclusion_proof,
        leaf_hash,
        right_edge_ids,
        sign_checkpoint,
        tree_root,
        verify_inclusion,
    )
    from konsilo.web.ledger import keys, selectors
    from konsilo.web.ledger.models import Checkpoint, Entry, LogState, TreeTile
    from konsilo.web.ledger.store import StoredHashReader

    size = args.leaves
    org = _new_org("bench-proofs")
    for model in (Entry, TreeTile, Checkpoint, LogState):  # the founding entries' log
        model.objects.filter(organisation=org).delete()
    t0 = time.perf_counter()
    template, levels = _build_levels(size)
    built = time.perf_counter() - t0

    t0 = time.perf_counter()
    rows = []
    for height, data in levels.items():
        for n in range(0, len(data), 8192):
            tile = TreeTile(
                organisation=org, level=height // 8, index=n // 8192, data=data[n : n + 8192]
            )
            rows.append(tile)
            if len(rows) == 500:
                TreeTile.objects.bulk_create(rows)
                rows = []
    TreeTile.objects.bulk_create(rows)
    reader = StoredHashReader(org.pk)
    root = tree_root(size, reader)
    origin = f"bench.example/log/{org.slug}"
    LogState.objects.create(organisation=org, origin=origin, size=size)
    note = sign_checkpoint(CheckpointText(origin, size, root), keys.signer_for(origin))
    Checkpoint.objects.create(
        organisation=org, size=size, root=root, note=note, signed_at=timezone.now()
    )
    rng = random.Random(2026)
    sample = rng.sample(range(size), args.proofs)
    Entry.objects.bulk_create(
        Entry(
            organisation=org,
            index=i,
            entry_type="bench.entry",
            data=json.dumps({"n": i}),
            body=template % (i, i),
            recorded_at=timezone.now(),
        )
        for i in sample
    )
    stored = time.perf_counter() - t0
    _settle()

    api_ms, raw_ms = [], []
    for index in sample:
        start = time.perf_counter()
        proof = selectors.prove_inclusion(org, index)
        mid = time.perf_counter()
        inclusion_proof(index, size, reader)
        end = time.perf_counter()
        api_ms.append((mid - start) * 1000)
        raw_ms.append((end - mid) * 1000)
        verify_inclusion(
            index=index,
            size=size,
            leaf_hash=leaf_hash(template % (index, index)),
            proof=proof.proof,
            root=root,
        )
    tiles = TreeTile.objects.filter(organisation=org).count()
    _cleanup(org)
    assert right_edge_ids(size)
    q_api = statistics.quantiles(api_ms, n=100)
    q_raw = statistics.quantiles(raw_ms, n=100)
    return {
        "leaves": size,
        "tiles": tiles,
        "build_seconds": built,
        "store_seconds": stored,
        "proofs": len(sample),
        "mean_ms": statistics.fmean(api_ms),
        "p50_ms": q_api[49],
        "p99_ms": q_api[98],
        "raw_mean_ms": statistics.fmean(raw_ms),
        "raw_p99_ms": q_raw[98],
    }


CHILDREN = {"appends": child_appends, "proofs": child_proofs}


def run_child(section: str, db: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KONSILO_DATA_DIR"] = str(work / f"data-{db}")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["KONSILO_DEBUG"] = "0"  # as in production: no query log
    if db == "postgres":
        env["DATABASE_URL"] = args.pg_url
    command = [
        sys.executable, __file__, "--child", section,
        "--appends", str(args.appends), "--leaves", str(args.leaves),
        "--proofs", str(args.proofs), "--per-transaction", str(args.per_transaction),
        "--sequencer-interval", str(args.sequencer_interval), "--writers-as", args.writers_as,
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"the {section} benchmark on {db} failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def postgres_problem(url: str) -> str:
    """Why the benchmark's PostgreSQL database cannot be used, or "" when it can."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[-1]
    return ""


def verify_available() -> bool:
    """Whether `konsilo verify` exists in this tree."""
    from konsilo.cli.main import build_parser

    parser = build_parser()
    for action in parser._subparsers._group_actions:  # argparse has no public API for it
        if "verify" in getattr(action, "choices", {}):
            return True
    return False


def bench_verify(args: argparse.Namespace, work: Path, rate: float) -> None:
    print(f"\n3. konsilo verify of a {args.verify_entries:,}-entry export (SQLite)")
    if not verify_available():
        print("   skipped: `konsilo verify` is not in this tree yet")
        return
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KONSILO_DATA_DIR"] = str(work / "data-verify")
    env["KONSILO_DEBUG"] = "0"
    env["PYTHONPATH"] = str(ROOT / "src")
    script = f"""
from konsilo.cli.main import setup_django, migrate
setup_django(); migrate()
from django.db import transaction
from konsilo.web.councils import actions
from konsilo.web.ledger.actions import append_many
from konsilo.web.ledger.sequencer import sequence
org = actions.create_organisation(actor=None, slug="bench", name="Bench", levels=["base"])
actions.add_council(actor=None, organisation=org, key="b", name="Base", level="base")
n = {args.verify_entries} - 3
for start in range(0, n, 50_000):
    with transaction.atomic():
        append_many(
            (("member.joined", {{"member": f"m-{{i:032x}}", "name": f"Member {{i}}", "base": "b",
              "secondary": [], "start": "2026-12-01", "status": "good_standing"}}, "b")
             for i in range(start, min(n, start + 50_000))),
            organisation=org, actor="operator")
    sequence(org, batch_size=50_000)
"""
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    out = work / "export"
    subprocess.run(
        [sys.executable, "-m", "konsilo.cli", "export", "bench", "--out", str(out)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "konsilo.cli", "verify", str(out)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    lines = result.stdout.strip().splitlines()
    print(f"   exit {result.returncode}: {lines[0] if lines else result.stderr.strip()}")
    print(
        f"   {seconds:.1f} s ({args.verify_entries / seconds:,.0f} entries/s;"
        f" pure SHA-256 {rate:,.0f} leaf hashes/s)"
    )
    ok = result.returncode == 0 and seconds < VERIFY_FLOOR_S
    print(f"   {verdict(ok)}: under {VERIFY_FLOOR_S:.0f} s (and verification passed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=40_000, help="entries appended per DB")
    parser.add_argument("--leaves", type=int, default=10_000_000, help="size of the proof log")
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--sequencer-interval", type=float, default=0.25)
    parser.add_argument(
        "--writers-as",
        choices=["processes", "threads"],
        default="processes",
        help="the 8 writers: separate processes (default) or threads of one process",
    )
    parser.add_argument(
        "--per-transaction", type=int, default=1, help="entries each writer transaction appends"
    )
    parser.add_argument("--verify-entries", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/ledger")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--sections", default="appends,proofs,verify")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return 0

    sections = set(args.sections.split(","))
    dbs = ["sqlite"] if args.skip_postgres else ["sqlite", "postgres"]
    if "postgres" in dbs and sections & {"appends", "proofs"}:
        problem = postgres_problem(args.pg_url)
        if problem:
            sys.stderr.write(
                f"record.py: cannot use PostgreSQL at {args.pg_url}: {problem}"
                " (create the database with createdb, or pass --pg-url or --skip-postgres)\n"
            )
            return 2
    rate = sha256_rate()
    print(f"pure SHA-256 on this machine: {rate:,.0f} leaf hashes/s (0x00 || 250-byte entry)")
    work = Path(tempfile.mkdtemp(prefix="konsilo-bench-record-"))
    try:
        if "appends" in sections:
            print(
                f"\n1. durable appends through the sequencer, {WRITERS} concurrent writers"
                f" ({args.writers_as}), {args.per_transaction}"
                f" entr{'y' if args.per_transaction == 1 else 'ies'} per writer transaction"
            )
            for db in dbs:
                r = run_child("appends", db, args, work)
                floor = APPEND_FLOORS[db]
                print(
                    f"   {db:<9} {r['rate']:>9,.0f} entries/s ({r['entries']:,} entries in"
                    f" {r['seconds']:.2f} s, {r['checkpoints']} signed checkpoints;"
                    f" SHA-256 limit {rate:,.0f}/s)"
                )
                print(
                    f"   {'':<9} one durable commit takes {r['commit_ms']:.2f} ms here"
                    f" (one writer alone: at most {1000 / r['commit_ms']:,.0f} commits/s);"
                    f" the sequencer alone: {r['sequencer_rate']:,.0f} entries/s"
                )
                print(f"   {verdict(r['rate'] >= floor)}: {db} at least {floor:,.0f} entries/s")
        if "proofs" in sections:
            print(f"\n2. inclusion proof of a random entry in a {args.leaves:,}-entry log")
            for db in dbs:
                r = run_child("proofs", db, args, work)
                print(
                    f"   {db:<9} mean {r['mean_ms']:.3f} ms, median {r['p50_ms']:.3f} ms,"
                    f" p99 {r['p99_ms']:.3f} ms over {r['proofs']:,} proofs (tiles only:"
                    f" mean {r['raw_mean_ms']:.3f} ms, p99 {r['raw_p99_ms']:.3f} ms);"
                    f" {r['tiles']:,} stored tiles, hashed in {r['build_seconds']:.0f} s"
                    f" ({r['leaves'] / r['build_seconds']:,.0f} leaves/s),"
                    f" stored in {r['store_seconds']:.0f} s"
                )
                ok = r["mean_ms"] < PROOF_FLOOR_MS and r["p99_ms"] < PROOF_FLOOR_MS
                print(f"   {verdict(ok)}: {db} mean and p99 under {PROOF_FLOOR_MS:.0f} ms")
        if "verify" in sections:
            bench_verify(args, work, rate)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
