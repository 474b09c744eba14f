"""Shared setup of the decisions tests: the Bakery's voters and an item driven to voting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from konsilo.web.councils import actions as council_actions
from konsilo.web.councils.models import Member
from konsilo.web.decisions import actions
from konsilo.web.decisions.models import Proposal
from tests.personas import Api, Federation

NOTICE = dt.timedelta(days=7)
WINDOW = dt.timedelta(hours=72)
# 09:00 UTC tomorrow: after everything the fixtures create at the real time (members and
# offices start on the day they are added), so the tests' clock only ever moves forward.
START = dt.datetime.combine(
    dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(9, 0), dt.UTC
)


def bakery_voters(fed: Federation) -> list[Any]:
    """Users for all six Bakery members: dana (delegate), mia, then four more."""
    users = [fed.delegate, fed.member]
    members = list(Member.objects.filter(memberships__council__key="bakery").order_by("email"))
    for member in members:
        if member.user_id is None:
            user = get_user_model().objects.create_user(
                member.email.split("@")[0], member.email, "pw-voter-123"
            )
            council_actions.link_user(actor=fed.steward, member=member, user=user)
            users.append(user)
    return users


def api_for(user: Any) -> Api:
    client = Client()
    client.force_login(user)
    return Api(client)


def bakery(fed: Federation) -> Any:
    return fed.org.councils.get(key="bakery")


def draft(fed: Federation, author: Any = None, **kwargs: Any) -> Proposal:
    kwargs.setdefault("title", "Buy a second oven")
    kwargs.setdefault("text", "The bakery buys a second oven before winter.")
    return actions.create_proposal(actor=author or fed.member, council=bakery(fed), **kwargs)


def to_discussion(fed: Federation, proposal: Proposal, users: list[Any]) -> Proposal:
    """Second the item with two members other than the author and put it on the agenda."""
    author_user = proposal.author.user
    seconders = [u for u in users if u != author_user][:2]
    for user in seconders:
        actions.second_proposal(actor=user, proposal=proposal)
    return actions.open_discussion(actor=author_user, proposal=proposal)


def to_voting(fed: Federation, users: list[Any], clock: Any, **kwargs: Any) -> Proposal:
    """A fresh item taken through its notice to an open vote (the clock moves on by the notice)."""
    proposal = draft(fed, **kwargs)
    to_discussion(fed, proposal, users)
    clock.shift(NOTICE)
    return actions.open_vote(actor=proposal.author.user, proposal=proposal)


def refresh(proposal: Proposal) -> Proposal:
    return Proposal.objects.get(pk=proposal.pk)
