"""A sending cascades through every level: a congress's item reaches every base below it,
with cascading deadlines, and the mandates are composed level by level (domain-rules §3.5).

The compositions are checked on the majority-of-majorities example of §3.5, scaled down:
nine bases of five members in three regions; regions 1 and 2 each have two bases voting
3 to 2 for and one voting 0 to 5, region 3 votes 0 to 5 everywhere. 12 of 45 members
support the item.
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model

from konsilo import canonical
from konsilo import governance as gov
from konsilo.cli.main import main
from konsilo.web.councils import actions as council_actions
from konsilo.web.councils.models import Member
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions import tasks
from konsilo.web.decisions.models import Proposal
from konsilo.web.errors import InvalidInputError
from konsilo.web.federation import actions, selectors
from konsilo.web.federation.models import DelegationVote, Instruction, Sending
from konsilo.web.ledger.models import Entry
from tests.web.federation_support import refresh

# 09:00 UTC tomorrow: after everything the fixtures create at the real time (members and
# offices start on the day they are added), so the tests' clock only ever moves forward.
START = dt.datetime.combine(
    dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(9, 0), dt.UTC
)
HOUR = dt.timedelta(hours=1)
TEXT = "The federation adopts a common four-day week."


class Cascade:
    def __init__(self, org: Any, steward: Any, author: Any) -> None:
        self.org, self.steward, self.author = org, steward, author


def build(
    levels: list[str], councils: list[tuple[str, str, str | None]], sizes: dict[str, int]
) -> Cascade:
    """An organisation with ``councils`` (key, level, parent), ``sizes`` members per base,
    and an author: a member of the first base, seated as its region's delegate at the top."""
    users = get_user_model().objects
    steward = users.create_user("stella", "stella@example.org", "pw-stella-123")
    author = users.create_user("ada", "ada@example.org", "pw-ada-123")
    org = council_actions.create_organisation(
        actor=steward, slug="fed", name="Cascade Federation", levels=levels
    )
    for key, level, parent in councils:
        council_actions.add_council(
            actor=steward,
            organisation=org,
            key=key,
            name=key.title(),
            level=level,
            parents=[parent] if parent else [],
        )
    first = None
    for base, size in sizes.items():
        for n in range(size):
            member = council_actions.add_member(
                actor=steward,
                organisation=org,
                name=f"{base} member {n}",
                email=f"{base}{n}@example.org",
                base=base,
            )
            first = first or member
    assert first is not None
    council_actions.link_user(actor=steward, member=first, user=author)
    parent_of = {key: parent for key, _, parent in councils}
    top = next(key for key, _, parent in councils if parent is None)
    seat = next(iter(sizes))
    while parent_of[seat] != top:
        seat = parent_of[seat]  # type: ignore[assignment]
    council_actions.assign_office(
        actor=steward, member=first, kind="delegate", council_key=top, delegation_from=seat
    )
    fed = Cascade(org, steward, author)
    policy(fed, "council", top, {"agenda.member_item_right": "any_member"})
    return fed


def policy(fed: Cascade, scope: str, target: str, values: dict[str, Any]) -> None:
    council_actions.set_policy(
        actor=fed.steward, organisation=fed.org, scope=scope, target=target, set_values=values
    )


def top_item(fed: Cascade, top: str) -> Proposal:
    proposal = decisions.create_proposal(
        actor=fed.author,
        council=fed.org.councils.get(key=top),
        title="A four-day week",
        text=TEXT,
    )
    return decisions.open_discussion(actor=fed.author, proposal=proposal)


def item_of(sending: Sending, council: str) -> Proposal:
    return Instruction.objects.get(
        sending=sending, base_proposal__council__key=council
    ).base_proposal


def vote_base(fed: Cascade, sending: Sending, base: str, yes: int, no: int) -> None:
    item = item_of(sending, base)
    members = Member.objects.filter(memberships__council__key=base).order_by("email")
    for member, choice in zip(members, ["yes"] * yes + ["no"] * no, strict=False):
        if member.user_id is None:
            user = get_user_model().objects.create_user(
                member.email.split("@")[0], member.email, "pw-voter-123"
            )
            council_actions.link_user(actor=fed.steward, member=member, user=user)
            member.refresh_from_db()
        decisions.cast_ballot(actor=member.user, proposal=item, ballot={"choice": choice})


def entries(fed: Cascade, entry_type: str) -> list[dict[str, Any]]:
    return [
        canonical.loads(e.data)
        for e in Entry.objects.filter(organisation=fed.org, entry_type=entry_type).order_by("pk")
    ]


# -- four levels: bases two and three levels down ---------------------------------------------

FOUR_LEVELS = ["workplace", "district", "region", "congress"]
FOUR = [
    ("congress", "congress", None),
    ("north", "region", "congress"),
    ("south", "region", "congress"),
    ("harbour", "district", "north"),
    ("valley", "district", "south"),
    ("dock", "workplace", "harbour"),  # three levels down
    ("crane", "workplace", "harbour"),  # three levels down
    ("mill", "workplace", "valley"),  # three levels down
    ("farm", "workplace", "north"),  # two levels down, straight under its region
]
FOUR_SIZES = {"dock": 3, "crane": 2, "mill": 3, "farm": 2}
# Each level instructs 24 hours before the vote above opens and votes for 72 hours, so a
# base three levels down is due 3 × 24 + 2 × 72 = 216 hours before the congress opens.
OPENS = START + dt.timedelta(days=24)


def _expected_windows() -> dict[str, tuple[dt.datetime, dt.datetime]]:
    region_due = OPENS - 24 * HOUR
    district_due = region_due - 72 * HOUR - 24 * HOUR
    base_due = district_due - 72 * HOUR - 24 * HOUR
    farm_due = region_due - 72 * HOUR - 24 * HOUR
    return {
        "north": (region_due - 72 * HOUR, region_due),
        "south": (region_due - 72 * HOUR, region_due),
        "harbour": (district_due - 72 * HOUR, district_due),
        "valley": (district_due - 72 * HOUR, district_due),
        "dock": (base_due - 72 * HOUR, base_due),
        "crane": (base_due - 72 * HOUR, base_due),
        "mill": (base_due - 72 * HOUR, base_due),
        "farm": (farm_due - 72 * HOUR, farm_due),
    }


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_a_congress_sending_reaches_every_base_two_and_three_levels_down_with_cascading_deadlines(
    db: Any, clock: Any
) -> None:
    fed = build(FOUR_LEVELS, FOUR, FOUR_SIZES)
    item = top_item(fed, "congress")
    sending = actions.send_to_bases(actor=fed.author, proposal=item, opens_at=OPENS)
    digest = item.versions.get().sha256
    windows = _expected_windows()
    rows = {i.base_proposal.council.key: i for i in sending.instructions.select_related("higher")}
    assert sorted(rows) == sorted(windows)
    for council, (opens, due) in windows.items():
        row = rows[council]
        lower = row.base_proposal
        assert lower.versions.get().sha256 == digest, council
        assert (row.opens_at, lower.closes_at) == (opens, due), council
        assert row.higher.council.key == {k: p for k, _, p in FOUR}[council]
    # The councils in between vote with their delegations, open from the sending.
    for council in ("north", "south", "harbour", "valley"):
        lower = rows[council].base_proposal
        assert lower.phase == "voting"
        assert lower.census["basis"] == "delegations"
    assert sorted(rows["harbour"].base_proposal.census["weights"]) == [
        "crane->harbour",
        "dock->harbour",
    ]
    assert sorted(refresh(item).census["weights"]) == ["north->congress", "south->congress"]
    # The bases' votes open at their scheduled openings, by the periodic task.
    assert {k for k, r in rows.items() if r.base_proposal.phase == "voting"} == {
        "north",
        "south",
        "harbour",
        "valley",
    }
    clock.move_to(windows["dock"][0])
    assert tasks.open_due_votes.call() == 3  # dock, crane, mill
    assert refresh(rows["farm"].base_proposal).phase == "discussion"
    clock.move_to(windows["farm"][0])
    assert tasks.open_due_votes.call() == 1
    opened = {d["item"]: d for d in entries(fed, "vote.opened")}
    assert opened[item.record_id]["cascade"] == {
        r.key: r.base_proposal.record_id for r in rows.values()
    }
    assert opened[rows["dock"].base_proposal.record_id]["instruction_of"] == (
        rows["harbour"].base_proposal.record_id
    )


def test_refused_when_a_base_three_levels_down_would_get_less_than_its_deliberation_window(
    db: Any, clock: Any
) -> None:
    fed = build(FOUR_LEVELS, FOUR, FOUR_SIZES)
    item = top_item(fed, "congress")
    # 22 days: the bases under the districts would have 13 days, the farm 17.
    with pytest.raises(InvalidInputError) as refused:
        actions.send_to_bases(actor=fed.author, proposal=item, opens_at=OPENS - 2 * 24 * HOUR)
    message = str(refused.value)
    assert refused.value.code == "too_little_time"
    for base in ("dock", "crane", "mill"):
        assert f"{base} (workplace) would have 13 days" in message
    assert "1 day short" in message
    assert "farm" not in message
    assert "harbour" not in message
    assert refresh(item).phase == "discussion"
    assert not Instruction.objects.exists()
    assert not Sending.objects.exists()


def test_a_middle_level_mandate_waits_for_its_bases(db: Any, clock: Any) -> None:
    fed = build(FOUR_LEVELS, FOUR, FOUR_SIZES)
    policy(fed, "organisation", "", {"mandate.enforcement": "system_casts"})
    item = top_item(fed, "congress")
    sending = actions.send_to_bases(
        actor=fed.author, proposal=item, opens_at=OPENS, composition="re_deliberation"
    )
    windows = _expected_windows()
    clock.move_to(windows["dock"][0])
    tasks.open_due_votes.call()
    vote_base(fed, sending, "dock", 3, 0)
    vote_base(fed, sending, "crane", 0, 2)
    vote_base(fed, sending, "mill", 1, 2)
    harbour = Instruction.objects.get(sending=sending, key="harbour->north")
    # Past everyone's deadline at once (a worker that was down): the harbour's vote must not
    # close, nor its mandate be derived, before the dock's and the crane's mandates.
    clock.move_to(windows["harbour"][1])
    dock = Instruction.objects.get(sending=sending, key="dock->harbour")
    assert actions.derive_mandate_for(proposal_id=harbour.base_proposal_id) is None
    assert actions.inputs_pending(harbour.base_proposal_id)
    tasks.close_due_votes.call()
    dock.refresh_from_db()
    harbour.refresh_from_db()
    assert dock.derived_at is not None
    assert harbour.derived_at is not None
    assert harbour.derived_at >= dock.derived_at
    # The harbour re-deliberated on its delegations' votes: dock yes (1), crane no (1) tie.
    assert harbour.base_proposal.ballots_counted == 2
    assert (harbour.mandate["status"], harbour.mandate["reason"]) == ("no_instruction", "tie")
    order = [d["delegation"] for d in entries(fed, "mandate.derived")]
    assert order.index("harbour->north") > order.index("dock->harbour")
    assert order.index("harbour->north") > order.index("crane->harbour")


# -- the compositions across two levels -------------------------------------------------------

TWO_LEVELS = ["workplace", "region", "congress"]
REGIONS = {"r1": [(3, 2), (3, 2), (0, 5)], "r2": [(3, 2), (3, 2), (0, 5)], "r3": [(0, 5)] * 3}
NINE = [
    ("congress", "congress", None),
    *((r, "region", "congress") for r in REGIONS),
    *((f"{r}{c}", "workplace", r) for r in REGIONS for c in "abc"),
]
TWO_OPENS = START + dt.timedelta(days=20)


def _run_nine(composition: str, values: dict[str, Any]) -> tuple[Cascade, Proposal, Sending]:
    fed = build(TWO_LEVELS, NINE, {f"{r}{c}": 5 for r in REGIONS for c in "abc"})
    policy(fed, "organisation", "", {"structure.vote_weight": "represented_members", **values})
    item = top_item(fed, "congress")
    sending = actions.send_to_bases(
        actor=fed.author, proposal=item, opens_at=TWO_OPENS, composition=composition
    )
    rows = {i.base_proposal.council.key: i for i in sending.instructions.all()}
    base_rows = [r for k, r in rows.items() if len(k) == 3]
    with time_machine.travel(min(r.opens_at for r in base_rows), tick=False):
        assert tasks.open_due_votes.call() == 9
        for region, tallies in REGIONS.items():
            for c, (yes, no) in zip("abc", tallies, strict=True):
                vote_base(fed, sending, f"{region}{c}", yes, no)
    with time_machine.travel(refresh(item).closes_at, tick=False):
        for _ in range(3):
            tasks.close_due_votes.call()
    return fed, refresh(item), sending


def _tallies(item: Proposal) -> dict[str, str]:
    result = json.loads(item.result)
    return dict(result["rounds"][0]["tallies"])


def _members(item: Proposal) -> tuple[Fraction, Fraction, int, int]:
    state = selectors.federated_item(item)
    assert state is not None
    assert state.members is not None
    m = state.members
    return m.count("yes"), m.count("no"), m.voted, m.eligible


def test_re_deliberation_across_two_levels_passes_what_12_of_45_members_support(
    transactional_db: Any,
) -> None:
    fed, item, sending = _run_nine("re_deliberation", {"mandate.mode": "bound_majority"})
    # r1 and r2: 10 yes to 5 no among their bases' delegations, so each casts its 15 yes;
    # r3 casts 15 no. A majority of majorities adopts the item.
    mandates = {i.key: i.mandate for i in sending.instructions.all()}
    assert [(v["ballot"], v["weight"]) for v in mandates["r1->congress"]["votes"]] == [
        ({"choice": "yes"}, "15")
    ]
    assert [(v["ballot"], v["weight"]) for v in mandates["r3->congress"]["votes"]] == [
        ({"choice": "no"}, "15")
    ]
    assert _tallies(item) == {"abstain": "0", "no": "15", "yes": "30"}
    assert item.outcome == "adopted"
    assert _members(item) == (12, 33, 45, 45)
    state = selectors.federated_item(item)
    assert state is not None
    assert state.councils["r1"].count("yes") == 6
    assert state.councils["r3"].count("no") == 15
    _same_as_compose(fed, item, sending, "re_deliberation")


def test_pass_through_across_two_levels_counts_every_member_12_yes_to_33_no(
    transactional_db: Any,
) -> None:
    fed, item, sending = _run_nine("pass_through", {"mandate.mode": "bound_proportional"})
    mandates = {i.key: i.mandate for i in sending.instructions.all()}
    assert sorted(
        (v["ballot"]["choice"], v["weight"]) for v in mandates["r1->congress"]["votes"]
    ) == [
        ("no", "9"),
        ("yes", "6"),
    ]
    assert mandates["r1->congress"]["reason"] == "pass_through"
    assert _tallies(item) == {"abstain": "0", "no": "33", "yes": "12"}
    assert item.outcome == "rejected"
    assert _members(item) == (12, 33, 45, 45)
    _same_as_compose(fed, item, sending, "pass_through")


def test_direct_base_representation_seats_every_base_at_the_congress(
    transactional_db: Any,
) -> None:
    fed, item, sending = _run_nine("direct_base_representation", {"mandate.mode": "bound_majority"})
    keys = sorted(i.key for i in sending.instructions.all())
    assert keys == sorted(f"{r}{c}->congress" for r in REGIONS for c in "abc")
    # The regions are bypassed: no vote of theirs on the item.
    assert not Proposal.objects.filter(council__key__in=list(REGIONS), decision_type="instruction")
    assert DelegationVote.objects.filter(proposal=item).count() == 9
    # Four bases of 5 carry yes, five carry no.
    assert _tallies(item) == {"abstain": "0", "no": "25", "yes": "20"}
    assert item.outcome == "rejected"
    assert _members(item) == (12, 33, 45, 45)
    _same_as_compose(fed, item, sending, "direct_base_representation")


def _same_as_compose(fed: Cascade, item: Proposal, sending: Sending, composition: str) -> None:
    """The database's top tally is the pure core's compose on the same base votes."""
    from konsilo.web.councils import selectors as council_selectors
    from konsilo.web.federation.actions import _base_vote

    instructions = list(sending.instructions.select_related("base_proposal__council"))
    graph = council_selectors.load_graph(fed.org)
    bases = [i for i in instructions if graph.is_base(i.base_proposal.council.key)]
    composed = gov.compose(
        graph,
        top="congress",
        item=item.record_id,
        content_hash=item.versions.get().sha256,
        votes={i.base_proposal.council.key: _base_vote(i) for i in bases},
        weights={i.key: Fraction(i.weight) for i in instructions},
        represented={i.base_proposal.council.key: 5 for i in bases},
        policies={i.key: gov.MandatePolicy.from_canonical(i.policy) for i in instructions},
        composition=composition,
    )
    assert composed.result.outcome == item.outcome
    assert {k: str(v) for k, v in composed.result.rounds[0].tallies.items()} == _tallies(item)
    for i in instructions:
        assert (
            canonical.loads(canonical.dumps(composed.mandates[i.key].votes))
            == [[v["ballot"], v["weight"]] for v in i.mandate["votes"]]
            or [
                {"ballot": b, "weight": w}
                for b, w in canonical.loads(canonical.dumps(composed.mandates[i.key].votes))
            ]
            == i.mandate["votes"]
        ), i.key


# -- the record --------------------------------------------------------------------------------


@pytest.mark.parametrize("composition", ["re_deliberation", "pass_through"])
def test_an_exported_three_level_federation_verifies_every_mandate_at_every_level(
    transactional_db: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    composition: str,
) -> None:
    with time_machine.travel(START, tick=False) as clock:
        fed = build(FOUR_LEVELS, FOUR, FOUR_SIZES)
        policy(fed, "council", "dock", {"secrecy.ballot": "secret"})
        item = top_item(fed, "congress")
        sending = actions.send_to_bases(
            actor=fed.author, proposal=item, opens_at=OPENS, composition=composition
        )
        windows = _expected_windows()
        for base, (yes, no) in {
            "dock": (2, 1),
            "crane": (0, 2),
            "mill": (2, 1),
            "farm": (1, 1),
        }.items():
            clock.move_to(windows[base][0])
            tasks.open_due_votes.call()
            vote_base(fed, sending, base, yes, no)
        clock.move_to(refresh(item).closes_at)
        for _ in range(4):
            tasks.close_due_votes.call()
    assert refresh(item).phase == "closed"
    assert not Instruction.objects.filter(derived_at__isnull=True).exists()
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    # Four bases, two districts, two regions and the congress; a mandate for each of the
    # eight delegations on the way up.
    assert summary["decisions_recounted"] == 9
    assert summary["mandates_rederived"] == 8


def test_an_amendment_at_the_congress_is_postponed_and_re_sent_through_every_level(
    transactional_db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After every level instructed, the congress amends the text; the regions' delegations
    (the platform asking for them, for all 10 members) postpone the vote, and the amended
    text cascades down again, each level instructing on it, and the record verifies."""
    amended = "The federation adopts a common four-day week from next year."
    with time_machine.travel(START, tick=False) as clock:
        fed = build(FOUR_LEVELS, FOUR, FOUR_SIZES)
        item = top_item(fed, "congress")
        sending = actions.send_to_bases(
            actor=fed.author, proposal=item, opens_at=OPENS, composition="pass_through"
        )
        windows = _expected_windows()
        for base in ("dock", "crane", "mill", "farm"):
            clock.move_to(windows[base][0])
            tasks.open_due_votes.call()
            vote_base(fed, sending, base, 1, 1)
        clock.move_to(windows["north"][1])
        for _ in range(4):
            tasks.close_due_votes.call()
        clock.move_to(windows["north"][1] + HOUR)
        version = actions.amend_sent_item(actor=fed.author, proposal=item, text=amended)
        requested = {
            d["delegation"]: d["represented"] for d in entries(fed, "postponement.requested")
        }
        assert requested == {"north->congress": "7", "south->congress": "3"}
        sending.refresh_from_db()
        assert sending.round == 2
        again = {
            i.base_proposal.council.key: i
            for i in Instruction.objects.filter(sending=sending, round=2).select_related(
                "base_proposal__council"
            )
        }
        assert sorted(again) == sorted(windows)
        for council, row in again.items():
            assert row.base_proposal.versions.get().sha256 == version.sha256, council
        for council in ("north", "south", "harbour", "valley"):
            assert again[council].base_proposal.phase == "voting"  # votes of delegations
        for base in ("dock", "crane", "mill", "farm"):
            opens = again[base].opens_at
            assert opens is not None
            clock.move_to(opens)
            tasks.open_due_votes.call()
            item_two = again[base].base_proposal
            members = Member.objects.filter(memberships__council__key=base).order_by("email")
            for member in members:
                if member.user_id is None:
                    user = get_user_model().objects.create_user(
                        member.email.split("@")[0], member.email, "pw-voter-123"
                    )
                    council_actions.link_user(actor=fed.steward, member=member, user=user)
                    member.refresh_from_db()
                decisions.cast_ballot(
                    actor=member.user, proposal=item_two, ballot={"choice": "yes"}
                )
        higher = refresh(item)
        assert higher.closes_at is not None
        clock.move_to(higher.closes_at)
        for _ in range(4):
            tasks.close_due_votes.call()
    higher = refresh(item)
    assert higher.phase == "closed"
    # One vote per delegate, forwarded unchanged: north's three and south's one, all yes.
    assert _tallies(higher) == {"abstain": "0", "no": "0", "yes": "4"}
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["mandates_rederived"] == 16  # eight delegations, on each text


# -- an intermediate council carrying its previous position (§3.2) ----------------------------


def _send_and_vote(
    fed: Cascade, clock: Any, votes: dict[str, tuple[int, int]]
) -> tuple[Proposal, Sending]:
    """A congress item on TEXT sent down under re-deliberation, the bases voting ``votes``,
    run to the congress result."""
    item = top_item(fed, "congress")
    now = dt.datetime.now(dt.UTC)
    sending = actions.send_to_bases(
        actor=fed.author,
        proposal=item,
        opens_at=now + (OPENS - START),
        composition="re_deliberation",
    )
    first = min(i.opens_at for i in sending.instructions.all() if i.opens_at is not None)
    clock.move_to(first)
    tasks.open_due_votes.call()
    for base, (yes, no) in votes.items():
        instruction = Instruction.objects.get(sending=sending, base_proposal__council__key=base)
        clock.move_to(max(first, instruction.opens_at))
        tasks.open_due_votes.call()
        vote_base(fed, sending, base, yes, no)
    clock.move_to(refresh(item).closes_at)
    for _ in range(4):
        tasks.close_due_votes.call()
    assert refresh(item).phase == "closed"
    return refresh(item), sending


def test_an_intermediate_council_without_an_instruction_carries_its_previous_position(
    transactional_db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(START, tick=False) as clock:
        fed = build(FOUR_LEVELS, FOUR, FOUR_SIZES)
        policy(
            fed,
            "council",
            "harbour",
            {"mandate.no_instruction_behavior": "carry_previous_position"},
        )
        # First the dock and the crane both say yes: the harbour instructs yes.
        _, first = _send_and_vote(
            fed, clock, {"dock": (3, 0), "crane": (2, 0), "mill": (2, 1), "farm": (1, 1)}
        )
        # The same text again: the dock yes, the crane no, a tie in the harbour, which
        # carries its earlier yes to the north.
        _, again = _send_and_vote(
            fed, clock, {"dock": (3, 0), "crane": (0, 2), "mill": (2, 1), "farm": (1, 1)}
        )
    instructed = Instruction.objects.get(sending=first, key="harbour->north").mandate
    carried = Instruction.objects.get(sending=again, key="harbour->north").mandate
    assert (instructed["status"], instructed["reason"]) == ("instructed", "instructed")
    assert (carried["status"], carried["reason"]) == ("instructed", "carried")
    assert carried["flags"] == ["carried_previous_position"]
    assert carried["content_hash"] == instructed["content_hash"]
    assert [v["ballot"] for v in carried["votes"]] == [{"choice": "yes"}]
    again_north = Instruction.objects.get(sending=again, key="harbour->north").higher
    cast = DelegationVote.objects.get(proposal=again_north, key="harbour->north")
    assert (cast.ballot, cast.cast_by) == ({"choice": "yes"}, "system")
    # konsilo verify carries the same position from the record.
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["verify", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["mandates_rederived"] == 16
