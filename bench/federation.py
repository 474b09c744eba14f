"""Benchmark deriving every mandate and the top tally of one item across a large federation.

Builds a federation of 1,000,000 members in 20,000 base councils over 4 levels (bases →
districts → regions → congress, 20 councils under each), sends one yes/no/abstain item to
every base, fills random base tallies (some bases do not vote, some miss their quorum, some
tie), then times, for each composition mode, the derivation of every mandate, the top tally
and member-level support above the first level. Pure computation: the floor is under 2 s.
The numbers are checked: the top tally under pass-through must equal the exact
federation-wide sum of every base's proportional share, and member-level support the sum
of every member's ballot.

    PYTHONPATH=src python3 bench/federation.py --pure                 # full size
    PYTHONPATH=src python3 bench/federation.py --pure --members 100000 --bases 2000

``--db`` runs the same federation end to end through the database (floor: under 60 s on
PostgreSQL; the database's tables are dropped and recreated first). The setup is not timed:
the organisation, the councils and delegations (bulk inserts that append the same
``council.created`` and ``delegation.created`` entries as ``add_council``), the members
(through the member import's write path, ``member.joined`` entries), the item sent through
``send_to_bases`` (timed and printed on its own), the bases' votes opened by
``open_due_instruction_votes`` (likewise), and the ballots of ``fill_tallies`` (bulk inserts of
the rows and the ``ballot.cast`` entries that ``cast_ballot`` writes: setup bypasses the
ballot action, not the record). Timed against the floor is what the workers do from the
bases' deadline until the congress result and its member-level support exist, run as
``konsilo worker`` runs them, one per core (``--workers``): at each level's deadline every
worker's task thread runs ``close_due_votes`` (closing the votes, deriving every mandate,
casting the bound votes; the workers share the batches) while the record round (heartbeat
and sequencing every ``KONSILO_WORKER_INTERVAL`` seconds) runs in another thread; a level is
done once its votes are closed, its mandates derived and every entry sequenced.
Then the member-level support (``federation.selectors.federated_item``). Top tally and
member-level support must equal the pure computation's exactly.

    PYTHONPATH=src python3 bench/federation.py --db                   # PostgreSQL, full size
    PYTHONPATH=src python3 bench/federation.py --db --pg-url postgres://postgres@127.0.0.1/x
    PYTHONPATH=src python3 bench/federation.py --db --sqlite --members 50000 --bases 1000

The full-size setup takes tens of minutes. On PostgreSQL, ``--save-setup NAME`` keeps a copy of
the database as it stands when the timed part starts (a database NAME made from it as a
template, and the signing key in a data directory of the same name), and ``--from-setup NAME``
starts the timed part from such a copy, so that a change to the timed path can be measured
again in a few minutes. The federation's size and seed must be the same in both runs.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from konsilo.governance.federation import (
    ArrayFederationResult,
    BaseTallies,
    FederationArrays,
    compose_arrays,
)
from konsilo.governance.mandates import MandatePolicy

FLOOR_S = 2.0
LEVELS = ("assembly", "district", "region", "congress")


@dataclass
class Federation:
    tree: FederationArrays
    represented: np.ndarray  # members per base


def build_federation(members: int, bases: int, fan_out: int, seed: int) -> Federation:
    """``bases`` base councils holding ``members`` members in all, ``fan_out`` per council."""
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(members - bases, np.full(bases, 1 / bases)) + 1  # at least 1 each
    councils = [tuple(f"base-{i}" for i in range(bases))]
    parents = []
    count = bases
    for level in LEVELS[1:-1]:
        above = -(-count // fan_out)
        parents.append(np.arange(count, dtype=np.int64) // fan_out)
        councils.append(tuple(f"{level}-{j}" for j in range(above)))
        count = above
    parents.append(np.zeros(count, dtype=np.int64))
    councils.append(("congress",))
    return Federation(FederationArrays(LEVELS, tuple(councils), tuple(parents)), sizes)


def fill_tallies(federation: Federation, seed: int) -> BaseTallies:
    """Random instruction votes: turnout 40–100%, 3% of bases not voting by the deadline."""
    rng = np.random.default_rng(seed + 1)
    size = federation.represented
    n = len(size)
    turnout = rng.binomial(size, rng.uniform(0.4, 1.0, n))
    lean = rng.uniform(0.2, 0.8, n)
    yes = rng.binomial(turnout, lean)
    rest = turnout - yes
    abstain = rng.binomial(rest, 0.1)
    no = rest - abstain
    voted = rng.random(n) > 0.03
    return BaseTallies(yes, no, abstain, size, size, voted)


def upper_weights(federation: Federation) -> list[np.ndarray]:
    """Card-vote weights of every level's delegations: the members each represents."""
    weights = [federation.represented.astype(np.int64)]
    for parent, above in zip(
        federation.tree.parents[:-1], federation.tree.councils[1:-1], strict=True
    ):
        weights.append(
            np.bincount(parent, weights=weights[-1], minlength=len(above)).astype(np.int64)
        )
    return weights


def run(
    federation: Federation, tallies: BaseTallies, composition: str, base_mode: str
) -> tuple[float, ArrayFederationResult]:
    weights = upper_weights(federation)
    policies = [MandatePolicy(mode=base_mode)] + [
        MandatePolicy(mode="bound_proportional") for _ in weights[1:]
    ]
    start = time.perf_counter()
    result = compose_arrays(
        federation.tree,
        tallies,
        weights=weights,
        policies=policies,
        item="bench-item",
        content_hash="bench-hash",
        composition=composition,
    )
    return time.perf_counter() - start, result


def check(federation: Federation, tallies: BaseTallies, result: ArrayFederationResult) -> None:
    """Recompute the pass-through top tally and member support the slow exact way."""
    y, no, a = (x.tolist() for x in (tallies.yes, tallies.no, tallies.abstain))
    quorum = [2 * (y[i] + no[i] + a[i]) >= int(tallies.eligible[i]) for i in range(len(y))]
    w = federation.represented.tolist()
    yes_total = no_total = abstain_total = Fraction(0)
    for i in range(len(y)):
        if not tallies.voted[i] or not quorum[i] or y[i] + no[i] == 0:
            abstain_total += w[i]
        else:
            yes_total += Fraction(w[i] * y[i], y[i] + no[i])
            no_total += Fraction(w[i] * no[i], y[i] + no[i])
    got = result.result.rounds[0].tallies
    assert (got["yes"], got["no"], got["abstain"]) == (yes_total, no_total, abstain_total), got
    members = result.members["congress"]
    held = tallies.voted
    assert members.count("yes") == int(tallies.yes[held].sum())
    assert members.voted == int((tallies.yes + tallies.no + tallies.abstain)[held].sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pure", action="store_true", help="pure computation (no database)")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--bases", type=int, default=20_000)
    parser.add_argument("--fan-out", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--db", action="store_true", help="end to end through the database")
    parser.add_argument(
        "--pg-url",
        default="postgres://postgres@127.0.0.1:5432/fedbench",
        help="PostgreSQL database for --db; its tables are dropped and recreated",
    )
    parser.add_argument("--sqlite", action="store_true", help="--db on a fresh SQLite file")
    parser.add_argument("--profile", help="--db: write a cProfile of the timed phases here")
    parser.add_argument(
        "--save-setup", metavar="NAME", help="--db on PostgreSQL: keep the set-up database as NAME"
    )
    parser.add_argument(
        "--from-setup", metavar="NAME", help="--db on PostgreSQL: start from a kept set-up NAME"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="--db: `konsilo worker` processes closing at once (default: one per core)",
    )
    args = parser.parse_args(argv)
    if args.pure == args.db:
        print("choose one of --pure and --db", file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"--workers: expected 1 or more, got {args.workers}", file=sys.stderr)
        return 2
    if (args.save_setup or args.from_setup) and (args.sqlite or not args.db):
        print("--save-setup and --from-setup need --db on PostgreSQL", file=sys.stderr)
        return 2
    if args.db:
        return run_db(args)
    federation = build_federation(args.members, args.bases, args.fan_out, args.seed)
    tallies = fill_tallies(federation, args.seed)
    print(
        f"federation: {int(federation.represented.sum()):,} members, {args.bases:,} bases, "
        f"{' / '.join(str(len(c)) for c in federation.tree.councils)} councils per level "
        f"({', '.join(LEVELS)})"
    )
    worst = 0.0
    cases = [
        ("pass_through", "bound_proportional"),
        ("pass_through", "bound_majority"),
        ("re_deliberation", "bound_majority"),
        ("direct_base_representation", "bound_proportional"),
    ]
    for composition, mode in cases:
        times = []
        for _ in range(args.repeat):
            elapsed, result = run(federation, tallies, composition, mode)
            times.append(elapsed)
        if (composition, mode) == ("pass_through", "bound_proportional"):
            check(federation, tallies, result)
        best = min(times)
        worst = max(worst, best)
        top = result.result
        share = result.members["congress"]
        print(
            f"{composition:28} base {mode:19} {best:7.3f} s (best of {args.repeat})  "
            f"{top.outcome:8}  members {int(share.count('yes')):,} yes / "
            f"{int(share.count('no')):,} no; {share.uninstructed_bases} bases uninstructed"
        )
    verdict = "PASS" if worst < FLOOR_S else "FAIL"
    print(
        f"{verdict}: slowest mode {worst:.3f} s against the floor of {FLOOR_S:.1f} s "
        "(mandate derivation, top tally and member-level support, pure)"
    )
    return 0 if verdict == "PASS" else 1


# -- through the database ----------------------------------------------------------------------

DB_FLOOR_S = 60.0
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
# Each level instructs 24 hours before the vote above opens and votes for 72 hours: the bases,
# three levels down, are due 3 x 24 + 2 x 72 hours before the congress opens, and need their
# 14 days of deliberation before that.
OPENS = START + dt.timedelta(days=24)
TEXT = "The federation adopts a common four-day week."


def _kept_data_dir(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"konsilo-fedbench-{name}"


def _server_url(pg_url: str) -> tuple[str, str]:
    """The maintenance database's URL beside ``pg_url``, and ``pg_url``'s database name."""
    base, _, database = pg_url.rpartition("/")
    return f"{base}/postgres", database


def _prepare_database(args: argparse.Namespace) -> str:
    """Point Django at a fresh database and migrate it; returns its description."""
    if args.save_setup or args.from_setup:
        work = _kept_data_dir(args.save_setup or args.from_setup)
        work.mkdir(mode=0o700, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="konsilo-fedbench-"))
    os.environ["KONSILO_DATA_DIR"] = str(work)
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
        where = f"SQLite in {work}"
    else:
        import psycopg
        from psycopg import sql

        if args.from_setup:
            server, database = _server_url(args.pg_url)
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(database), sql.Identifier(args.from_setup)
                    )
                )
        else:
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
        os.environ["DATABASE_URL"] = args.pg_url
        where = f"PostgreSQL {args.pg_url.rsplit('@', 1)[-1]}"
    from konsilo.cli.main import migrate, setup_django

    setup_django()
    migrate()
    return where


def _insert_councils(org: Any, federation: Federation) -> None:
    """Every council and delegation at once, with the entries ``add_council`` appends."""
    from konsilo.web.councils.models import Council, Delegation
    from konsilo.web.ledger import actions as ledger

    tree = federation.tree
    parent_of: dict[str, str] = {}
    for level, names in enumerate(tree.councils[:-1]):
        above = tree.councils[level + 1]
        for name, parent in zip(names, tree.parents[level].tolist(), strict=True):
            parent_of[name] = above[parent]
    top_down = [
        (name, LEVELS[level])
        for level in range(len(LEVELS) - 1, -1, -1)
        for name in tree.councils[level]
    ]
    with transaction.atomic(durable=True):
        Council.objects.bulk_create(
            [Council(organisation=org, key=k, name=k.title(), level=lv) for k, lv in top_down],
            batch_size=5000,
        )
        ids = dict(Council.objects.filter(organisation=org).values_list("key", "pk"))
        Delegation.objects.bulk_create(
            [
                Delegation(
                    organisation=org, from_council_id=ids[k], to_council_id=ids[parent_of[k]]
                )
                for k, _ in top_down
                if k in parent_of
            ],
            batch_size=5000,
        )
        entries: list[tuple[str, dict[str, Any], str]] = []
        for key, level in top_down:
            entries.append(
                ("council.created", {"key": key, "name": key.title(), "level": level}, key)
            )
            if key in parent_of:
                up = parent_of[key]
                entries.append(("delegation.created", {"from": key, "to": up}, up))
        ledger.append_many(entries, organisation=org, actor="operator")


def _import_members(org: Any, federation: Federation) -> None:
    """The members, through the member import's write path (``member.joined`` entries)."""
    from konsilo.web.councils import member_import

    rows = []
    n = 0
    for i, size in enumerate(federation.represented.tolist()):
        for _ in range(size):
            rows.append(
                member_import.Row(n + 2, f"Member {n}", f"m{n}@bench.example", f"base-{i}", (), ())
            )
            n += 1
    for start in range(0, len(rows), 100_000):
        chunk = rows[start : start + 100_000]
        member_import._apply(None, org, chunk, member_import.ImportReport(rows=len(chunk)), None)


def _fill_ballots(org: Any, sending: Any, tallies: BaseTallies) -> int:
    """Every base's ballots as ``cast_ballot`` writes them (rows and ``ballot.cast`` entries),
    in bulk; the bases not voting by the deadline get none."""
    from konsilo.counting import tally
    from konsilo.web.councils.models import Member
    from konsilo.web.decisions.models import Ballot, VoterRoll
    from konsilo.web.ledger import actions as ledger
    from konsilo.web.ledger.models import Entry

    record_ids = {
        pk: f"m-{uid.hex}"
        for pk, uid in Member.objects.filter(organisation=org).values_list("pk", "public_id")
    }
    items = {
        i.base_proposal.council.key: i.base_proposal
        for i in sending.instructions.select_related("base_proposal__council")
        if i.base_proposal.council.level == LEVELS[0]
    }
    rolls: dict[int, list[tuple[int, str]]] = {}
    for proposal_id, member_id, weight in (
        VoterRoll.objects.filter(proposal__in=list(items.values()))
        .order_by("proposal_id", "member_id")
        .values_list("proposal_id", "member_id", "weight")
    ):
        rolls.setdefault(proposal_id, []).append((member_id, weight))
    yes, no, abstain = (x.tolist() for x in (tallies.yes, tallies.no, tallies.abstain))
    voted = tallies.voted.tolist()
    now = timezone.now()
    cast = 0
    batch_ballots: list[Ballot] = []
    batch_entries: list[Any] = []

    def flush() -> None:
        with transaction.atomic(durable=True):
            Ballot.objects.bulk_create(batch_ballots, batch_size=5000)
            Entry.objects.bulk_create(batch_entries, batch_size=5000)
            ledger._sequence_on_commit(org)
        batch_ballots.clear()
        batch_entries.clear()

    for i in range(len(yes)):
        if not voted[i]:
            continue
        item = items[f"base-{i}"]
        rule = item.rule or {}
        choices = ["yes"] * yes[i] + ["no"] * no[i] + ["abstain"] * abstain[i]
        for (member_id, weight), choice in zip(rolls[item.pk], choices, strict=False):
            content = tally.normalise_ballot(item.method, rule, {"choice": choice})
            voter = record_ids[member_id]
            batch_ballots.append(
                Ballot(
                    proposal=item,
                    member_id=member_id,
                    content=content,
                    weight=weight,
                    cast_at=now,
                    changed_at=now,
                )
            )
            batch_entries.append(
                ledger._build(
                    "ballot.cast",
                    {"item": item.record_id, "voter": voter, "weight": weight, "ballot": content},
                    organisation=org,
                    council=item.council.key,
                    actor=voter,
                    now=now,
                )
            )
            cast += 1
        if len(batch_ballots) >= 50_000:
            flush()
    flush()
    return cast


class _Queries:
    """Time spent in each SQL statement (its text up to the first literal), for --profile."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = " ".join(sql.split())[:160]
            slot = self.spent.setdefault(shape, [0, 0.0])
            slot[0] += 1
            slot[1] += time.perf_counter() - start

    def report(self, top: int = 15) -> None:
        print("slowest statements (calls, total s):")
        for shape, (calls, spent) in sorted(self.spent.items(), key=lambda kv: -kv[1][1])[:top]:
            print(f"  {int(calls):7} {spent:8.2f}  {shape}")


class _Phases:
    def __init__(self, profile: str | None) -> None:
        self.times: list[tuple[str, float]] = []
        self.profiler = cProfile.Profile() if profile else None
        self.queries = _Queries() if profile else None

    def run(self, name: str, func: Any, *, timed: bool = True) -> Any:
        from django.db import connection

        start = time.perf_counter()
        if self.profiler is not None and timed:
            self.profiler.enable()
        try:
            if self.queries is not None and timed:
                with connection.execute_wrapper(self.queries):
                    return func()
            return func()
        finally:
            if self.profiler is not None and timed:
                self.profiler.disable()
            elapsed = time.perf_counter() - start
            if timed:
                self.times.append((name, elapsed))
            print(f"  {'timed' if timed else 'setup'}  {name:52} {elapsed:8.2f} s", flush=True)


def _close_level(level: str, item_id: int, sending_id: int) -> int:
    """Run the closing task, as a worker's task thread does, until the level is done: its
    mandates derived (the congress: its vote closed). Returns the rounds it took."""
    from konsilo.web.decisions import tasks
    from konsilo.web.decisions.models import Proposal
    from konsilo.web.federation.models import Instruction

    pending = Instruction.objects.filter(
        sending_id=sending_id, base_proposal__council__level=level, derived_at__isnull=True
    )
    rounds = 0
    give_up = time.monotonic() + 600
    while True:
        rounds += 1
        closed = tasks.close_due_votes.call()
        done = (
            Proposal.objects.get(pk=item_id).phase == Proposal.Phase.CLOSED
            if level == LEVELS[-1]
            else not pending.exists()
        )
        if done:
            return rounds
        if time.monotonic() > give_up:
            raise RuntimeError(f"the {level} level did not finish in 600 s")
        if not closed:
            time.sleep(0.05)  # another worker holds what is left: its next round, shortly


class _TaskWorkers:
    """The task threads of the other workers: processes forked here (before any of them
    opens a connection), each moving its own clock to a level's deadline and running the
    closing task until the level is done, at the same moment as this process."""

    def __init__(self, count: int, clock: Any, item_id: int, sending_id: int) -> None:
        import multiprocessing

        from django.db import connections

        fork = multiprocessing.get_context("fork")
        self.commands: list[Any] = []
        self.results = fork.Queue()
        self.processes: list[Any] = []
        connections.close_all()
        for _ in range(count):
            commands = fork.Queue()
            process = fork.Process(
                target=self._run, args=(commands, self.results, clock, item_id, sending_id)
            )
            process.start()
            self.commands.append(commands)
            self.processes.append(process)

    @staticmethod
    def _run(commands: Any, results: Any, clock: Any, item_id: int, sending_id: int) -> None:
        from django.db import connection

        try:
            while (command := commands.get()) is not None:
                level, deadline = command
                clock.move_to(deadline)
                try:
                    results.put(("done", _close_level(level, item_id, sending_id)))
                except Exception as error:  # reported by the main process
                    results.put(("failed", f"{type(error).__name__}: {error}"))
        finally:
            connection.close()

    def start(self, level: str, deadline: dt.datetime) -> None:
        for commands in self.commands:
            commands.put((level, deadline))

    def wait(self) -> None:
        for _ in self.processes:
            status, detail = self.results.get(timeout=600)
            if status != "done":
                raise RuntimeError(f"a worker failed: {detail}")

    def stop(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for process in self.processes:
            process.join(timeout=60)


def _save_setup(pg_url: str, name: str) -> None:
    """Copy the database as it stands to ``name`` (no one may be connected to it meanwhile)."""
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    server, database = _server_url(pg_url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(database)
            )
        )


def run_db(args: argparse.Namespace) -> int:
    """The federation end to end through the database (see the module's docstring)."""
    where = _prepare_database(args)
    import time_machine
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from konsilo.web.councils import actions as council_actions
    from konsilo.web.councils.models import Member
    from konsilo.web.decisions import actions as decisions
    from konsilo.web.decisions.models import Proposal
    from konsilo.web.federation import actions as federation_actions
    from konsilo.web.federation import selectors
    from konsilo.web.ledger.models import Entry
    from konsilo.web.ledger.sequencer import sequence_all
    from konsilo.web.worker import heartbeat

    federation = build_federation(args.members, args.bases, args.fan_out, args.seed)
    tallies = fill_tallies(federation, args.seed)
    print(
        f"federation: {int(federation.represented.sum()):,} members, {args.bases:,} bases, "
        f"{' / '.join(str(len(c)) for c in federation.tree.councils)} councils per level "
        f"({', '.join(LEVELS)}); {where}"
    )
    phases = _Phases(args.profile)
    # A worker is alive throughout, as in production: the writers leave the sequencing to
    # it (``sequence_all`` below, and in each of its rounds).
    beating = threading.Event()
    paused = threading.Event()

    def beat() -> None:
        while not beating.wait(1.0):
            if paused.is_set():
                connection.close()
            else:
                heartbeat("fedbench")
        connection.close()

    with time_machine.travel(START, tick=True) as clock:
        heartbeat("fedbench")
        threading.Thread(target=beat, daemon=True).start()
        if args.from_setup:
            item = Proposal.objects.get(organisation__slug="fedbench", council__key="congress")
            sending = item.sending
            print(f"  setup  kept as {args.from_setup}")
        else:
            sequenced = sequence_all
            org = council_actions.create_organisation(
                actor=None, slug="fedbench", name="Bench Federation", levels=list(LEVELS)
            )
            council_actions.set_policy(
                actor=None,
                organisation=org,
                scope="organisation",
                target="",
                set_values={
                    "structure.vote_weight": "represented_members",
                    "mandate.mode": "bound_proportional",
                    "structure.composition": "pass_through",
                },
            )
            phases.run(
                "councils and delegations (bulk, with their entries)",
                lambda: _insert_councils(org, federation),
                timed=False,
            )
            phases.run(
                "members (member import's write path)",
                lambda: _import_members(org, federation),
                timed=False,
            )
            phases.run("sequence the record", sequenced, timed=False)
            council_actions.set_policy(
                actor=None,
                organisation=org,
                scope="council",
                target="congress",
                set_values={"agenda.member_item_right": "any_member"},
            )
            author = get_user_model().objects.create_user("ada", "ada@bench.example", "pw-ada-123")
            first = Member.objects.get(organisation=org, email="m0@bench.example")
            council_actions.link_user(actor=None, member=first, user=author)
            council_actions.assign_office(
                actor=None,
                member=first,
                kind="delegate",
                council_key="congress",
                delegation_from=federation.tree.councils[-2][0],
            )
            proposal = decisions.create_proposal(
                actor=author,
                council=org.councils.get(key="congress"),
                title="A four-day week",
                text=TEXT,
            )
            item = decisions.open_discussion(actor=author, proposal=proposal)
            sending = phases.run(
                "send_to_bases (every level's instruction vote)",
                lambda: federation_actions.send_to_bases(
                    actor=author, proposal=item, opens_at=OPENS, composition="pass_through"
                ),
                timed=False,
            )
            clock.move_to(
                min(
                    sending.instructions.filter(
                        base_proposal__council__level=LEVELS[0]
                    ).values_list("opens_at", flat=True)
                )
            )
            opened = phases.run(
                "open_due_instruction_votes (the bases' votes)",
                federation_actions.open_due_instruction_votes,
                timed=False,
            )
            assert opened == args.bases, opened
            phases.run("sequence the record", sequenced, timed=False)
            cast = phases.run(
                "ballots (bulk rows and entries)",
                lambda: _fill_ballots(org, sending, tallies),
                timed=False,
            )
            phases.run("sequence the record", sequenced, timed=False)
            entries = Entry.objects.filter(organisation=org).count()
            print(f"  {cast:,} ballots; {entries:,} record entries")

        instructions = list(sending.instructions.select_related("base_proposal__council"))
        by_level: dict[str, list[Any]] = {}
        for row in instructions:
            by_level.setdefault(row.base_proposal.council.level, []).append(row)
        if args.from_setup:
            clock.move_to(min(r.opens_at for r in by_level[LEVELS[0]]))
        if args.save_setup:
            paused.set()
            time.sleep(2.5)
            phases.run(
                f"keep the set-up database as {args.save_setup}",
                lambda: _save_setup(args.pg_url, args.save_setup),
                timed=False,
            )
            paused.clear()

        # The workers from here on, as ``konsilo worker`` runs them (one per core): in this
        # process its record round (heartbeat and sequencing, every KONSILO_WORKER_INTERVAL
        # seconds) in one thread, the tasks (``close_due_votes``) in another, here the main
        # thread; the other workers' task threads run ``close_due_votes`` at the same moments
        # in processes of their own (their record rounds would find this one sequencing).
        helpers = _TaskWorkers(args.workers - 1, clock, item.pk, sending.pk)

        def record_rounds(stopped: threading.Event) -> None:
            try:
                while not stopped.is_set():
                    heartbeat("fedbench")
                    sequence_all(drain=False, audit_idle=True)
                    stopped.wait(settings.KONSILO_WORKER_INTERVAL)
            finally:
                connection.close()

        def worker_rounds(level: str, deadline: dt.datetime, stopped: threading.Event) -> int:
            helpers.start(level, deadline)
            try:
                rounds = _close_level(level, item.pk, sending.pk)
                helpers.wait()
            finally:
                stopped.set()
            # The level is done once its entries are in the record (sequenced here or by
            # the record round finishing its batch).
            unsequenced = Entry.objects.filter(index__isnull=True)
            while unsequenced.exists():
                if not sequence_all():
                    time.sleep(0.01)
            return rounds

        for level in LEVELS:
            rows = by_level.get(level)
            deadline = (
                Proposal.objects.get(pk=item.pk).closes_at
                if level == LEVELS[-1]
                else rows[0].base_proposal.closes_at
            )
            clock.move_to(deadline)
            stopped = threading.Event()
            record = threading.Thread(target=record_rounds, args=(stopped,), daemon=True)
            record.start()
            rounds = phases.run(
                f"{level}: close the votes, derive the mandates"
                if level != LEVELS[-1]
                else "congress: close the vote (the top tally)",
                lambda level=level, deadline=deadline, stopped=stopped: worker_rounds(
                    level, deadline, stopped
                ),
            )
            record.join()  # its last round, an audit of the quiet log, is not waited for
            print(f"         ({rounds} rounds of this worker; {args.workers} workers)")
        helpers.stop()
        state = phases.run(
            "member-level support (federated_item)",
            lambda: selectors.federated_item(Proposal.objects.get(pk=item.pk)),
        )
        beating.set()
    top = Proposal.objects.get(pk=item.pk)
    _, pure = run(federation, tallies, "pass_through", "bound_proportional")
    got = {k: Fraction(v) for k, v in json.loads(top.result)["rounds"][0]["tallies"].items()}
    want = dict(pure.result.rounds[0].tallies)
    members = state.members
    expect = pure.members["congress"]
    same_tally = got == want and top.outcome == pure.result.outcome
    same_members = (members.count("yes"), members.count("no"), members.voted) == (
        expect.count("yes"),
        expect.count("no"),
        expect.voted,
    )
    total = sum(t for _, t in phases.times)
    print(
        f"top tally {', '.join(f'{k} {float(v):,.3f}' for k, v in sorted(got.items()))}: "
        f"{top.outcome}; {'equal to' if same_tally else 'DIFFERENT FROM'} the pure computation"
    )
    print(
        f"member-level support {int(members.count('yes')):,} yes / {int(members.count('no')):,} "
        f"no of {members.voted:,} voting: "
        f"{'equal to' if same_members else 'DIFFERENT FROM'} the pure computation"
    )
    if phases.profiler is not None and phases.queries is not None:
        phases.profiler.dump_stats(args.profile)
        phases.queries.report()
    verdict = "PASS" if total < DB_FLOOR_S and same_tally and same_members else "FAIL"
    print(
        f"{verdict}: {total:.2f} s from the bases' deadline to the congress result with "
        f"member-level support, against the floor of {DB_FLOOR_S:.0f} s ({where.split()[0]})"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
