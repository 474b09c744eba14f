"""Several workers close a federation's votes at once: they share the work, and every vote
is still closed once and every mandate derived once.

Twelve bases of three members send their delegations to a congress. Two workers run the
closing task at the same moment, in batches of two votes (``bulk.BATCH``), so that each takes
the batches the other is not holding. A vote or a mandate whose row another worker holds
is skipped, not waited for (PostgreSQL: SQLite has no row locks), and the cycle collector
waits until a closing run ends.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from konsilo import canonical
from konsilo.web import bulk
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions import tasks
from konsilo.web.decisions.models import Proposal
from konsilo.web.federation import actions
from konsilo.web.federation.models import DelegationVote, Instruction
from konsilo.web.ledger.models import Entry, WorkerHeartbeat
from konsilo.web.worker import enqueue_periodic_tasks, fail_abandoned_runs, heartbeat
from tests.web.test_federation_cascade import START, build, top_item, vote_base

BASES = [f"shop{n:02d}" for n in range(12)]
OPENS = START + dt.timedelta(days=16)
CLOSING = "konsilo.web.decisions.tasks.close_due_votes"
T = TypeVar("T")


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _types(org: Any, entry_type: str) -> list[dict[str, Any]]:
    return [
        canonical.loads(e.data)
        for e in Entry.objects.filter(organisation=org, entry_type=entry_type)
    ]


@pytest.mark.django_db(transaction=True)
def test_two_workers_closing_at_once_close_every_vote_and_derive_every_mandate_once(
    clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    councils = [("congress", "congress", None)] + [(b, "shop", "congress") for b in BASES]
    fed = build(["shop", "congress"], councils, dict.fromkeys(BASES, 3))
    item = top_item(fed, "congress")
    sending = actions.send_to_bases(actor=fed.author, proposal=item, opens_at=OPENS)
    rows = list(sending.instructions.select_related("base_proposal"))
    clock.move_to(min(r.opens_at for r in rows))
    assert tasks.open_due_votes.call() == len(BASES)
    # Half the bases for (3 to 0), half against (1 to 2): 18 + 6 of 36 members for.
    for n, base in enumerate(BASES):
        vote_base(fed, sending, base, *((3, 0) if n % 2 == 0 else (1, 2)))
    clock.move_to(max(r.base_proposal.closes_at for r in rows))
    monkeypatch.setattr(bulk, "BATCH", 2)

    start = threading.Barrier(2)
    closed: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            closed.append(tasks.close_due_votes.call())
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert sum(closed) == len(BASES)  # each vote closed by one worker only
    # A later run finds nothing left: every mandate was derived by one or the other.
    tasks.close_due_votes.call()
    assert not Instruction.objects.filter(sending=sending, derived_at__isnull=True).exists()

    tallies = Counter(d["item"] for d in _types(fed.org, "tally.recorded"))
    assert sorted(tallies.values()) == [1] * len(BASES)
    mandates = Counter(d["delegation"] for d in _types(fed.org, "mandate.derived"))
    assert len(mandates) == len(BASES)
    assert set(mandates.values()) == {1}
    votes = DelegationVote.objects.filter(proposal=item)
    assert votes.count() == len(BASES)
    assert Counter(v.ballot["choice"] for v in votes) == {"yes": 6, "no": 6}

    clock.move_to(Proposal.objects.get(pk=item.pk).closes_at)
    assert tasks.close_due_votes.call() == 1
    top = Proposal.objects.get(pk=item.pk)
    assert top.phase == "closed"
    # One delegation, one vote: six workplaces for, six against, and a tie fails.
    counted = canonical.loads(top.result)["rounds"][0]["tallies"]
    assert (counted, top.outcome) == ({"yes": "6", "no": "6", "abstain": "0"}, "rejected")


def _claimed_by(worker_id: str) -> None:
    """The waiting run of the closing task, claimed by ``worker_id``'s task thread."""
    DBTaskResult.objects.filter(task_path=CLOSING, status="READY").update(
        status="RUNNING", worker_ids=[worker_id]
    )


@pytest.mark.django_db(transaction=True)
def test_the_closing_task_runs_in_as_many_workers_as_are_alive(
    settings: pytest.FixtureRequest,
) -> None:
    settings.KONSILO_PERIODIC_TASKS = [CLOSING]  # type: ignore[attr-defined]
    heartbeat("w-one")
    assert enqueue_periodic_tasks() == 1
    assert enqueue_periodic_tasks() == 0  # one waits already
    _claimed_by("w-one")
    assert enqueue_periodic_tasks() == 0  # the only worker is running it
    heartbeat("w-two")
    assert enqueue_periodic_tasks() == 1  # a second worker may share the closing
    _claimed_by("w-two")
    assert enqueue_periodic_tasks() == 0  # both are running it


@pytest.mark.django_db(transaction=True)
def test_a_run_left_running_by_a_worker_that_died_does_not_hold_the_task_back(
    settings: pytest.FixtureRequest,
) -> None:
    settings.KONSILO_PERIODIC_TASKS = [CLOSING]  # type: ignore[attr-defined]
    heartbeat("w-killed")
    assert enqueue_periodic_tasks() == 1
    _claimed_by("w-killed")
    # The worker was killed mid-task: its heartbeat grows old, its run stays RUNNING.
    WorkerHeartbeat.objects.filter(worker_id="w-killed").update(
        seen_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    heartbeat("w-new")
    assert enqueue_periodic_tasks() == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_left_running_by_a_worker_that_died_is_marked_failed_saying_why(
    settings: pytest.FixtureRequest,
) -> None:
    settings.KONSILO_PERIODIC_TASKS = [CLOSING]  # type: ignore[attr-defined]
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for worker in ("w-killed", "w-alive", "w-starting"):
        heartbeat(worker)
        enqueue_periodic_tasks()
        DBTaskResult.objects.filter(task_path=CLOSING, status="READY").update(
            status="RUNNING",
            worker_ids=[worker],
            started_at=long_ago if worker != "w-starting" else timezone.now(),
        )
    # w-killed stopped reporting; w-starting has just claimed its run and not yet reported.
    WorkerHeartbeat.objects.filter(worker_id__in=["w-killed", "w-starting"]).update(
        seen_at=long_ago
    )
    assert fail_abandoned_runs() == 1
    failed = DBTaskResult.objects.get(status="FAILED")
    assert failed.worker_ids == ["w-killed"]
    assert failed.exception_class_path == "konsilo.web.worker.WorkerStopped"
    assert f"the worker w-killed running {CLOSING} stopped reporting" in failed.traceback
    assert failed.finished_at is not None
    running = DBTaskResult.objects.filter(status="RUNNING").values_list("worker_ids", flat=True)
    assert sorted(ids[0] for ids in running) == ["w-alive", "w-starting"]
    assert fail_abandoned_runs() == 0  # once


def _due_bases(clock: Any, count: int) -> tuple[Any, Any, list[int]]:
    """``count`` bases that voted (3 to 0) on an item sent from the congress, past their
    deadline: the federation, the sending and the bases' instruction votes."""
    bases = BASES[:count]
    councils = [("congress", "congress", None)] + [(b, "shop", "congress") for b in bases]
    fed = build(["shop", "congress"], councils, dict.fromkeys(bases, 3))
    sending = actions.send_to_bases(
        actor=fed.author, proposal=top_item(fed, "congress"), opens_at=OPENS
    )
    rows = list(sending.instructions.select_related("base_proposal").order_by("pk"))
    clock.move_to(min(r.opens_at for r in rows))
    tasks.open_due_votes.call()
    for base in bases:
        vote_base(fed, sending, base, 3, 0)
    clock.move_to(max(r.base_proposal.closes_at for r in rows))
    return fed, sending, [r.base_proposal_id for r in rows]


def _while_held(model: Any, pk: int, call: Callable[[], T]) -> tuple[T, float]:
    """Run ``call`` while another transaction holds the row of ``model`` ``pk`` locked, as
    another worker closing or deriving it does; returns what it returned and the seconds it
    took. The holder's connection is closed before this returns (the test database is
    dropped after the test)."""
    holding, released = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                model.objects.select_for_update().get(pk=pk)
                holding.set()
                released.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        start = time.monotonic()
        result = call()
        return result, time.monotonic() - start
    finally:
        released.set()
        holder.join(timeout=30)


def _row_locks_or_skip() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks: one transaction writes at a time")


@pytest.mark.django_db(transaction=True)
def test_a_vote_another_worker_holds_is_skipped_not_waited_for(clock: Any) -> None:
    _row_locks_or_skip()
    _, _, votes = _due_bases(clock, 3)
    closed, waited = _while_held(
        Proposal, votes[0], lambda: decisions.close_open_votes(proposal_ids=votes)
    )
    assert sorted(p.pk for p in closed) == sorted(votes[1:])
    assert waited < 20  # it did not wait for the other worker's transaction
    assert Proposal.objects.get(pk=votes[0]).phase == "voting"  # left for its holder


@pytest.mark.django_db(transaction=True)
def test_a_mandate_another_worker_is_deriving_is_skipped_not_waited_for(clock: Any) -> None:
    _row_locks_or_skip()
    _, sending, votes = _due_bases(clock, 3)
    decisions.close_open_votes(proposal_ids=votes)
    held = Instruction.objects.get(sending=sending, base_proposal_id=votes[0])
    derived, waited = _while_held(
        Instruction, held.pk, lambda: actions.derive_mandates(proposal_ids=votes)
    )
    assert sorted(i.base_proposal_id for i in derived) == sorted(votes[1:])
    assert waited < 20
    assert Instruction.objects.get(pk=held.pk).derived_at is None  # left for its holder


@pytest.mark.django_db(transaction=True)
def test_the_cycle_collector_waits_until_the_closing_run_ends(
    clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _due_bases(clock, 2)
    seen: list[bool] = []
    derive = actions.derive_due_mandates

    def derive_and_look(**kwargs: Any) -> int:
        seen.append(gc.isenabled())  # between the closes and the derivation of mandates
        return derive(**kwargs)

    monkeypatch.setattr(actions, "derive_due_mandates", derive_and_look)
    assert gc.isenabled()
    assert tasks.close_due_votes.call() == 2
    assert seen
    assert not any(seen)
    assert gc.isenabled()  # and resumes after
