"""Councils and delegations through the API: the graph's rules, refusals and seats."""

from __future__ import annotations

from konsilo.web.ledger.models import Entry
from tests.personas import Api, Federation


def test_a_steward_adds_a_base_council_under_a_region(steward_api: Api, fed: Federation) -> None:
    status, council = steward_api.post(
        "/orgs/fed/councils",
        {"key": "mill", "name": "Mill", "level": "workplace", "parents": ["south"]},
    )
    assert status == 201
    assert council["parents"] == ["south"]
    assert council["is_base"] is True
    assert Entry.objects.filter(
        organisation=fed.org, entry_type="council.created", council="mill"
    ).exists()
    assert Entry.objects.filter(
        organisation=fed.org, entry_type="delegation.created", council="south"
    ).exists()


def test_unknown_parent_council_is_refused(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/councils",
        {"key": "mill", "name": "Mill", "level": "workplace", "parents": ["atlantis"]},
    )
    assert status in (400, 404)
    assert "atlantis" in body["error"]["message"]


def test_unknown_level_is_refused_with_the_field(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/councils", {"key": "mill", "name": "Mill", "level": "galaxy"}
    )
    assert status == 400
    assert "galaxy" in body["error"]["message"]
    assert body["error"]["field"]


def test_level_order_violation_is_refused(steward_api: Api, fed: Federation) -> None:
    status, body = steward_api.post(
        "/orgs/fed/councils",
        {"key": "upside", "name": "Upside", "level": "region", "parents": ["bakery"]},
    )
    assert status == 400
    assert "bakery" in body["error"]["message"]
    assert not fed.org.councils.filter(key="upside").exists()


def test_a_second_parent_is_refused_in_a_tree(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/delegations", {"from_council": "bakery", "to_council": "south"}
    )
    assert status == 400
    assert "tree" in body["error"]["message"] or "parent" in body["error"]["message"]


def test_duplicate_council_key_is_a_conflict_or_refusal(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/councils",
        {"key": "bakery", "name": "Again", "level": "workplace", "parents": ["north"]},
    )
    assert status in (400, 409)
    assert "bakery" in body["error"]["message"]


def test_bad_slug_names_the_field(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/councils", {"key": "Not A Slug!", "name": "X", "level": "workplace"}
    )
    assert status == 400
    assert body["error"]["field"] == "key"


def test_missing_field_is_answered_422_in_the_error_shape(steward_api: Api) -> None:
    status, body = steward_api.post("/orgs/fed/councils", {"key": "mill"})
    assert status == 422
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["field"] in {"name", "level"}


def test_malformed_json_is_a_clear_4xx(fed: Federation) -> None:
    from django.test import Client

    client = Client()
    client.force_login(fed.steward)
    response = client.post(
        "/api/v1/orgs/fed/councils", data="{not json", content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_delegations_carry_seats_represented_members_and_delegates(
    steward_api: Api, fed: Federation
) -> None:
    status, delegations = steward_api.get("/orgs/fed/delegations")
    assert status == 200
    by_edge = {(d["from_council"], d["to_council"]): d for d in delegations}
    assert by_edge[("bakery", "north")]["represented"] == 6
    assert by_edge[("north", "congress")]["represented"] == 9
    assert by_edge[("south", "congress")]["represented"] == 4
    # Platform default is fixed(1): one seat per delegation.
    assert {d["seats"] for d in delegations} == {1}
    assert by_edge[("bakery", "north")]["delegates"] == [fed.delegate_member.record_id]
    assert by_edge[("press", "north")]["delegates"] == []


def test_apportioned_seats_follow_the_higher_councils_policy(steward_api: Api) -> None:
    status, _ = steward_api.post(
        "/orgs/fed/policy",
        {
            "scope": "council",
            "target": "north",
            "set": {"structure.delegation_seats": "apportioned(9, dhondt)"},
            "reason": "seats by membership",
        },
    )
    assert status == 201
    delegations = steward_api.get("/orgs/fed/delegations")[1]
    seats = {d["from_council"]: d["seats"] for d in delegations if d["to_council"] == "north"}
    # D'Hondt, 9 seats, bakery 6 members and press 3 members: 6 and 3.
    assert seats == {"bakery": 6, "press": 3}


def test_levels_can_be_renamed_but_not_dropped_while_used(steward_api: Api) -> None:
    status, org = steward_api.put(
        "/orgs/fed/levels", {"levels": ["workplace", "region", "zone", "congress"]}
    )
    assert status == 200
    assert org["levels"] == ["workplace", "region", "zone", "congress"]
    status, body = steward_api.put("/orgs/fed/levels", {"levels": ["workplace", "congress"]})
    assert status == 400
    assert "region" in body["error"]["message"]


def test_council_rename_is_recorded(steward_api: Api, fed: Federation) -> None:
    status, council = steward_api.patch("/orgs/fed/councils/press", {"name": "Red Press"})
    assert status == 200
    assert council["name"] == "Red Press"
    assert Entry.objects.filter(entry_type="council.renamed", council="press").count() == 1


def test_openapi_schema_describes_the_api(steward_api: Api) -> None:
    response = steward_api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/orgs/{slug}/councils" in paths
    assert "/api/v1/orgs/{slug}/policy" in paths


def test_a_cycle_is_refused_naming_its_path(steward_api: Api, fed: Federation) -> None:
    status, body = steward_api.post(
        "/orgs/fed/delegations", {"from_council": "congress", "to_council": "bakery"}
    )
    assert status == 400
    message = body["error"]["message"]
    assert "cycle" in message
    assert "congress" in message
    assert "bakery" in message
    assert not fed.org.delegations.filter(from_council__key="congress").exists()


def test_a_dag_federation_accepts_a_second_parent(steward_api: Api, fed: Federation) -> None:
    from konsilo.web.councils import actions

    dag = actions.create_organisation(
        actor=fed.steward,
        slug="dag",
        name="Two Chambers",
        levels=["base", "chamber"],
        parent_rule="dag",
    )
    for key in ("territorial", "industrial"):
        actions.add_council(actor=fed.steward, organisation=dag, key=key, name=key, level="chamber")
    actions.add_council(
        actor=fed.steward,
        organisation=dag,
        key="mine",
        name="Mine",
        level="base",
        parents=["territorial"],
    )
    status, _ = steward_api.post(
        "/orgs/dag/delegations", {"from_council": "mine", "to_council": "industrial"}
    )
    assert status == 201
    councils = {c["key"]: c for c in steward_api.get("/orgs/dag/councils")[1]}
    assert councils["mine"]["parents"] == ["industrial", "territorial"]
