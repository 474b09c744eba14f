"""Background work of decisions, run by ``konsilo worker`` (django-tasks, database queue).

``close_due_votes`` is listed in ``KONSILO_PERIODIC_TASKS``, so the worker enqueues it every
few seconds; it is safe to run any number of times, at once or in a row. Each run first
opens the instruction votes whose scheduled opening has come and settles the votes on
amended texts that have opened (``open_due_votes``, also a task of its own), then closes the
votes past their deadline.
"""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from konsilo.web.bulk import each, gc_paused, in_batches
from konsilo.web.decisions import actions
from konsilo.web.decisions.models import Proposal


def _open_due() -> int:
    from konsilo.web.federation import actions as federation  # noqa: PLC0415

    opened = federation.open_due_instruction_votes()
    # A sent item whose text was amended outside the mandates goes ahead when it opens.
    federation.settle_due_amendments()
    return opened


@task()
def open_due_votes() -> int:
    """Open every base's instruction vote whose scheduled opening has come (a sent item's
    cascading schedule, ``schedule.cascade_deadlines``), and settle the votes on amended
    texts that have opened (``settle_amended_vote``); each in its own transaction.
    Idempotent. Returns how many instruction votes this run opened."""
    return _open_due()


def _close(ready: list[tuple[int, bool]], closed_now: dict[int, actions.ClosedVote]) -> int:
    """Close these due votes (id, whether it closes alone): open-ballot ones in batches (a
    federation's bases share their deadline), secret ones and lot-drawing counts each alone.
    A batch that fails is closed again vote by vote, so one broken item never stops the
    others. ``closed_now`` receives the votes closed in batches."""
    closed = in_batches(
        [pk for pk, secret in ready if not secret],
        lambda chunk: actions.close_open_votes(proposal_ids=chunk, closed=closed_now),
        lambda pk: actions.close_vote(proposal_id=pk),
        "could not close the vote of proposal %s",
        what="close votes",
    )
    return closed + each(
        [pk for pk, secret in ready if secret],
        lambda pk: actions.close_vote(proposal_id=pk),
        "could not close the vote of proposal %s",
    )


@task()
def close_due_votes() -> int:
    """Close every vote whose deadline has passed: open-ballot votes in transactions of up to
    `konsilo.web.bulk.BATCH`, secret votes each in its own.

    Idempotent: a vote closed already (by an earlier run, or a concurrent worker holding its
    row lock first) is skipped. A vote whose ballots still wait for their place in the record
    is closed by a later run (see ``actions.close_vote``). A vote that cannot be counted is
    logged and left open, so one broken item never stops the others. Returns how many votes
    this run closed.

    A vote in which delegations vote from the councils below (a sent item, or an
    intermediate council's instruction vote) closes only once every one of their mandates is
    derived: the mandates are derived level by level, lower councils first.
    """
    # The collector waits until the run ends: the votes closed are kept for the mandates'
    # derivation, and a collection after each batch would walk all of them again.
    with gc_paused():
        return _close_due()


def _close_due() -> int:
    from konsilo.web.federation import actions as federation  # noqa: PLC0415

    _open_due()
    due = list(
        Proposal.objects.filter(
            phase=Proposal.Phase.VOTING,
            alternative_to__isnull=True,
            closes_at__lte=timezone.now(),
        )
        .order_by("closes_at", "pk")
        .values_list("pk", "secret", "method")
    )
    # A secret vote, and a count that may draw lots, closes on its own (`close_vote`).
    due = [(pk, secret or method in actions.LOT_METHODS) for pk, secret, method in due]
    closed = 0
    derived = False
    # The votes closed, as their closes left them, for the mandates' derivation.
    closed_now: dict[int, actions.ClosedVote] = {}
    # In waves: a council's vote whose delegations' mandates wait for the votes below (all
    # past their deadlines at once, after a worker was down) closes in the wave after theirs.
    while due:
        waiting = federation.inputs_pending_of([pk for pk, _ in due])
        ready = [(pk, secret) for pk, secret in due if pk not in waiting]
        if not ready:
            if derived:
                break  # a later run closes them, once the mandates below are derived
            federation.derive_due_mandates()  # votes below closed by an earlier run
            derived = True
            continue
        closed += _close(ready, closed_now)
        # Each closed instruction vote becomes its delegation's mandate (in a later
        # transaction, once the tally has its place in the record; a later run retries).
        federation.derive_due_mandates(closed=closed_now)
        derived = True
        due = [(pk, secret) for pk, secret in due if pk in waiting]
    if not derived:
        federation.derive_due_mandates()
    return closed
