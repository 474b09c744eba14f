"""Benchmark: ballots cast through the HTTP API by 50 concurrent clients, on PostgreSQL.

Builds an organisation with one base council and ``--members`` members, each linked to a
login with an API token (through konsilo's actions: member import, ``link_user``), opens a
yes/no/abstain vote (and, unless ``--no-secret``, a secret one in the same council), starts
``konsilo serve`` as a real process and lets ``--clients`` HTTP clients (threads, one
keep-alive connection each, ``Authorization: Bearer``) cast every member's ballot with
``POST /api/v1/proposals/{id}/ballot``; ``--changes`` of the members then change theirs with
``PUT`` (a secret ballot by its receipt). Timed from the first request to the last
acknowledged answer.

Beside it, in the same run and on the same database, ``pgbench`` measures PostgreSQL's own
rate of single-row INSERTs in autocommit from as many clients (a scratch table, dropped
after): the ceiling of one durable write per request on this machine.

The votes are then closed the way they always are: at their deadline (``--window`` after
opening) by the worker that ``konsilo serve`` runs. The check, through the database: every
acknowledged ballot (a 2xx answer) is counted exactly once, as its member's last acknowledged
choice: the tally's totals per choice, the tally's ballot count, the stored ballot rows (and a
secret vote's participations) equal what the clients were told, and nothing else is stored.

    python3 bench/cast_ballots.py                    # 2,000 members, 50 clients
    python3 bench/cast_ballots.py --quick            # 500 members
    python3 bench/cast_ballots.py --members 5000 --no-secret --window 300
    python3 bench/cast_ballots.py --pg-url postgres://postgres@127.0.0.1:5432/castbench

Exits 1 if the exactly-once check fails. The organisation stays in the database (its record
is append-only); the data directory (the record's signing key) is a temporary one, removed.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/castbench"
CHOICES = ("yes", "no", "abstain")


# -- setup through konsilo's actions ----------------------------------------------------------


def setup_django(pg_url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = pg_url
    os.environ["KONSILO_DATA_DIR"] = str(data_dir)
    os.environ["KONSILO_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT / "src"))
    from konsilo.cli.main import migrate, setup_django

    setup_django()
    migrate()


def build_organisation(members: int, window: int) -> tuple[Any, Any, list[tuple[Any, str]]]:
    """The organisation, its council, and (member, token) for every member."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from konsilo.web.accounts.models import ApiToken
    from konsilo.web.councils import actions, member_import
    from konsilo.web.councils.models import Member

    slug = f"cast-{secrets.token_hex(4)}"
    org = actions.create_organisation(actor=None, slug=slug, name="Ballot Bench", levels=["base"])
    council = actions.add_council(
        actor=None, organisation=org, key="works", name="The Works", level="base"
    )
    actions.set_policy(
        actor=None,
        organisation=org,
        scope="organisation",
        set_values={
            "agenda.member_item_right": "any_member",
            "agenda.min_notice": "PT0S",
            "timing.vote_window": f"PT{window}S",
        },
        reason="benchmark: votes open at once and close after the window",
    )
    rows = "".join(f"Member {i},m{i:06d}@{slug}.example,works\n" for i in range(members))
    data = ("name,email,base\n" + rows).encode("utf-8")
    report = member_import.import_members(
        actor=None, organisation=org, stream=io.BytesIO(data), size=len(data)
    )
    if report.errors:
        raise SystemExit(f"member import refused the file: {report.errors[:3]}")
    user_model = get_user_model()
    unusable = make_password(None)
    users = user_model.objects.bulk_create(
        [user_model(username=f"{slug}-{i}", password=unusable) for i in range(members)],
        batch_size=2000,
    )
    by_email = {m.email: m for m in Member.objects.filter(organisation=org)}
    out = []
    with transaction.atomic():
        tokens = [ApiToken.issue(user=u, name="ballot bench")[1] for u in users]
    for i, (user, token) in enumerate(zip(users, tokens, strict=True)):
        member = actions.link_user(
            actor=None, member=by_email[f"m{i:06d}@{slug}.example"], user=user
        )
        out.append((member, token))
    return org, council, out


def open_votes(council: Any, author: Any, secret: bool) -> list[Any]:
    """A yes/no/abstain vote, and a secret one if asked, open now."""
    from konsilo.web.councils import actions as council_actions
    from konsilo.web.decisions import actions

    def one(title: str) -> Any:
        proposal = actions.create_proposal(
            actor=author, council=council, title=title, text=f"{title}: the works decides."
        )
        actions.open_discussion(actor=author, proposal=proposal)
        return actions.open_vote(actor=author, proposal=proposal)

    opened = [one("Open ballot")]
    if secret:
        council_actions.set_policy(
            actor=None,
            organisation=council.organisation,
            scope="council",
            target=council.key,
            set_values={"secrecy.ballot": "secret"},
            reason="benchmark: the second item is voted by secret ballot",
        )
        opened.append(one("Secret ballot"))
        assert opened[-1].secret
    return opened


# -- pgbench ----------------------------------------------------------------------------------


def pgbench_inserts(pg_url: str, clients: int, seconds: int) -> float:
    """Single-row INSERTs per second (autocommit) by ``clients`` pgbench clients."""
    from django.db import connection

    table = f"bench_cast_insert_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, member bigint NOT NULL,"
            " content jsonb NOT NULL, cast_at timestamptz NOT NULL DEFAULT now())"
        )
    script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)  # noqa: SIM115
    try:
        with script:
            script.write(
                "\\set m random(1, 1000000)\n"
                f'INSERT INTO {table} (member, content) VALUES (:m, \'{{"choice": "yes"}}\');\n'
            )
        run = subprocess.run(
            [
                "pgbench",
                "-n",
                "-f",
                script.name,
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                pg_url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(script.name)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"pgbench failed: {run.stderr.strip() or run.stdout.strip()}")
    return float(found.group(1))


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src")
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "konsilo.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--threads",
                str(threads),
                "--no-migrate",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until_answering(server: subprocess.Popen[bytes], port: int, token: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"konsilo serve exited with status {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/orgs", headers={"Authorization": f"Bearer {token}"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("konsilo serve did not answer within 60 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- the clients ------------------------------------------------------------------------------


@dataclass
class Op:
    item: int  # index into the opened votes
    member: int  # index into the members
    choice: str
    change: bool


@dataclass
class Outcome:
    """What the clients were told. ``final[item][member]`` is the last acknowledged choice."""

    final: list[dict[int, str]]
    receipts: list[dict[int, str]]
    unknown: list[set[int]]
    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: int = 0
    requests: int = 0
    started: float = 0.0
    ended: float = 0.0
    last_ack: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def plan(members: int, items: int, clients: int, changes: float, seed: int) -> list[list[Op]]:
    """Each client's requests: first ballots for its members on every item, and a change a
    few requests later for ``changes`` of them (to another choice)."""
    rng = random.Random(seed)
    plans: list[list[Op]] = [[] for _ in range(clients)]
    for c in range(clients):
        ops = plans[c]
        later: list[tuple[int, Op]] = []
        for m in range(c, members, clients):
            for item in range(items):
                choice = rng.choice(CHOICES)
                ops.append(Op(item, m, choice, change=False))
                if rng.random() < changes:
                    other = rng.choice([x for x in CHOICES if x != choice])
                    later.append((len(ops) + rng.randrange(3, 12), Op(item, m, other, True)))
            due = [op for at, op in later if at <= len(ops)]
            later = [(at, op) for at, op in later if at > len(ops)]
            ops.extend(due)
        ops.extend(op for _, op in later)
    return plans


def run_clients(
    port: int, pids: list[str], tokens: list[str], plans: list[list[Op]], out: Outcome
) -> None:
    barrier = threading.Barrier(len(plans) + 1)

    def client(ops: list[Op]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        for op in ops:
            body: dict[str, Any] = {"ballot": {"choice": op.choice}}
            if op.change:
                receipt = out.receipts[op.item].get(op.member)
                if op.member not in out.final[op.item]:
                    continue  # its first ballot was refused: nothing to change
                if receipt:
                    body["receipt"] = receipt
            headers = {
                "Authorization": f"Bearer {tokens[op.member]}",
                "Content-Type": "application/json",
            }
            method = "PUT" if op.change else "POST"
            try:
                conn.request(
                    method, f"/api/v1/proposals/{pids[op.item]}/ballot", json.dumps(body), headers
                )
                response = conn.getresponse()
                status, answer = response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                with out.lock:
                    out.requests += 1
                    out.statuses[f"{method} {type(exc).__name__}"] += 1
                    out.unknown[op.item].add(op.member)
                continue
            with out.lock:
                out.requests += 1
                out.statuses[f"{method} {status}"] += 1
                if 200 <= status < 300:
                    out.acknowledged += 1
                    out.last_ack = time.perf_counter()
                    out.final[op.item][op.member] = op.choice
                    if not op.change:
                        receipt = json.loads(answer).get("receipt")
                        if receipt:
                            out.receipts[op.item][op.member] = receipt
        conn.close()

    threads = [threading.Thread(target=client, args=(ops,)) for ops in plans]
    for t in threads:
        t.start()
    barrier.wait()
    out.started = time.perf_counter()
    for t in threads:
        t.join()
    out.ended = time.perf_counter()


# -- closing and the exactly-once check -------------------------------------------------------


def wait_closed(proposals: list[Any], timeout: float) -> list[Any]:
    from konsilo.web.decisions.models import Proposal

    deadline = time.monotonic() + timeout
    while True:
        fresh = [Proposal.objects.get(pk=p.pk) for p in proposals]
        if all(p.phase == Proposal.Phase.CLOSED for p in fresh):
            return fresh
        if time.monotonic() > deadline:
            phases = ", ".join(f"{p.record_id}: {p.phase}" for p in fresh)
            raise SystemExit(f"the worker did not close the votes in time ({phases})")
        time.sleep(0.5)


def check_counted_once(
    proposal: Any,
    members: list[Any],
    final: dict[int, str],
    receipts: dict[int, str],
    unknown: set[int],
) -> list[str]:
    """What is wrong with the count of this vote (nothing: it is right)."""
    from konsilo.web.decisions.actions import receipt_hash
    from konsilo.web.decisions.models import Ballot, Participation, SecretBallot

    problems = []
    uncertain = unknown - set(final)
    expected = Counter(final.values())
    result = json.loads(proposal.result)
    tallies = {k: Fraction(v) for k, v in result["rounds"][0]["tallies"].items()}
    counted = sum(tallies.values(), Fraction(0))
    if uncertain:
        problems.append(f"{len(uncertain)} ballots had no answer (their outcome is unknown)")
    problems.extend(
        f"tally {choice}: {tallies.get(choice)} != acknowledged {expected[choice]}"
        for choice in CHOICES
        if tallies.get(choice, Fraction(0)) != expected[choice]
    )
    if counted != len(final) or proposal.ballots_counted != len(final):
        problems.append(
            f"tally total {counted}, ballots counted {proposal.ballots_counted},"
            f" acknowledged members {len(final)}"
        )
    if proposal.secret:
        stored = {
            digest: content["choice"]
            for digest, content in SecretBallot.objects.filter(proposal=proposal).values_list(
                "receipt_sha256", "content"
            )
        }
        voted = set(
            Participation.objects.filter(proposal=proposal).values_list("member_id", flat=True)
        )
        wanted = {receipt_hash(receipts[m]): c for m, c in final.items()}
        if stored != wanted:
            problems.append(
                f"secret ballots stored {len(stored)}, acknowledged {len(wanted)},"
                f" differing {len(set(stored.items()) ^ set(wanted.items()))}"
            )
        if voted != {members[m].pk for m in final}:
            problems.append(f"participations {len(voted)} != acknowledged members {len(final)}")
    else:
        stored = {
            member_id: content["choice"]
            for member_id, content in Ballot.objects.filter(proposal=proposal).values_list(
                "member_id", "content"
            )
        }
        wanted = {members[m].pk: c for m, c in final.items()}
        if stored != wanted:
            problems.append(
                f"ballot rows {len(stored)}, acknowledged members {len(wanted)},"
                f" differing {len(set(stored.items()) ^ set(wanted.items()))}"
            )
    return problems


# -- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG, help=f"default: {DEFAULT_PG}")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--changes", type=float, default=0.1, help="share that re-cast")
    parser.add_argument("--no-secret", action="store_true", help="only the open vote")
    parser.add_argument("--window", type=int, default=None, help="vote window, seconds")
    parser.add_argument("--server-threads", type=int, default=8, help="konsilo serve --threads")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="500 members, a short run")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.members, args.pgbench_seconds = min(args.members, 500), 5
    items = 1 if args.no_secret else 2
    # Long enough for the casting at 25 ballots per second (one `konsilo serve` process on
    # two busy cores does 30 to 40); the votes close then, and the check waits for that.
    window = args.window or max(30, round(args.members * items * (1 + args.changes) / 25))

    work = Path(tempfile.mkdtemp(prefix="konsilo-cast-"))
    server = None
    try:
        setup_django(args.pg_url, work / "data")
        t0 = time.perf_counter()
        org, council, voters = build_organisation(args.members, window)
        members = [m for m, _ in voters]
        tokens = [t for _, t in voters]
        print(
            f"organisation {org.slug}: {args.members:,} members with API tokens,"
            f" set up in {time.perf_counter() - t0:.1f} s"
        )
        pg_tps = pgbench_inserts(args.pg_url, args.clients, args.pgbench_seconds)
        print(f"pgbench: {pg_tps:,.0f} single-row inserts/s ({args.clients} clients)")

        port = free_port()
        server = start_server(port, args.server_threads, work / "serve.log")
        wait_until_answering(server, port, tokens[0])
        from django.contrib.auth import get_user_model

        author = get_user_model().objects.get(pk=members[0].user_id)
        proposals = open_votes(council, author, secret=not args.no_secret)
        plans = plan(args.members, items, args.clients, args.changes, args.seed)
        out = Outcome(
            final=[{} for _ in proposals],
            receipts=[{} for _ in proposals],
            unknown=[set() for _ in proposals],
        )
        print(
            f"casting: {args.clients} clients, {sum(map(len, plans)):,} requests on"
            f" {len(proposals)} vote(s) closing in {window} s, konsilo serve"
            f" --threads {args.server_threads}"
        )
        run_clients(port, [p.record_id for p in proposals], tokens, plans, out)
        # To the last acknowledged answer: refusals once the vote has closed are not timed.
        seconds = (out.last_ack or out.ended) - out.started
        closes = max(p.closes_at for p in proposals).timestamp()
        closed = wait_closed(proposals, timeout=max(0.0, closes - time.time()) + 120)
        problems = {
            p.record_id: check_counted_once(
                p, members, out.final[i], out.receipts[i], out.unknown[i]
            )
            for i, p in enumerate(closed)
        }
    finally:
        if server is not None:
            stop_server(server)
            log = (work / "serve.log").read_text(errors="replace")
            if "Traceback" in log:
                print("konsilo serve logged errors:\n" + log[-3000:])
        shutil.rmtree(work, ignore_errors=True)

    rate = out.acknowledged / seconds
    ok = not any(problems.values())
    print()
    rows = [
        ("clients", f"{args.clients}"),
        ("members", f"{args.members:,}"),
        ("votes", ", ".join(("secret " if p.secret else "open ") + p.record_id for p in closed)),
        ("requests", f"{out.requests:,}"),
        ("answers", ", ".join(f"{k}: {v:,}" for k, v in sorted(out.statuses.items()))),
        ("ballots acknowledged", f"{out.acknowledged:,} (first ballots and changes)"),
        ("seconds", f"{seconds:.1f} (first request to last acknowledged answer)"),
        ("konsilo ballots/s", f"{rate:,.0f}"),
        ("pgbench single-row inserts/s", f"{pg_tps:,.0f}"),
        ("ratio konsilo / pgbench", f"{rate / pg_tps:.3f} (1 in {pg_tps / rate:,.0f})"),
    ]
    for p in closed:
        final = out.final[[q.pk for q in closed].index(p.pk)]
        rows.append(
            (
                f"counted {p.record_id}",
                f"{p.ballots_counted:,} ballots of {len(final):,} members acknowledged,"
                f" outcome {p.outcome}",
            )
        )
    rows.append(("counted exactly once", "PASS" if ok else "FAIL"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for pid, found in problems.items():
        for problem in found:
            print(f"  {pid}: {problem}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
