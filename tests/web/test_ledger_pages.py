"""The lookup page: an entry by index, a ballot by its receipt code, a pasted receipt."""

from __future__ import annotations

import hashlib

import pytest
from django.db import transaction
from django.test import Client

from konsilo.web.ledger import selectors
from konsilo.web.ledger.actions import append
from konsilo.web.ledger.models import Entry
from konsilo.web.ledger.sequencer import sequence
from tests.personas import Federation

CODE = "BLUE-HORSE-4711"


@pytest.fixture
def voted(fed: Federation) -> Federation:
    with transaction.atomic():
        append(
            "ballot.cast",
            {
                "item": "i-1",
                "receipt": hashlib.sha256(CODE.encode()).hexdigest(),
                "weight": "1",
                "ballot": {"choice": "yes"},
            },
            organisation=fed.org,
            unlinkable=True,
        )
        append(
            "ballot.participated", {"item": "i-1", "member": "m-1"}, organisation=fed.org,
            unlinkable=True,
        )  # fmt: skip
    sequence(fed.org)
    return fed


def _look(query: str, method: str = "post") -> tuple[int, str]:
    client = Client()
    if method == "get":
        response = client.get("/log/fed/", {"q": query})
    else:
        response = client.post("/log/fed/", {"q": query})
    return response.status_code, response.content.decode()


def test_anyone_can_look_up_an_entry_by_index(voted: Federation) -> None:
    status, html = _look("3", method="get")
    assert status == 200
    assert "Entry 3 checks out" in html
    assert "Inclusion proof" in html
    assert selectors.latest_checkpoint(voted.org).note.splitlines()[0] in html
    assert 'href="/log/fed/receipt/3.tlog-proof"' in html


def test_a_ballot_is_found_by_its_receipt_code(voted: Federation) -> None:
    status, html = _look(CODE)
    assert status == 200
    assert "Your ballot checks out" in html
    assert "&quot;choice&quot;: &quot;yes&quot;" in html


def test_an_unknown_receipt_code_says_so(voted: Federation) -> None:
    status, html = _look("RED-FISH-0000")
    assert status == 422
    assert "No ballot with this receipt code is in the signed log" in html


def test_a_pasted_receipt_checks_out(voted: Federation) -> None:
    receipt = selectors.receipt(voted.org, 5)
    status, html = _look(receipt)
    assert status == 200
    assert "Your receipt checks out: entry 5 is in the log" in html


def test_a_receipt_for_another_entry_does_not_check_out(voted: Federation) -> None:
    receipt = selectors.receipt(voted.org, 5).replace("index 5\n", "index 6\n", 1)
    status, html = _look(receipt)
    assert status == 422
    assert "Your receipt does not check out" in html


def test_a_receipt_whose_entry_was_rewritten_does_not_check_out(voted: Federation) -> None:
    receipt = selectors.receipt(voted.org, 5)
    entry = Entry.objects.get(organisation=voted.org, index=5)
    Entry.objects.filter(pk=entry.pk).update(
        body=bytes(entry.body).replace(b'"type":"', b'"type":"x')
    )
    status, html = _look(receipt)
    assert status == 422
    assert "no longer matches its last signed checkpoint" in html


def test_an_index_beyond_the_log_is_a_clear_refusal(voted: Federation) -> None:
    status, html = _look("9999")
    assert status == 422
    assert "expected an entry index below the tree size 29" in html


def test_the_record_is_in_the_navigation_and_works_without_login(voted: Federation) -> None:
    html = Client().get("/log/").content.decode()
    assert 'href="/log/"' in html
    assert "Public record" in html
    assert Client().get("/log/", {"org": "fed"})["Location"] == "/log/fed/"
    page = Client().get("/log/fed/").content.decode()
    assert "29</b> signed entries" in page
    assert selectors.verifier(voted.org).vkey in page
    assert 'name="viewport"' in page
    assert "<script" not in page
    assert Client().get("/log/nowhere/").status_code == 404
