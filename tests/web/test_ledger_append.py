"""Nothing changes off the record: every action appends in its own transaction."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models.functions import Coalesce

from konsilo import canonical
from konsilo.web.councils import actions
from konsilo.web.errors import KonsiloError
from konsilo.web.ledger.actions import LedgerError, append
from konsilo.web.ledger.models import Entry
from tests.personas import Federation


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused() -> None:
    org = actions.create_organisation(actor=None, slug="solo", name="Solo", levels=["base"])
    with pytest.raises(LedgerError):
        append("test.entry", {"a": 1}, organisation=org)


def test_floats_never_reach_the_record(fed: Federation) -> None:
    with pytest.raises(canonical.CanonicalError), transaction.atomic():
        append("test.entry", {"share": 0.5}, organisation=fed.org)


def test_an_oversized_entry_is_refused(fed: Federation) -> None:
    with pytest.raises(LedgerError, match="store_text"), transaction.atomic():
        append("test.entry", {"text": "x" * 70_000}, organisation=fed.org)


def test_entries_are_canonical_json(fed: Federation) -> None:
    for entry in Entry.objects.filter(organisation=fed.org):
        assert canonical.dumps_str(canonical.loads(entry.data)) == entry.data


def test_a_refused_action_leaves_neither_change_nor_entry(fed: Federation) -> None:
    before = Entry.objects.count()
    with pytest.raises(KonsiloError):
        actions.add_council(
            actor=fed.steward,
            organisation=fed.org,
            key="loop",
            name="Loop",
            level="region",
            parents=["bakery"],
        )
    assert Entry.objects.count() == before
    assert not fed.org.councils.filter(key="loop").exists()


def test_the_federation_is_on_the_record(fed: Federation) -> None:
    types = list(
        Entry.objects.filter(organisation=fed.org)
        .order_by("pk")
        .values_list("entry_type", flat=True)
    )
    assert types[0] == "organisation.created"
    assert types.count("council.created") == 6
    assert types.count("delegation.created") == 5
    assert types.count("member.joined") == 13
    assert types.count("office.assigned") == 1


def test_collected_entries_are_written_in_the_order_appended(fed: Federation) -> None:
    from konsilo.web.ledger.actions import collected

    before = Entry.objects.filter(organisation=fed.org).count()
    with transaction.atomic(), collected():
        append("test.first", {"n": 1}, organisation=fed.org)
        append("test.second", {"n": 2}, organisation=fed.org)
        # An unlinkable entry writes those kept before it first, and keeps its place.
        append("test.secret", {"n": 3}, organisation=fed.org, unlinkable=True)
        append("test.third", {"n": 4}, organisation=fed.org)
        assert Entry.objects.filter(organisation=fed.org).count() == before + 3
    rows = Entry.objects.filter(organisation=fed.org).order_by("pk")
    assert rows.count() == before + 4
    written = (
        Entry.objects.filter(organisation=fed.org, index__isnull=True)
        .annotate(w=Coalesce("position", "id"))
        .order_by("w")
        .values_list("entry_type", flat=True)
    )
    assert list(written)[-4:] == ["test.first", "test.second", "test.secret", "test.third"]


def test_collected_entries_of_a_failed_action_are_never_written(fed: Federation) -> None:
    from konsilo.web.ledger.actions import collected

    def failing_action() -> None:
        with transaction.atomic(), collected():
            append("test.lost", {"n": 1}, organisation=fed.org)
            raise RuntimeError("the action failed")

    before = Entry.objects.filter(organisation=fed.org).count()
    with pytest.raises(RuntimeError):
        failing_action()
    assert Entry.objects.filter(organisation=fed.org).count() == before
