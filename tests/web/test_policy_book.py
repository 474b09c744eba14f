"""PolicyBook: every council's policy from one read of the versions, as resolve_policy
gives it council by council."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from konsilo.web.councils import actions, selectors
from konsilo.web.councils.models import Council
from konsilo.web.decisions import actions as decisions
from tests.personas import Federation


def _versions(fed: Federation) -> None:
    """Policies at every scope: the organisation (twice), one council, one decision type."""
    for values in ({"timing.vote_window": "P5D"}, {"timing.vote_window": "P6D"}):
        actions.set_policy(
            actor=fed.steward, organisation=fed.org, scope="organisation", set_values=values
        )
    actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="press",
        set_values={"quorum.fraction": "1/3"},
    )
    actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="decision_type",
        target="instruction",
        set_values={"timing.vote_window": "P2D"},
    )


@pytest.mark.parametrize("decision_type", [None, "instruction", "ordinary_motion"])
def test_policy_book_resolves_every_council_as_resolve_policy_does(
    fed: Federation, decision_type: str | None
) -> None:
    _versions(fed)
    councils = list(Council.objects.filter(organisation=fed.org))
    with CaptureQueriesContext(connection) as queries:
        book = selectors.PolicyBook(fed.org)
        got = {c.key: book.resolve(c, decision_type) for c in councils}
        got_none = book.resolve(None, decision_type)
    assert len(queries) == 1  # the versions, read once
    for council in councils:
        want = selectors.resolve_policy(fed.org, council=council, decision_type=decision_type)
        assert dict(got[council.key].items()) == dict(want.items()), council.key
    assert dict(got_none.items()) == dict(
        selectors.resolve_policy(fed.org, decision_type=decision_type).items()
    )
    # Councils of one level with no policy of their own share one resolved policy.
    assert got["bakery"] is got["dairy"]
    assert got["press"] is not got["bakery"]
    assert got["press"].value("quorum.fraction") != got["bakery"].value("quorum.fraction")


def test_a_proposal_keeps_the_same_policy_and_versions_from_the_book(fed: Federation) -> None:
    _versions(fed)
    book = selectors.PolicyBook(fed.org)
    for council in Council.objects.filter(organisation=fed.org):
        kept = decisions._resolved_policy(council, "instruction", book=book)
        assert kept == decisions._resolved_policy(council, "instruction"), council.key
    press = Council.objects.get(organisation=fed.org, key="press")
    values, versions = decisions._resolved_policy(press, "instruction", book=book)
    assert versions == {"organisation": 3, "council": 1, "decision_type": 1}  # and 1 at creation
    values["timing.vote_window"] = "changed"  # each proposal's own copy
    again, _ = decisions._resolved_policy(press, "instruction", book=book)
    assert again["timing.vote_window"] != "changed"
