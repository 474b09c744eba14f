"""update_rows: many rows' own values in one statement, on both databases; in_batches: a
failing batch falls back to its items one by one."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import pytest

from konsilo.web.bulk import in_batches, update_rows
from konsilo.web.decisions.models import Proposal
from tests.personas import Federation
from tests.web.decisions_support import draft


def test_update_rows_stores_each_rows_own_values_of_every_field_type(fed: Federation) -> None:
    first, second, untouched = (draft(fed, title=f"Item {n}") for n in range(3))
    when = dt.datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
    first.phase, first.closed_at, first.dots = "closed", when, 7
    first.rule = {"options": ["a", "b"], "nested": {"x": [1, None, "ü"]}}
    first.secret, first.withdrawn_reason = True, 'it\'s "quoted"; DROP TABLE x; --'
    second.phase, second.closed_at, second.dots, second.rule = "withdrawn", None, None, {}
    second.secret, second.withdrawn_reason = False, ""
    fields = ["phase", "closed_at", "dots", "rule", "secret", "withdrawn_reason"]

    assert update_rows([first, second], fields, batch_size=1) == 2

    stored = {p.pk: p for p in Proposal.objects.filter(pk__in=[first.pk, second.pk, untouched.pk])}
    for obj in (first, second):
        row = stored[obj.pk]
        assert [getattr(row, f) for f in fields] == [getattr(obj, f) for f in fields]
    assert stored[untouched.pk].phase == untouched.phase
    assert stored[untouched.pk].title == "Item 2"


def test_update_rows_refuses_unsaved_rows_and_key_fields(fed: Federation) -> None:
    saved = draft(fed)
    with pytest.raises(ValueError, match="saved rows"):
        update_rows([saved, Proposal(title="new")], ["title"])
    with pytest.raises(ValueError, match="non-key fields"):
        update_rows([saved], ["id"])
    assert update_rows([], ["title"]) == 0


def test_gc_paused_holds_off_the_collector_and_always_resumes_it() -> None:
    import gc

    from konsilo.web.bulk import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the outer pause resumes it
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a failed batch")
    assert gc.isenabled()

    @gc_paused()
    def batch() -> bool:
        return gc.isenabled()

    assert batch() is False
    assert gc.isenabled()


def test_in_batches_runs_a_failing_batch_again_item_by_item(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batches: list[list[int]] = []
    steps: list[int] = []

    def batch(chunk: Sequence[int]) -> list[int]:
        batches.append(list(chunk))
        if 5 in chunk:
            raise RuntimeError("one broken item")
        return list(chunk)

    def step(item: int) -> int | None:
        steps.append(item)
        if item == 5:
            raise RuntimeError("the broken item")
        return None if item == 6 else item  # 6: nothing left to do

    with caplog.at_level(logging.ERROR, logger="konsilo.web.bulk"):
        done = in_batches(list(range(10)), batch, step, "could not do %s", what="do", size=4)
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert steps == [4, 5, 6, 7]  # the failed batch, after the others
    assert done == 4 + 2 + 2  # two good batches, then 4 and 7 of the failed one
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["could not do 4..7 together", "could not do 5"]


def test_insert_rows_stores_new_rows_as_bulk_create_does(fed: Federation) -> None:
    from konsilo.web.bulk import insert_rows
    from konsilo.web.councils.models import Member
    from konsilo.web.decisions.models import VoterRoll

    items = [draft(fed, title=f"Item {n}") for n in range(2)]
    members = list(Member.objects.filter(organisation=fed.org).order_by("pk")[:3])
    rolls = [
        VoterRoll(proposal=p, member=m, weight=f"{n}/3")
        for p in items
        for n, m in enumerate(members, start=1)
    ]
    insert_rows(rolls)
    stored = list(
        VoterRoll.objects.filter(proposal__in=items)
        .order_by("pk")
        .values_list("proposal_id", "member_id", "weight")
    )
    assert stored == [(r.proposal_id, r.member_id, r.weight) for r in rolls]
    insert_rows([])  # nothing to do
    saved = VoterRoll.objects.filter(proposal__in=items).first()
    assert saved is not None
    with pytest.raises(ValueError, match="new rows only"):
        insert_rows([saved])


def test_insert_rows_stores_json_and_times(fed: Federation) -> None:
    from konsilo.web.bulk import insert_rows
    from konsilo.web.councils.models import Delegation
    from konsilo.web.federation.models import DelegationVote

    item = draft(fed)
    delegation = Delegation.objects.filter(organisation=fed.org).order_by("pk").first()
    assert delegation is not None
    when = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
    ballots = [{"choice": "yes"}, {"choice": "no", "note": "é \\ \t"}, {"ranking": ["a", "b"]}]
    insert_rows(
        [
            DelegationVote(
                proposal=item,
                delegation=delegation,
                key=f"k{n}",
                ballot=ballot,
                ballot_key=str(n),
                weight="7/2",
                cast_by="system",
                cast_at=when,
            )
            for n, ballot in enumerate(ballots)
        ]
    )
    stored = list(DelegationVote.objects.filter(proposal=item).order_by("pk"))
    assert [v.ballot for v in stored] == ballots
    assert {v.cast_at for v in stored} == {when}
    assert [v.key for v in stored] == ["k0", "k1", "k2"]


def test_among_selects_the_rows_of_the_ids_given(fed: Federation) -> None:
    from konsilo.web.bulk import among

    items = [draft(fed, title=f"Item {n}") for n in range(3)]
    wanted = [items[0].pk, items[2].pk, 10**12]  # one id of no row
    found = set(Proposal.objects.filter(among("pk", wanted)).values_list("pk", flat=True))
    assert found == {items[0].pk, items[2].pk}
    assert not Proposal.objects.filter(among("pk", [])).exists()
