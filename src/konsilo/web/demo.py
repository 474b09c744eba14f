"""A realistic demo federation: workplace cooperatives, regions and a congress.

Everything is created through the actions, so the demo is on the record like any real
organisation. The names are generated from a fixed seed: every demo is the same.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from konsilo import governance as gov
from konsilo.web.councils import actions, selectors
from konsilo.web.councils.models import Council, Member, Organisation
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions import tasks
from konsilo.web.decisions.models import Proposal
from konsilo.web.federation import actions as federation
from konsilo.web.federation.models import Instruction

SLUG = "demo"
PASSWORDS = {
    "steward": "konsilo-steward",
    "delegate": "konsilo-delegate",
    "member": "konsilo-member",
}

REGIONS = {
    "north": ("Northern Region", ["bakery-north", "print-shop", "bike-works"]),
    "coast": ("Coastal Region", ["fishers-coop", "harbour-cafe", "boatyard"]),
    "valley": ("Valley Region", ["dairy-coop", "orchard", "sawmill"]),
    "city": ("City Region", ["software-coop", "care-home", "bookshop"]),
}
WORKPLACES = {
    "bakery-north": ("North Bakery Cooperative", 21),
    "print-shop": ("Red Press Print Shop", 14),
    "bike-works": ("Bike Works", 9),
    "fishers-coop": ("Fishers' Cooperative", 38),
    "harbour-cafe": ("Harbour Café", 11),
    "boatyard": ("Boatyard Collective", 17),
    "dairy-coop": ("Valley Dairy", 33),
    "orchard": ("Orchard Growers", 26),
    "sawmill": ("Sawmill Workers", 19),
    "software-coop": ("Software Cooperative", 44),
    "care-home": ("Care Home Staff Council", 52),
    "bookshop": ("Bookshop Collective", 12),
}
FIRST = [
    "Ana",
    "Amaru",
    "Bea",
    "Chidi",
    "Dara",
    "Elif",
    "Emeka",
    "Farah",
    "Gus",
    "Hana",
    "Ines",
    "Iker",
    "Jun",
    "Kofi",
    "Lale",
    "Lena",
    "Luz",
    "Mara",
    "Mehmet",
    "Mira",
    "Nadia",
    "Noor",
    "Olu",
    "Oren",
    "Pau",
    "Quynh",
    "Rafa",
    "Rosa",
    "Sami",
    "Sara",
    "Tariq",
    "Teo",
    "Uma",
    "Vera",
    "Wen",
    "Xoan",
    "Yara",
    "Zeynep",
    "Zoe",
    "Aitor",
    "Berta",
    "Ciro",
    "Delia",
    "Ebru",
    "Femi",
    "Greta",
    "Hugo",
    "Irene",
    "Jara",
    "Karim",
]
LAST = [
    "Abadi",
    "Aguirre",
    "Bianchi",
    "Costa",
    "Dimitrov",
    "Etxeberria",
    "Fontaine",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kaya",
    "Larsen",
    "Mendes",
    "Novak",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Santos",
    "Tanaka",
    "Urquhart",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zapata",
    "Moreau",
    "Nkosi",
    "Ortega",
    "Silva",
    "Dubois",
    "Horvat",
    "Lindqvist",
    "Mwangi",
]


@dataclass
class DemoInfo:
    organisation: Organisation
    created: bool
    logins: dict[str, str]


def _names(count: int) -> list[str]:
    rng = random.Random(1871)  # noqa: S311 (demo names, not security)
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def load_demo() -> DemoInfo:
    """Create the demo federation unless it exists; return it and the demo logins.

    The federation's history (its founding, a completed cycle from the congress to every
    workplace) is dated in the weeks before the demo loads, with the councils' normal
    windows: see `_Clock`. The second congress item is sent an hour before, and its
    workplaces' votes are open when the demo has loaded.
    """
    existing = Organisation.objects.filter(slug=SLUG).first()
    if existing is not None:
        return DemoInfo(existing, False, PASSWORDS)
    with _Clock(behind=HISTORY) as clock:
        return _load(clock)


# How long before it loads the demo federation was founded: longer than its completed cycle
# takes with the councils' normal windows (about four weeks).
HISTORY = dt.timedelta(days=42)
# When, before the demo loads, the second congress item is sent to the councils below.
SECOND_ITEM_SENT = dt.timedelta(hours=1)


class _Clock:
    """The demo's own clock: the real one, set back by ``behind``.

    A federation waits for a deliberation, a vote window or an instruction deadline; the
    demo, recording its history in seconds, moves this clock on to the moment instead
    (`wait_until`). Its ballots are cast with days to spare however slow the machine, and its
    record reads as a federation's weeks do. While the demo loads, Django's clock
    (``django.utils.timezone.now``, which konsilo and Django's own ``auto_now`` read) is this
    one; the demo loads in a process of its own, before the server or the worker start, and
    the real clock is back when it returns. The clock never runs ahead of the real one:
    a wait past the real time is refused.
    """

    def __init__(self, behind: dt.timedelta) -> None:
        self.behind = behind
        self._real: Callable[[], dt.datetime] = timezone.now

    def now(self) -> dt.datetime:
        return self._real() - self.behind

    def wait_until(self, moment: dt.datetime) -> None:
        ahead = moment - self.now()
        if ahead <= dt.timedelta(0):
            return
        if ahead > self.behind:
            raise RuntimeError(
                f"the demo's history would run past the real time by {ahead - self.behind}"
            )
        self.behind -= ahead

    def __enter__(self) -> _Clock:
        timezone.now = self.now  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        timezone.now = self._real  # type: ignore[assignment]


def _load(clock: _Clock) -> DemoInfo:
    user_model = get_user_model()
    with transaction.atomic():
        users = {}
        for role, password in PASSWORDS.items():
            user = user_model.objects.create_user(
                username=role, email=f"{role}@demo.konsilo.example", password=password
            )
            users[role] = user
    organisation = actions.create_organisation(
        actor=users["steward"],
        slug=SLUG,
        name="Federation of Workplace Cooperatives (demo)",
        levels=["workplace", "region", "congress"],
        preset="council_communist",
        timezone_name="Europe/Madrid",
    )
    steward = users["steward"]
    actions.add_council(
        actor=steward,
        organisation=organisation,
        key="congress",
        name="Congress",
        level="congress",
    )
    for key, (name, workplaces) in REGIONS.items():
        actions.add_council(
            actor=steward,
            organisation=organisation,
            key=key,
            name=name,
            level="region",
            parents=["congress"],
        )
        for workplace in workplaces:
            actions.add_council(
                actor=steward,
                organisation=organisation,
                key=workplace,
                name=WORKPLACES[workplace][0],
                level="workplace",
                parents=[key],
            )
    # Seats apportioned by represented members: 7 per regional council, 16 at the congress.
    actions.set_policy(
        actor=steward,
        organisation=organisation,
        scope="organisation",
        set_values={"structure.delegation_seats": "apportioned(7, sainte_lague)"},
        reason="regional councils: 7 seats shared among workplaces by membership",
    )
    actions.set_policy(
        actor=steward,
        organisation=organisation,
        scope="council",
        target="congress",
        set_values={"structure.delegation_seats": "apportioned(16, sainte_lague)"},
        reason="the congress: 16 seats shared among the regions by membership",
    )
    total = sum(size for _, size in WORKPLACES.values())
    names = iter(_names(total))
    members: dict[str, list[Member]] = {}
    workplace_keys = list(WORKPLACES)
    for index, (key, (_, size)) in enumerate(WORKPLACES.items()):
        members[key] = []
        for n in range(size):
            name = next(names)
            email = name.lower().replace(" ", ".").replace("'", "") + f".{index}{n}@demo.example"
            # A few people also belong to a second workplace's council.
            secondary = [workplace_keys[(index + 1) % len(workplace_keys)]] if n == 3 else []
            members[key].append(
                actions.add_member(
                    actor=steward,
                    organisation=organisation,
                    name=name,
                    email=email,
                    base=key,
                    secondary=secondary,
                )
            )
    # The three demo logins are members too.
    delegate_member = members["bakery-north"][0]
    plain_member = members["bakery-north"][1]
    actions.link_user(actor=steward, member=delegate_member, user=users["delegate"])
    actions.link_user(actor=steward, member=plain_member, user=users["member"])
    steward_member = members["print-shop"][0]
    actions.link_user(actor=steward, member=steward_member, user=users["steward"])
    # The demo delegate sits for the North Bakery in the Northern Region, and for the region
    # at the congress, where they put the federation-wide items on the agenda.
    _assign_delegates(
        organisation,
        steward,
        members,
        skip={plain_member.pk, steward_member.pk},
        congress={"north": delegate_member},
    )
    _federation_cycle(organisation, users, members, clock=clock)
    return DemoInfo(organisation, True, PASSWORDS)


def _assign_delegates(
    organisation: Organisation,
    steward: object,
    members: dict[str, list[Member]],
    skip: set[int],
    congress: dict[str, Member],
) -> None:
    tree = selectors.council_tree(organisation)
    for region, (_, workplaces) in REGIONS.items():
        region_pool: list[Member] = [congress[region]] if region in congress else []
        for workplace in workplaces:
            seats = next(
                v.seats
                for v in tree.nodes[workplace].delegations_up
                if v.delegation.to_council.key == region
            )
            candidates = [m for m in members[workplace] if m.pk not in skip]
            for member in candidates[:seats]:
                actions.assign_office(
                    actor=steward,  # type: ignore[arg-type]
                    member=member,
                    kind="delegate",
                    council_key=region,
                    delegation_from=workplace,
                )
            region_pool.extend(candidates[seats : seats + 4])
        seats = next(
            v.seats
            for v in tree.nodes[region].delegations_up
            if v.delegation.to_council.key == "congress"
        )
        for member in region_pool[:seats]:
            actions.assign_office(
                actor=steward,  # type: ignore[arg-type]
                member=member,
                kind="delegate",
                council_key="congress",
                delegation_from=region,
            )


# -- one federation-wide cycle ----------------------------------------------------------------

# Workplaces voting by secret ballot.
_SECRET = ("print-shop", "dairy-coop", "care-home")
# The workplaces' instruction votes: (yes, no, abstain) of the members who vote, over half
# of each workplace (its quorum). Eight workplaces in four regions say yes, and so does the
# congress, 7 delegations to 5; the members' own ballots are closer: 86 to 64.
_INSTRUCTIONS = {
    "bakery-north": (9, 3, 1),
    "print-shop": (3, 5, 0),
    "bike-works": (4, 2, 0),
    "fishers-coop": (12, 7, 1),
    "harbour-cafe": (2, 4, 1),
    "boatyard": (6, 3, 0),
    "dairy-coop": (7, 9, 1),
    "orchard": (8, 5, 1),
    "sawmill": (3, 6, 1),
    "software-coop": (15, 6, 2),
    "care-home": (12, 13, 2),
    "bookshop": (5, 1, 1),
}
# The member who files the minority report: the first "no" voter of the North Bakery.
_DISSENT = "bakery-north"


def _voters(steward: object, members: list[Member], count: int) -> list[object]:
    """Users for the first ``count`` members (no password: they only vote in the demo)."""
    user_model = get_user_model()
    out = []
    for member in members[:count]:
        if member.user_id is None:
            user = user_model.objects.create_user(username=f"demo-{member.public_id.hex[:12]}")
            actions.link_user(actor=steward, member=member, user=user)  # type: ignore[arg-type]
            member.refresh_from_db()
        out.append(member.user)
    return out


def _close_until(clock: _Clock, done: Callable[[], bool], moment: dt.datetime) -> None:
    """At ``moment``, run the closing task (as the worker does every few seconds) until
    ``done``: secret ballots take their place in the record before their tally, a tally
    before the mandate derived from it, each in a later run when the record is busy."""
    clock.wait_until(moment)
    for _ in range(20):
        tasks.close_due_votes.call()
        if done():
            return
        clock.wait_until(clock.now() + dt.timedelta(seconds=5))
    raise RuntimeError("the demo's federation cycle did not complete")  # pragma: no cover


def _policy(
    steward: object, organisation: Organisation, scope: str, target: str, **kw: Any
) -> None:
    actions.set_policy(
        actor=steward,  # type: ignore[arg-type]
        organisation=organisation,
        scope=scope,
        target=target,
        **kw,
    )


def _top_vote_opens(organisation: Organisation, regions: list[str]) -> dt.datetime:
    """When a congress item sent now may open its vote: once the workplaces have deliberated
    and voted, and the regions' delegations after them, each council by its own windows."""

    def timing(key: str) -> gov.TimingPolicy:
        council = organisation.councils.get(key=key)
        return gov.TimingPolicy.from_policy(
            selectors.resolve_policy(organisation, council=council, decision_type="instruction")
        )

    base, region = timing(next(iter(WORKPLACES))), timing(regions[0])
    return (
        timezone.now()
        + _MARGIN
        + max(base.deliberation_window, base.vote_window)
        + base.instruction_deadline
        + region.vote_window
        + region.instruction_deadline
    )


# Time for the sending itself, before the councils' deliberation windows begin.
_MARGIN = dt.timedelta(minutes=1)


def _federation_cycle(
    organisation: Organisation,
    users: dict[str, object],
    members: dict[str, list[Member]],
    *,
    clock: _Clock,
) -> None:
    """The congress sends an item to every council below it and the cycle completes (open
    and secret instruction votes in every workplace, mandates derived and cast at every level,
    the congress result with member-level support and a minority report), with the councils'
    normal windows; a second item is left open for voting in every workplace."""
    steward, delegate = users["steward"], users["delegate"]
    regions = list(REGIONS)
    _policy(
        steward,
        organisation,
        "council",
        "congress",
        set_values={"agenda.member_item_right": "any_member"},
        reason="any delegate may put an item on the congress's agenda",
    )
    for key in _SECRET:
        _policy(
            steward,
            organisation,
            "council",
            key,
            set_values={"secrecy.ballot": "secret"},
            reason=f"{WORKPLACES[key][0]} votes by secret ballot",
        )
    congress = organisation.councils.get(key="congress")
    item = decisions.create_proposal(
        actor=delegate,  # type: ignore[arg-type]
        council=congress,
        title="A federation-wide solidarity fund",
        text="Every cooperative of the federation pays one per cent of its yearly surplus "
        "into a shared solidarity fund, which lends to member cooperatives in difficulty "
        "without interest.",
    )
    decisions.open_discussion(actor=delegate, proposal=item)  # type: ignore[arg-type]
    voters = {
        key: _voters(steward, members[key], sum(tally)) for key, tally in _INSTRUCTIONS.items()
    }
    sending = federation.send_to_bases(
        actor=delegate,  # type: ignore[arg-type]
        proposal=item,
        opens_at=_top_vote_opens(organisation, regions),
    )
    instructions = {
        i.base_proposal.council.key: i
        for i in sending.instructions.select_related("base_proposal__council")
    }
    bases = [instructions[key] for key in _INSTRUCTIONS]
    clock.wait_until(max(i.opens_at for i in bases if i.opens_at is not None))
    tasks.open_due_votes.call()
    votes = {key: Proposal.objects.get(pk=instructions[key].base_proposal_id) for key in voters}
    dissenter = None
    for key, (yes, no, abstain) in _INSTRUCTIONS.items():
        choices = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
        for user, choice in zip(voters[key], choices, strict=True):
            decisions.cast_ballot(actor=user, proposal=votes[key], ballot={"choice": choice})  # type: ignore[arg-type]
        if key == _DISSENT:
            dissenter = (voters[key][yes], votes[key])
    pending = Instruction.objects.filter(sending=sending, derived_at__isnull=True)
    # The workplaces' mandates, cast by the platform in the regions' votes ...
    deadline = max(v.closes_at for v in votes.values() if v.closes_at is not None)
    _close_until(
        clock,
        lambda: not pending.filter(base_proposal__council__key__in=list(_INSTRUCTIONS)).exists(),
        deadline,
    )
    assert dissenter is not None
    decisions.file_minority_report(
        actor=dissenter[0],  # type: ignore[arg-type]
        proposal=dissenter[1],
        text="A fund fed from surpluses asks most of the cooperatives that are doing well "
        "this year and gives the bakery no say in who borrows; we would rather each region "
        "keeps its own fund.",
    )
    # ... then the regions' mandates, passing their workplaces' tallies up to the congress,
    # and the congress's result.
    north = Proposal.objects.get(pk=instructions["north"].base_proposal_id)
    assert north.closes_at is not None
    _close_until(clock, lambda: not pending.exists(), north.closes_at)
    higher = Proposal.objects.get(pk=item.pk)
    assert higher.closes_at is not None
    _close_until(
        clock,
        lambda: Proposal.objects.filter(pk=item.pk, phase=Proposal.Phase.CLOSED).exists(),
        higher.closes_at,
    )
    _open_item(organisation, steward, delegate, congress, regions, clock=clock)


def _open_item(
    organisation: Organisation,
    steward: object,
    delegate: object,
    congress: Council,
    regions: list[str],
    *,
    clock: _Clock,
) -> None:
    """A second congress item, sent an hour before the demo has loaded and open for voting
    in every workplace: their instruction votes stay open through the whole deliberation
    window."""
    clock.wait_until(clock.now() + clock.behind - SECOND_ITEM_SENT)
    _policy(
        steward,
        organisation,
        "decision_type",
        "instruction",
        set_values={"timing.vote_window": "P14D"},
        reason="instruction votes open for the whole deliberation window",
    )
    second = decisions.create_proposal(
        actor=delegate,  # type: ignore[arg-type]
        council=congress,
        title="A four-day week across the federation",
        text="Every cooperative of the federation moves to a four-day week at full pay from "
        "the next season.",
    )
    decisions.open_discussion(actor=delegate, proposal=second)  # type: ignore[arg-type]
    # The workplaces' votes open once the sending is done and stay open until their deadline.
    sending = federation.send_to_bases(
        actor=delegate,  # type: ignore[arg-type]
        proposal=second,
        opens_at=_top_vote_opens(organisation, regions),
    )
    clock.wait_until(min(i.opens_at for i in sending.instructions.all() if i.opens_at is not None))
    tasks.open_due_votes.call()
