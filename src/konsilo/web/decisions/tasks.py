"""Background work of decisions, run by ``konsilo worker`` (django-tasks, database queue).

``close_due_votes`` is listed in ``KONSILO_PERIODIC_TASKS``, so the worker enqueues it every
few seconds; it is safe to run any number of times, at once or in a row. Each run first
opens the instruction votes whose scheduled opening has come and settles the votes on
amended texts that have opened (``open_due_votes``, also a task of its own), then closes the
votes past their deadline.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task

from konsilo.web.decisions import actions
from konsilo.web.decisions.models import Proposal

log = logging.getLogger(__name__)


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


@task()
def close_due_votes() -> int:
    """Close every vote whose deadline has passed; each close is its own transaction.

    Idempotent: a vote closed already (by an earlier run, or a concurrent worker holding its
    row lock first) is skipped. A vote whose ballots still wait for their place in the record
    is closed by a later run (see ``actions.close_vote``). A vote that cannot be counted is
    logged and left open, so one broken item never stops the others. Returns how many votes
    this run closed.

    A vote in which delegations vote from the councils below (a sent item, or an
    intermediate council's instruction vote) closes only once every one of their mandates is
    derived: the mandates are derived level by level, lower councils first.
    """
    from konsilo.web.federation import actions as federation  # noqa: PLC0415

    _open_due()
    due = Proposal.objects.filter(
        phase=Proposal.Phase.VOTING,
        alternative_to__isnull=True,
        closes_at__lte=timezone.now(),
    ).order_by("closes_at", "pk")
    closed = 0
    for proposal_id in due.values_list("pk", flat=True):
        if federation.inputs_pending(proposal_id):
            federation.derive_due_mandates()
            if federation.inputs_pending(proposal_id):
                continue  # a later run closes it, once the mandates below are derived
        try:
            if actions.close_vote(proposal_id=proposal_id) is not None:
                closed += 1
        except Exception:  # one vote's failure must not stop the others
            log.exception("could not close the vote of proposal %s", proposal_id)
    # Each closed instruction vote becomes its delegation's mandate (in its own transaction,
    # once the tally has its place in the record; a later run retries the others).
    federation.derive_due_mandates()
    return closed
