"""A realistic demo federation: workplace cooperatives, regions and a congress.

Everything is created through the actions, so the demo is on the record like any real
organisation. The names are generated from a fixed seed: every demo is the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

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
