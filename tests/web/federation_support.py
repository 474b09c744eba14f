"""Shared setup of the federation tests: the North region sends an item to its bases.

North's delegations come from the Bakery (6 members, delegate dana) and the Press (3
members). North takes any member's item on its agenda, so the delegate drafts it there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model

from konsilo import canonical
from konsilo.web.councils import actions as council_actions
from konsilo.web.councils.models import Member
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions.models import Proposal
from konsilo.web.federation import actions
from konsilo.web.federation.models import Instruction, Sending
from konsilo.web.ledger.models import Entry
from tests.personas import Federation

# 09:00 UTC tomorrow: after everything the fixtures create at the real time (members and
# offices start on the day they are added), so the tests' clock only ever moves forward.
START = dt.datetime.combine(
    dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(9, 0), dt.UTC
)
# Bases need 14 days to deliberate and instruct 24 hours before the higher vote opens.
OPENS = START + dt.timedelta(days=16)
DEADLINE = OPENS - dt.timedelta(hours=24)
# The bases' instruction votes open one vote window (72 hours) before their deadline.
BASES_OPEN = DEADLINE - dt.timedelta(hours=72)
HIGHER_CLOSES = OPENS + dt.timedelta(hours=72)
TEXT = "The region funds a shared delivery van for its bases."


def users_of(base: str, fed: Federation) -> list[Any]:
    """A logged-in user for every member of ``base`` (linked on first use), by email."""
    out = []
    for member in Member.objects.filter(memberships__council__key=base).order_by("email"):
        if member.user_id is None:
            user = get_user_model().objects.create_user(
                member.email.split("@")[0], member.email, "pw-voter-123"
            )
            council_actions.link_user(actor=fed.steward, member=member, user=user)
            member.refresh_from_db()
        out.append(member.user)
    return out


def set_policy(fed: Federation, scope: str, target: str, values: dict[str, Any]) -> None:
    council_actions.set_policy(
        actor=fed.steward, organisation=fed.org, scope=scope, target=target, set_values=values
    )


def north_item(fed: Federation, **kwargs: Any) -> Proposal:
    """A yes/no item of the North region, on its agenda (in discussion)."""
    set_policy(fed, "council", "north", {"agenda.member_item_right": "any_member"})
    kwargs.setdefault("title", "A shared delivery van")
    kwargs.setdefault("text", TEXT)
    proposal = decisions.create_proposal(
        actor=fed.delegate, council=fed.org.councils.get(key="north"), **kwargs
    )
    return decisions.open_discussion(actor=fed.delegate, proposal=proposal)


def send(fed: Federation, proposal: Proposal, **kwargs: Any) -> Sending:
    kwargs.setdefault("opens_at", OPENS)
    return actions.send_to_bases(actor=fed.delegate, proposal=proposal, **kwargs)


def open_bases(clock: Any, at: dt.datetime = BASES_OPEN) -> int:
    """Move the clock to the bases' scheduled opening and run the periodic opening task."""
    from konsilo.web.decisions import tasks

    clock.move_to(at)
    opened: int = tasks.open_due_votes.call()
    return opened


def instruction_item(sending: Sending, base: str) -> Proposal:
    return Instruction.objects.get(
        sending=sending, delegation__from_council__key=base, listed__isnull=True
    ).base_proposal


def vote(proposal: Proposal, users: list[Any], choices: list[str]) -> list[str | None]:
    """Cast one yes/no/abstain ballot per user; returns the receipts (secret votes)."""
    return [
        decisions.cast_ballot(actor=user, proposal=proposal, ballot={"choice": choice})
        for user, choice in zip(users, choices, strict=False)
    ]


def refresh(proposal: Proposal) -> Proposal:
    return Proposal.objects.get(pk=proposal.pk)


def entries(fed: Federation, entry_type: str) -> list[dict[str, Any]]:
    """The data of every record entry of one type, in the order written."""
    return [
        canonical.loads(e.data)
        for e in Entry.objects.filter(organisation=fed.org, entry_type=entry_type).order_by("pk")
    ]
