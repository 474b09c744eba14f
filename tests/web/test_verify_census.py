"""End to end: ``konsilo verify`` re-derives the census every vote froze when it opened.

A federation cycle with a member of two bases (the Bakery worker who is also in the Press
weighs 0 in the Press's instruction vote, §3.4) is exported and verifies, every census of
members re-derived from the replayed memberships. Then the key holder rewrites the Press's
``vote.opened`` (a voter added, one left out, one reweighted, with the census's totals and
the rule's electorate kept consistent) and signs the log again over it: only re-deriving
the census catches it, at that entry.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import time_machine

from konsilo import canonical
from konsilo.cli.main import main
from konsilo.record import Checkpoint as SignedHead
from konsilo.record import leaf_hash, root_from_leaf_hashes, sign_checkpoint
from konsilo.web.councils.models import Member
from konsilo.web.decisions import tasks
from konsilo.web.decisions.models import VoterRoll
from konsilo.web.ledger import keys
from tests.personas import build_federation
from tests.web.federation_support import HIGHER_CLOSES, START, instruction_item, refresh
from tests.web.test_federation_two_bases import _cycle


def _exported_cycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Any]:
    fed = build_federation()
    with time_machine.travel(START, tick=False) as clock:
        item, sending = _cycle(fed, clock)
        clock.move_to(HIGHER_CLOSES)
        assert tasks.close_due_votes.call() == 1
    assert refresh(item).outcome == "adopted"
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return out, sending


def _verify(out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["verify", str(out), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _opened(entries: list[dict[str, Any]], item: str) -> int:
    return next(
        i for i, e in enumerate(entries) if e["type"] == "vote.opened" and e["data"]["item"] == item
    )


def _rewrite_and_resign(out: Path, lines: list[bytes], k: int, entry: dict[str, Any]) -> None:
    """Put the rewritten entry ``k`` in the export and sign every checkpoint over it again,
    as the holder of the log's key could."""
    lines[k] = canonical.dumps(entry)
    (out / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    manifest = canonical.loads((out / "manifest.json").read_bytes())
    signer = keys.signer_for(manifest["origin"])
    for path in sorted((out / "checkpoints").iterdir()):
        size = int(path.stem)
        if size > k:
            root = root_from_leaf_hashes([leaf_hash(e) for e in lines[:size]])
            head = SignedHead(manifest["origin"], size, root)
            path.write_text(sign_checkpoint(head, signer), encoding="utf-8")


@pytest.mark.django_db(transaction=True)
def test_an_exported_cycle_verifies_re_deriving_the_census_of_every_base_vote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, sending = _exported_cycle(tmp_path, capsys)
    entries = [canonical.loads(line) for line in (out / "entries.jsonl").read_bytes().splitlines()]
    censuses = [e["data"]["census"] for e in entries if e["type"] == "vote.opened"]
    member_censuses = [c for c in censuses if c["basis"] != "delegations"]
    assert len(member_censuses) == 2  # the Bakery's and the Press's instruction votes
    code, summary = _verify(out, capsys)
    assert code == 0, summary
    # Every census: the bases' from their memberships, and North's, of the delegations sent
    # the item, from the members each delegation represents.
    assert len(censuses) == 3
    assert summary["vote_censuses_rederived"] == len(censuses)
    # What the web froze (the voter roll behind the ballots) is what the record holds.
    press = instruction_item(sending, "press")
    census = next(
        c
        for c in member_censuses
        if c["weights"].keys()
        == {r.member.record_id for r in VoterRoll.objects.filter(proposal=press)}
    )
    roll = {r.member.record_id: r.weight for r in VoterRoll.objects.filter(proposal=press)}
    assert census["weights"] == roll
    assert sorted(roll.values()) == ["0", "1", "1", "1"]


def _forge(census: dict[str, Any], rule: dict[str, Any], weights: dict[str, str]) -> None:
    """Give the census these weights, with its head count, total and electorate to match."""
    total = sum((Fraction(w) for w in weights.values()), Fraction(0))
    census["weights"] = weights
    census["voters"] = len(weights)
    census["total_weight"] = str(total)
    rule["eligible"] = sum(1 for w in weights.values() if Fraction(w))
    rule["eligible_weight"] = canonical.fraction(total)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("forgery", ["added", "left_out", "reweighted"])
def test_a_vote_census_rewritten_and_re_signed_fails_at_its_vote_opened(
    forgery: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, sending = _exported_cycle(tmp_path, capsys)
    lines = (out / "entries.jsonl").read_bytes().splitlines()
    entries = [canonical.loads(line) for line in lines]
    press = instruction_item(sending, "press")
    k = _opened(entries, press.record_id)
    entry = entries[k]
    census, rule = entry["data"]["census"], entry["data"]["rule"]
    weights = dict(census["weights"])
    dual = Member.objects.get(email="bakery5@example.org").record_id
    outsider = Member.objects.get(email="bakery0@example.org").record_id
    insider = Member.objects.get(email="press0@example.org").record_id
    if forgery == "added":  # a Bakery worker who is no member of the Press
        weights[outsider], named = "1", f"{outsider} is in the recorded census with weight 1"
    elif forgery == "left_out":
        del weights[insider]
        named = f"{insider} may vote in 'press'"
    else:  # the dual member's weight goes up through the Bakery, not here as well
        weights[dual], named = "1", f"{dual} votes in 'press'"
    _forge(census, rule, weights)
    _rewrite_and_resign(out, lines, k, entry)
    code, summary = _verify(out, capsys)
    assert code == 1, summary
    failure = summary["failure"]
    assert (failure["index"], failure["code"]) == (k, "replay")
    assert "the recorded census does not follow from the memberships" in failure["reason"]
    assert named in failure["reason"]


@pytest.mark.django_db(transaction=True)
def test_a_sent_items_delegation_weight_rewritten_and_re_signed_fails_at_its_vote_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, sending = _exported_cycle(tmp_path, capsys)
    lines = (out / "entries.jsonl").read_bytes().splitlines()
    entries = [canonical.loads(line) for line in lines]
    k = _opened(entries, sending.proposal.record_id)
    entry = entries[k]
    census, rule = entry["data"]["census"], entry["data"]["rule"]
    assert census["basis"] == "delegations"
    weights = {key: Fraction(w) for key, w in census["weights"].items()}
    key = sorted(weights)[0]
    recorded = weights[key]
    weights[key] += 1  # the Bakery's delegation weighs one member more than it represents
    total = sum(weights.values(), Fraction(0))
    census["weights"] = {k2: canonical.fraction(w) for k2, w in weights.items()}
    census["total_weight"] = str(total)
    rule["eligible_weight"] = canonical.fraction(total)
    _rewrite_and_resign(out, lines, k, entry)
    code, summary = _verify(out, capsys)
    assert code == 1, summary
    failure = summary["failure"]
    assert (failure["index"], failure["code"]) == (k, "replay")
    assert (
        f"delegation {key} weighs {recorded} on item {sending.proposal.record_id!r}, "
        f"the record says {recorded + 1}"
    ) in failure["reason"]


@pytest.mark.django_db(transaction=True)
def test_a_base_vote_and_a_delegate_council_vote_are_re_derived_from_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Bakery votes with a member suspended and one who joins later left out; North,
    a council of delegates, votes on its own item with its one seated delegate."""
    import datetime as dt

    from konsilo.web.councils import actions as council_actions
    from konsilo.web.decisions import actions as decisions
    from tests.web import decisions_support as support
    from tests.web.federation_support import north_item

    fed = build_federation()
    users = support.bakery_voters(fed)
    suspended = Member.objects.get(email="bakery2@example.org")
    council_actions.set_member_status(actor=fed.steward, member=suspended, status="suspended")
    later = council_actions.add_member(
        actor=fed.steward,
        organisation=fed.org,
        name="Bakery Worker Later",
        email="later@example.org",
        base="bakery",
        start=support.START.date() + dt.timedelta(days=30),
    )
    with time_machine.travel(support.START, tick=False) as clock:
        bakery = support.to_voting(fed, users, clock)
        north = north_item(fed)
        clock.move_to(decisions.voting_opens_from(north))
        north = decisions.open_vote(actor=fed.delegate, proposal=north)
    bakery_census, north_census = refresh(bakery).census, refresh(north).census
    assert bakery_census["basis"] == "members_in_good_standing"
    assert len(bakery_census["weights"]) == 5
    assert suspended.record_id not in bakery_census["weights"]
    assert later.record_id not in bakery_census["weights"]
    assert north_census["basis"] == "enrolled_delegates"
    assert north_census["weights"] == {fed.delegate_member.record_id: "1"}
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code, summary = _verify(out, capsys)
    assert code == 0, summary
    assert summary["vote_censuses_rederived"] == 2
