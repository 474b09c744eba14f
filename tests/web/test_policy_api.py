"""Policies as versioned data: resolution with sources, validation, old versions kept."""

from __future__ import annotations

from tests.personas import Api


def _values(api: Api, query: str = "") -> dict[str, dict]:
    status, rows = api.get(f"/orgs/fed/policy{query}")
    assert status == 200
    return {row["name"]: row for row in rows}


def test_every_value_says_where_it_comes_from(steward_api: Api) -> None:
    values = _values(steward_api)
    assert values["quorum.fraction"]["source"] == "default"
    steward_api.post(
        "/orgs/fed/policy", {"scope": "organisation", "set": {"quorum.fraction": "2/3"}}
    )
    steward_api.post(
        "/orgs/fed/policy",
        {"scope": "council", "target": "bakery", "set": {"quorum.fraction": "1/3"}},
    )
    assert _values(steward_api)["quorum.fraction"]["source"] == "organisation"
    at_bakery = _values(steward_api, "?council=bakery")["quorum.fraction"]
    assert at_bakery["source"] == "council"
    assert at_bakery["value"] == "1/3"
    assert _values(steward_api, "?council=press")["quorum.fraction"]["value"] == "2/3"


def test_a_preset_supplies_values_and_is_named(steward_api: Api) -> None:
    status, _ = steward_api.post("/orgs/fed/policy", {"scope": "organisation", "preset": "rojava"})
    assert status == 201
    values = _values(steward_api)
    assert values["representation.co_chairs"]["source"] == "preset"
    assert "rojava" in values["representation.co_chairs"]["label"]


def test_a_decision_type_overrides_the_council(steward_api: Api) -> None:
    steward_api.post(
        "/orgs/fed/policy",
        {"scope": "decision_type", "target": "statutes", "set": {"quorum.fraction": "3/4"}},
    )
    row = _values(steward_api, "?council=bakery&decision_type=statutes")["quorum.fraction"]
    assert (row["source"], row["value"]) == ("decision_type", "3/4")


def test_a_change_creates_a_new_version_and_keeps_the_old(steward_api: Api) -> None:
    steward_api.post(
        "/orgs/fed/policy", {"scope": "organisation", "set": {"quorum.fraction": "2/3"}}
    )
    steward_api.post(
        "/orgs/fed/policy", {"scope": "organisation", "set": {"quorum.fraction": "3/5"}}
    )
    status, versions = steward_api.get("/orgs/fed/policy/versions?scope=organisation")
    assert status == 200
    assert [v["number"] for v in versions] == [1, 2, 3]
    assert versions[1]["values"]["quorum.fraction"] == "2/3"
    assert versions[2]["values"]["quorum.fraction"] == "3/5"


def test_out_of_range_value_is_refused_naming_the_parameter(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/policy", {"scope": "organisation", "set": {"quorum.fraction": "3/2"}}
    )
    assert status == 400
    assert "quorum.fraction" in body["error"]["message"]
    status, versions = steward_api.get("/orgs/fed/policy/versions?scope=organisation")
    assert len(versions) == 1  # nothing half-written


def test_unknown_parameter_is_refused(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/policy", {"scope": "organisation", "set": {"quorum.fractoin": "1/2"}}
    )
    assert status == 400
    assert "quorum.fractoin" in body["error"]["message"]


def test_impossible_combination_is_refused_naming_both_parameters(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/policy",
        {
            "scope": "organisation",
            "set": {"decision_rule.rule": "consent", "secrecy.ballot": "secret"},
        },
    )
    assert status == 400
    message = body["error"]["message"]
    assert "decision_rule.rule" in message
    assert "secrecy.ballot" in message


def test_unknown_preset_is_refused(steward_api: Api) -> None:
    status, body = steward_api.post(
        "/orgs/fed/policy", {"scope": "organisation", "preset": "atlantis"}
    )
    assert status == 400
    assert "atlantis" in body["error"]["message"]


def test_presets_and_parameters_are_listed(member_api: Api) -> None:
    status, presets = member_api.get("/presets")
    assert status == 200
    assert {p["name"] for p in presets} >= {"council_communist", "rojava", "cnt", "sociocracy"}
    status, parameters = member_api.get("/policy/parameters")
    assert status == 200
    assert any(p["name"] == "mandate.mode" for p in parameters)
