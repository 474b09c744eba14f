"""A realistic demo federation: workplace cooperatives, regions and a congress.

Everything is created through the actions, so the demo is on the record like any real
organisation. The names are generated from a fixed seed: every demo is the same.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from konsilo import governance as gov
from konsilo.web.councils import actions, selectors
from konsilo.web.councils.models import Member, Organisation

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
    """Create the demo federation unless it exists; return it and the demo logins."""
    existing = Organisation.objects.filter(slug=SLUG).first()
    if existing is not None:
        return DemoInfo(existing, False, PASSWORDS)
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
    _assign_delegates(organisation, steward, members, skip={plain_member.pk, steward_member.pk})
    _federation_cycle(organisation, users, members)
    return DemoInfo(organisation, True, PASSWORDS)


def _assign_delegates(
    organisation: Organisation, steward: object, members: dict[str, list[Member]], skip: set[int]
) -> None:
    tree = selectors.council_tree(organisation)
    for region, (_, workplaces) in REGIONS.items():
        region_pool: list[Member] = []
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

# The completed cycle runs while the demo loads, so for it (and only for it) the policy gives
# the Northern Region and the instruction votes windows of seconds; the demo then sets the
# normal windows back, all as policy versions on the record.
_FAST = {
    "agenda.base_deliberation_window": "PT1S",
    "mandate.instruction_deadline": "PT0S",
    "timing.vote_window": "PT1S",
}
# The bases' instruction votes: open for ten seconds, so that every ballot is cast in time.
_FAST_INSTRUCTION = {**_FAST, "timing.vote_window": "PT10S"}
# Instruction votes in the bases: (yes, no, abstain) of the members who vote.
_INSTRUCTIONS = {"bakery-north": (9, 3, 1), "print-shop": (3, 5, 0), "bike-works": (4, 2, 0)}


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


def _wait_until(moment: dt.datetime) -> None:
    delay = (moment - timezone.now()).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _federation_cycle(
    organisation: Organisation, users: dict[str, object], members: dict[str, list[Member]]
) -> None:
    """The Northern Region sends an item to its three workplaces and the cycle completes
    (open and secret instruction votes, mandates cast, the region's result with member-level
    support and a minority report); a second item is left open in the bases for voting."""
    from konsilo.web.decisions import actions as decisions  # noqa: PLC0415
    from konsilo.web.decisions import tasks  # noqa: PLC0415
    from konsilo.web.decisions.models import Proposal  # noqa: PLC0415
    from konsilo.web.federation import actions as federation  # noqa: PLC0415
    from konsilo.web.federation.models import Instruction  # noqa: PLC0415

    steward, delegate = users["steward"], users["delegate"]
    policy = {
        "scope": "decision_type",
        "target": "instruction",
    }
    actions.set_policy(
        actor=steward,  # type: ignore[arg-type]
        organisation=organisation,
        **policy,
        set_values=_FAST_INSTRUCTION,
        reason="demo: instruction votes of seconds, so that a cycle completes as it loads",
    )
    actions.set_policy(
        actor=steward,  # type: ignore[arg-type]
        organisation=organisation,
        scope="council",
        target="north",
        set_values={**_FAST, "agenda.member_item_right": "any_member"},
        reason="demo: a regional vote of seconds; any delegate may put an item on the agenda",
    )
    actions.set_policy(
        actor=steward,  # type: ignore[arg-type]
        organisation=organisation,
        scope="council",
        target="print-shop",
        set_values={"secrecy.ballot": "secret"},
        reason="the print shop votes by secret ballot",
    )
    north = organisation.councils.get(key="north")
    item = decisions.create_proposal(
        actor=delegate,  # type: ignore[arg-type]
        council=north,
        title="A shared delivery van for the Northern Region",
        text="The Northern Region buys one electric delivery van, shared by its workplaces "
        "on a rota, and pays for it from the regional fund.",
    )
    decisions.open_discussion(actor=delegate, proposal=item)  # type: ignore[arg-type]
    voters = {
        key: _voters(steward, members[key], sum(tally)) for key, tally in _INSTRUCTIONS.items()
    }
    sending = federation.send_to_bases(
        actor=delegate,  # type: ignore[arg-type]
        proposal=item,
        opens_at=timezone.now() + dt.timedelta(seconds=11),
    )
    # The bases' votes open at their scheduled opening (a second from now), by the task.
    _wait_until(max(i.opens_at for i in sending.instructions.all() if i.opens_at is not None))
    tasks.open_due_votes.call()
    dissenter = None
    for key, (yes, no, abstain) in _INSTRUCTIONS.items():
        base = Instruction.objects.get(
            sending=sending, delegation__from_council__key=key
        ).base_proposal
        choices = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
        for user, choice in zip(voters[key], choices, strict=True):
            decisions.cast_ballot(actor=user, proposal=base, ballot={"choice": choice})  # type: ignore[arg-type]
        if key == "bakery-north":
            dissenter = (voters[key][yes], base)
    higher = Proposal.objects.get(pk=item.pk)
    assert higher.voting_opened_at is not None
    assert higher.closes_at is not None
    _wait_until(higher.voting_opened_at)
    for _ in range(3):  # secret ballots reach the record first, their tally in the next run
        tasks.close_due_votes.call()
        if not Instruction.objects.filter(sending=sending, derived_at__isnull=True).exists():
            break
    assert dissenter is not None
    decisions.file_minority_report(
        actor=dissenter[0],  # type: ignore[arg-type]
        proposal=dissenter[1],
        text="A van for three workplaces will sit idle most days; a cargo bike per workplace "
        "would serve us better and cost less.",
    )
    _wait_until(higher.closes_at)
    tasks.close_due_votes.call()
    # Normal windows again, and a second item left open for voting in the bases.
    for scope, target, names in (
        ("decision_type", "instruction", list(_FAST)),
        ("council", "north", list(_FAST)),
    ):
        actions.set_policy(
            actor=steward,  # type: ignore[arg-type]
            organisation=organisation,
            scope=scope,
            target=target,
            unset=names,
            reason="demo: the normal windows again",
        )
    # A base's instruction vote opens one vote window before its deadline; the demo's stay
    # open through the whole deliberation window, so that the second item can be voted on.
    actions.set_policy(
        actor=steward,  # type: ignore[arg-type]
        organisation=organisation,
        scope="decision_type",
        target="instruction",
        set_values={"timing.vote_window": "P14D"},
        reason="demo: instruction votes open for the whole deliberation window",
    )
    second = decisions.create_proposal(
        actor=delegate,  # type: ignore[arg-type]
        council=north,
        title="A four-day week across the Northern Region",
        text="Every workplace of the Northern Region moves to a four-day week at full pay "
        "from the next season.",
    )
    decisions.open_discussion(actor=delegate, proposal=second)  # type: ignore[arg-type]
    timing = gov.TimingPolicy.from_policy(
        selectors.resolve_policy(organisation, council=north, decision_type="instruction")
    )
    federation.send_to_bases(
        actor=delegate,  # type: ignore[arg-type]
        proposal=second,
        opens_at=timezone.now()
        + max(timing.deliberation_window, timing.vote_window)
        + timing.instruction_deadline
        + dt.timedelta(seconds=2),
    )
    _wait_until(timezone.now() + dt.timedelta(seconds=2))
    tasks.open_due_votes.call()
