"""The demo runs one completed federation cycle and leaves one item open in the bases."""

from __future__ import annotations

from typing import Any

import pytest

from konsilo.web.demo import load_demo
from konsilo.web.federation import selectors
from konsilo.web.federation.models import Sending


@pytest.mark.django_db(transaction=True)
def test_the_demo_completes_one_federation_cycle_and_leaves_one_item_open() -> None:
    load_demo()
    done, open_item = (s.proposal for s in Sending.objects.order_by("sent_at"))
    assert (done.phase, done.outcome) == ("closed", "adopted")
    state: Any = selectors.federated_item(done)
    assert state.members is not None
    assert (state.members.count("yes"), state.members.count("no")) == (16, 10)
    rows = {r.lower: r for r in state.delegations}
    assert rows["print-shop"].instruction.secret
    assert not rows["bakery-north"].instruction.secret
    assert all(r.mandate is not None and r.mandate["status"] == "instructed" for r in rows.values())
    assert [v.ballot["choice"] for v in rows["print-shop"].votes] == ["no"]
    assert len(rows["bakery-north"].reports) == 1
    assert open_item.phase == "voting"
    assert all(
        i.base_proposal.phase == "voting"
        for i in Sending.objects.get(proposal=open_item).instructions.all()
    )
