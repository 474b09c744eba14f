"""Members and memberships: one primary base, secondary bases, and every refusal."""

from __future__ import annotations

from konsilo.web.councils.models import Membership
from konsilo.web.ledger.models import Entry
from tests.personas import Api, Federation


def _add(api: Api, **overrides: object) -> tuple[int, dict]:
    body = {"name": "Nora Quispe", "email": "nora@example.org", "base": "press"}
    body.update(overrides)
    return api.post("/orgs/fed/members", body)


def test_a_steward_adds_a_member_with_a_secondary_base(steward_api: Api, fed: Federation) -> None:
    status, member = _add(steward_api, secondary=["dairy"])
    assert status == 201
    assert {(m["council"], m["primary"]) for m in member["memberships"]} == {
        ("press", True),
        ("dairy", False),
    }
    entry = Entry.objects.get(entry_type="member.joined", data__contains="Nora Quispe")
    assert "nora@example.org" not in entry.data  # emails never reach the public record


def test_secondary_memberships_do_not_count_in_the_census(steward_api: Api) -> None:
    _add(steward_api, secondary=["dairy"])
    census = steward_api.get("/orgs/fed/census")[1]["represented"]
    assert census["press"] == 4
    assert census["dairy"] == 4  # unchanged: Nora's primary base is the press
    assert census["congress"] == 14


def test_duplicate_email_is_a_conflict(steward_api: Api) -> None:
    status, body = _add(steward_api, email="bakery0@example.org")
    assert status == 409
    assert body["error"]["field"] == "email"


def test_member_without_a_base_is_refused(steward_api: Api) -> None:
    status, body = _add(steward_api, base="")
    assert status == 400
    assert body["error"]["field"] == "base"


def test_member_of_a_delegate_council_is_refused(steward_api: Api) -> None:
    status, body = _add(steward_api, base="north")
    assert status == 400
    assert "delegate council" in body["error"]["message"]


def test_unknown_base_council_is_not_found(steward_api: Api) -> None:
    status, body = _add(steward_api, base="atlantis")
    assert status == 404
    assert "atlantis" in body["error"]["message"]


def test_bad_email_is_refused(steward_api: Api) -> None:
    status, body = _add(steward_api, email="not-an-email")
    assert status == 400
    assert body["error"]["field"] == "email"


def test_secondary_bases_can_be_forbidden_by_policy(steward_api: Api) -> None:
    steward_api.post(
        "/orgs/fed/policy",
        {"scope": "organisation", "set": {"membership.multi_base_membership": "forbid"}},
    )
    status, body = _add(steward_api, secondary=["dairy"])
    assert status == 400
    assert "multi_base_membership" in body["error"]["message"]


def test_changing_the_primary_base_ends_the_old_one(steward_api: Api, fed: Federation) -> None:
    member_id = fed.plain_member.record_id
    status, _ = steward_api.post(f"/orgs/fed/members/{member_id}/primary", {"council": "dairy"})
    assert status == 200
    open_primary = Membership.objects.filter(
        member=fed.plain_member, primary=True, end__isnull=True
    ).get()
    assert open_primary.council.key == "dairy"
    assert Membership.objects.filter(member=fed.plain_member, council__key="bakery").get().end


def test_two_open_primary_bases_are_impossible_in_the_database(fed: Federation) -> None:
    import pytest
    from django.db import IntegrityError, transaction

    dairy = fed.org.councils.get(key="dairy")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            member=fed.plain_member, council=dairy, primary=True, start="2026-01-01"
        )


def test_a_secondary_membership_can_end_but_a_primary_cannot(
    steward_api: Api, fed: Federation
) -> None:
    member_id = fed.plain_member.record_id
    status, member = steward_api.post(
        f"/orgs/fed/members/{member_id}/memberships", {"council": "press"}
    )
    assert status == 201
    secondary = next(m for m in member["memberships"] if not m["primary"])
    primary = next(m for m in member["memberships"] if m["primary"])
    assert steward_api.post(f"/orgs/fed/memberships/{secondary['id']}/end", {})[0] == 200
    status, body = steward_api.post(f"/orgs/fed/memberships/{primary['id']}/end", {})
    assert status == 400
    assert "primary" in body["error"]["message"]


def test_member_status_must_be_known(steward_api: Api, fed: Federation) -> None:
    member_id = fed.plain_member.record_id
    status, body = steward_api.post(f"/orgs/fed/members/{member_id}/status", {"status": "vip"})
    assert status == 400
    assert body["error"]["field"] == "status"
    status, member = steward_api.post(
        f"/orgs/fed/members/{member_id}/status", {"status": "suspended"}
    )
    assert status == 200
    assert member["status"] == "suspended"


def test_one_seat_per_council_for_a_person(steward_api: Api, fed: Federation) -> None:
    status, body = steward_api.post(
        "/orgs/fed/offices",
        {
            "member": fed.delegate_member.record_id,
            "kind": "delegate",
            "council": "north",
            "delegation_from": "bakery",
        },
    )
    assert status == 409
    assert "one seat per council" in body["error"]["message"]


def test_a_delegate_must_come_from_the_delegations_base(steward_api: Api, fed: Federation) -> None:
    status, body = steward_api.post(
        "/orgs/fed/offices",
        {
            "member": fed.plain_member.record_id,
            "kind": "delegate",
            "council": "north",
            "delegation_from": "press",
        },
    )
    assert status == 400
    assert "press" in body["error"]["message"]


def test_unknown_member_id_is_not_found(steward_api: Api) -> None:
    assert steward_api.get("/orgs/fed/members/m-nonsense")[0] == 404
    assert steward_api.get("/orgs/fed/members/m-00000000000000000000000000000000")[0] == 404
