"""End to end: a federation built with the actions, exported with ``konsilo export``, verified
with ``konsilo verify``; then the stored record is tampered with directly in the database and
the next export fails verification at the entry that was touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from konsilo import canonical
from konsilo.cli.main import main
from konsilo.web.councils import actions
from konsilo.web.ledger.models import Checkpoint, Entry
from konsilo.web.ledger.sequencer import sequence
from tests.personas import Federation


def _export(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / name
    code = main(["export", "fed", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return out


def _verify(out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["verify", str(out), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _more_history(fed: Federation) -> None:
    """Membership changes, a status change, a policy version and a frozen census."""
    member = fed.plain_member
    actions.add_membership(actor=fed.steward, member=member, council_key="press")
    actions.change_primary_base(actor=fed.steward, member=member, council_key="press")
    actions.set_member_status(actor=fed.steward, member=fed.delegate_member, status="suspended")
    actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="organisation",
        set_values={"quorum.fraction": "1/3"},
        reason="a lower quorum",
    )
    actions.rename_council(
        actor=fed.steward, council=fed.org.councils.get(key="north"), name="The North"
    )
    actions.freeze_census(actor=fed.steward, organisation=fed.org)


def _body(index: int, fed: Federation) -> bytes:
    return bytes(Entry.objects.get(organisation=fed.org, index=index).body)


def _index_of(fed: Federation, entry_type: str) -> int:
    row = Entry.objects.filter(organisation=fed.org, entry_type=entry_type).order_by("index")[0]
    return int(row.index)


def test_a_federation_exported_in_one_shuffled_batch_verifies(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _more_history(fed)
    total = Entry.objects.filter(organisation=fed.org).count()
    sequence(fed.org)  # one batch: its order is shuffled, the replay orders it by time
    out = _export(tmp_path, "export", capsys)
    code, summary = _verify(out, capsys)
    assert code == 0, summary
    assert summary["entries"] == summary["size"] == total
    assert summary["checkpoints"] == 1
    assert summary["censuses_rederived"] == 1


def test_a_federation_exported_batch_by_batch_verifies(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sequence(fed.org, batch_size=4)
    _more_history(fed)
    out = _export(tmp_path, "export", capsys)  # sequences the rest in a last batch
    code, summary = _verify(out, capsys)
    assert code == 0, summary
    assert summary["checkpoints"] == 8


@pytest.fixture
def signed(fed: Federation) -> Federation:
    """The federation's record signed one entry per checkpoint, so each entry is pinned."""
    _more_history(fed)
    sequence(fed.org, batch_size=1)
    return fed


def test_a_changed_entry_row_fails_verification_at_its_index(
    signed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = _index_of(signed, "member.joined") + 2
    body = _body(k, signed)
    forged = canonical.loads(body)
    forged["data"]["name"] = "Someone Else"
    Entry.objects.filter(organisation=signed.org, index=k).update(body=canonical.dumps(forged))
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 1
    assert summary["failure"]["index"] == k
    assert summary["failure"]["code"] == "root_mismatch"


def test_a_deleted_entry_row_fails_verification_at_its_index(
    signed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = _index_of(signed, "office.assigned")
    size = Entry.objects.filter(organisation=signed.org).count()
    with transaction.atomic():
        Entry.objects.filter(organisation=signed.org, index=k).delete()
        for row in Entry.objects.filter(organisation=signed.org, index__gt=k).order_by("index"):
            row.index -= 1
            row.save(update_fields=["index"])
        # The last checkpoint would give the deletion away at once; drop it too.
        Checkpoint.objects.filter(organisation=signed.org, size=size).delete()
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 1
    assert summary["failure"]["index"] == k
    assert summary["failure"]["code"] == "entry_index"


def test_two_swapped_entry_rows_fail_verification_at_the_first(
    signed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = _index_of(signed, "membership.added")
    with transaction.atomic():
        a = Entry.objects.get(organisation=signed.org, index=k)
        b = Entry.objects.get(organisation=signed.org, index=k + 1)
        a.index = -1
        a.save(update_fields=["index"])
        b.index = k
        b.save(update_fields=["index"])
        a.index = k + 1
        a.save(update_fields=["index"])
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 1
    assert summary["failure"]["index"] == k
    assert summary["failure"]["code"] == "entry_index"


def test_an_inserted_entry_row_fails_verification_at_its_index(
    signed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = _index_of(signed, "member.status_changed")
    model = Entry.objects.get(organisation=signed.org, index=k)
    forged = canonical.loads(bytes(model.body))
    forged["data"]["status"] = "good_standing"
    with transaction.atomic():
        for row in Entry.objects.filter(organisation=signed.org, index__gte=k).order_by("-index"):
            row.index += 1
            row.save(update_fields=["index"])
        Entry.objects.create(
            organisation=signed.org,
            index=k,
            entry_type=model.entry_type,
            council=model.council,
            actor=model.actor,
            recorded_at=model.recorded_at,
            data=canonical.dumps_str(forged["data"]),
            body=canonical.dumps(forged),
        )
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 1
    assert summary["failure"]["index"] == k
    assert summary["failure"]["code"] == "root_mismatch"


# -- a live log, as a witness checks it -----------------------------------------------------


def _rewrite_history(fed: Federation, k: int) -> None:
    """What an operator with the key could do: change entry k, rebuild the stored tree, append
    one entry and sign the rewritten tree, bypassing the sequencer's own refusal."""
    from konsilo.record import Checkpoint as SignedHead
    from konsilo.record import leaf_hash, root_from_leaf_hashes, sign_checkpoint
    from konsilo.web.ledger import keys, selectors
    from konsilo.web.ledger.models import LogState
    from tests.web.ledger_helpers import bodies, rebuild_tiles

    entries = bodies(fed.org)
    forged = canonical.loads(entries[k])
    forged["data"]["name"] = "Someone Else"
    entries[k] = canonical.dumps(forged)
    extra = canonical.loads(entries[-1])
    extra["index"] = len(entries)
    entries.append(canonical.dumps(extra))
    with transaction.atomic():
        Entry.objects.filter(organisation=fed.org, index=k).update(body=entries[k])
        last = Entry.objects.get(organisation=fed.org, index=len(entries) - 2)
        Entry.objects.create(
            organisation=fed.org,
            index=len(entries) - 1,
            entry_type=last.entry_type,
            council=last.council,
            actor=last.actor,
            recorded_at=last.recorded_at,
            data=last.data,
            body=entries[-1],
        )
        rebuild_tiles(fed.org, entries)
        origin = selectors.log_origin(fed.org)
        root = root_from_leaf_hashes([leaf_hash(e) for e in entries])
        note = sign_checkpoint(SignedHead(origin, len(entries), root), keys.signer_for(origin))
        Checkpoint.objects.create(
            organisation=fed.org,
            size=len(entries),
            root=root,
            note=note,
            signed_at=last.recorded_at,
        )
        LogState.objects.filter(organisation=fed.org).update(size=len(entries))


@pytest.mark.django_db(transaction=True)
def test_a_witness_checks_the_live_log_and_catches_rewritten_history(
    live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.personas import build_federation

    fed = build_federation()  # sequenced after each action's commit
    out = _export(tmp_path, "export", capsys)
    [latest] = sorted((out / "checkpoints").iterdir())[-1:]
    witness = tmp_path / "witness"
    witness.mkdir()
    saved = witness / "fed.checkpoint"
    saved.write_bytes(latest.read_bytes())
    (witness / "fed.checkpoint.vkey").write_bytes((out / "verifier.key").read_bytes())
    _more_history(fed)  # the log grows
    url = f"{live_server.url}/log/fed"
    code = main(
        ["verify", "--url", url, "--since", str(saved), "--save", "--json", "--timeout", "60"]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert (
        result["old_size"]
        < result["new_size"]
        == Entry.objects.filter(organisation=fed.org).count()
    )
    assert saved.read_bytes() != latest.read_bytes()  # the witness moved on

    k = _index_of(fed, "member.joined") + 1
    _rewrite_history(fed, k)
    code = main(["verify", "--url", url, "--since", str(saved), "--timeout", "60"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "is not consistent with the saved checkpoint" in printed
    assert "history was rewritten" in printed


# -- ballots --------------------------------------------------------------------------------


def _vote_with_a_ballot_row_behind_its_back(tamper: bool) -> Federation:
    """The Bakery votes openly; with ``tamper``, a Ballot row is slipped into the database
    (no record entry) before the vote closes, so the tally counts one ballot more."""
    import time_machine

    from konsilo.web.councils.models import Member
    from konsilo.web.decisions import actions as decisions
    from konsilo.web.decisions import tasks
    from konsilo.web.decisions.models import Ballot
    from tests.personas import build_federation
    from tests.web import decisions_support as support

    fed = build_federation()
    users = support.bakery_voters(fed)
    with time_machine.travel(support.START, tick=False) as clock:
        proposal = support.to_voting(fed, users, clock)
        for user, choice in zip(users[:4], ["yes", "no", "no", "yes"], strict=True):
            decisions.cast_ballot(actor=user, proposal=proposal, ballot={"choice": choice})
        if tamper:
            voted = Ballot.objects.filter(proposal=proposal).values_list("member_id", flat=True)
            silent = Member.objects.filter(memberships__council__key="bakery").exclude(
                pk__in=list(voted)
            )[0]
            Ballot.objects.create(
                proposal=proposal,
                member=silent,
                content={"choice": "yes"},
                weight="1",
                cast_at=support.START,
                changed_at=support.START,
            )
        clock.shift(support.WINDOW)
        assert tasks.close_due_votes.call() == 1
    return fed


@pytest.mark.django_db(transaction=True)
def test_a_recorded_vote_is_recounted_from_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _vote_with_a_ballot_row_behind_its_back(tamper=False)
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 0, summary
    assert summary["decisions_recounted"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_ballot_row_slipped_in_behind_the_tally_fails_at_the_tally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = _vote_with_a_ballot_row_behind_its_back(tamper=True)
    tally = _index_of(fed, "tally.recorded")
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 1
    assert summary["failure"]["index"] == tally
    assert summary["failure"]["code"] == "replay"
    assert "holds 4 ballots that count" in summary["failure"]["reason"]
    assert "the tally says 5" in summary["failure"]["reason"]


@pytest.mark.django_db(transaction=True)
def test_a_changed_ballot_entry_fails_verification_at_its_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = _vote_with_a_ballot_row_behind_its_back(tamper=False)
    k = _index_of(fed, "ballot.cast") + 1
    forged = canonical.loads(_body(k, fed))
    forged["data"]["ballot"] = {"choice": "abstain"}
    Entry.objects.filter(organisation=fed.org, index=k).update(body=canonical.dumps(forged))
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 1
    assert summary["failure"]["index"] == k
    assert summary["failure"]["code"] == "root_mismatch"


@pytest.mark.django_db(transaction=True)
def test_a_secret_vote_is_recounted_from_its_receipts_in_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time_machine

    from konsilo.web.decisions import actions as decisions
    from konsilo.web.decisions import tasks
    from tests.personas import build_federation
    from tests.web import decisions_support as support

    fed = build_federation()
    users = support.bakery_voters(fed)
    actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"secrecy.ballot": "secret"},
    )
    with time_machine.travel(support.START, tick=False) as clock:
        proposal = support.to_voting(fed, users, clock, title="A secret one")
        receipts = [
            decisions.cast_ballot(actor=u, proposal=proposal, ballot={"choice": c})
            for u, c in zip(users[:5], ["yes", "no", "no", "yes", "no"], strict=True)
        ]
        decisions.change_ballot(
            actor=users[0], proposal=proposal, ballot={"choice": "no"}, receipt=receipts[0] or ""
        )
        clock.shift(support.WINDOW)
        assert tasks.close_due_votes.call() == 1
    assert Entry.objects.filter(organisation=fed.org, entry_type="ballot.participated").count() == 5
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 0, summary
    assert summary["decisions_recounted"] == 1


# -- lots: drawn from the first checkpoint signed after the vote closed ---------------------


def _drawn_tie() -> Federation:
    """An IRV vote of the Bakery in which three voters each rank a different option alone:
    both exclusions are drawn by lot when the vote closes."""
    import time_machine

    from konsilo.web.decisions import actions as decisions
    from konsilo.web.decisions import tasks
    from tests.personas import build_federation
    from tests.web import decisions_support as support

    fed = build_federation()
    users = support.bakery_voters(fed)
    actions.set_policy(
        actor=fed.steward,
        organisation=fed.org,
        scope="council",
        target="bakery",
        set_values={"decision_rule.rule": "preferential(irv)"},
    )
    options = [{"label": "Rye"}, {"label": "Spelt"}, {"label": "Oat"}]
    with time_machine.travel(support.START, tick=False) as clock:
        proposal = support.to_voting(fed, users, clock, ballot_shape="ranked", options=options)
        for user, option in zip(users, ["o1", "o2", "o3"], strict=False):
            decisions.cast_ballot(actor=user, proposal=proposal, ballot={"ranking": [[option]]})
        clock.shift(support.WINDOW)
        assert tasks.close_due_votes.call() == 1
    return fed


@pytest.mark.django_db(transaction=True)
def test_lots_drawn_at_the_close_are_re_derived_from_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _drawn_tie()
    code, summary = _verify(_export(tmp_path, "export", capsys), capsys)
    assert code == 0, summary
    assert summary["decisions_recounted"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_seed_rewritten_and_re_signed_by_the_key_holder_fails_at_the_tally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator holds the key: they recount the tie with a seed of their choosing and
    sign the log again over the rewritten tally. Only re-deriving the seed catches it."""
    from fractions import Fraction

    from konsilo.counting.tally import count_ballots
    from konsilo.record import Checkpoint as SignedHead
    from konsilo.record import leaf_hash, root_from_leaf_hashes, sign_checkpoint
    from konsilo.web.ledger import keys

    fed = _drawn_tie()
    out = _export(tmp_path, "export", capsys)
    lines = (out / "entries.jsonl").read_bytes().splitlines()
    entries = [canonical.loads(line) for line in lines]
    k = next(i for i, e in enumerate(entries) if e["type"] == "tally.recorded")
    ballots = [
        (e["data"]["ballot"], Fraction(e["data"]["weight"]))
        for e in entries
        if e["type"] == "ballot.cast"
    ]
    tally = entries[k]["data"]
    honest = tally["result"]
    for n in range(100):  # a seed whose draw differs from the honest one
        rule = {**tally["rule"], "seed": f"{tally['item']}/chosen-{n}"}
        result = canonical.loads(count_ballots("irv", rule, ballots).to_json())
        if result["winners"] != honest["winners"]:
            break
    else:
        raise AssertionError("no seed changes the draw")
    tally["rule"], tally["result"] = rule, result
    lines[k] = canonical.dumps(entries[k])
    (out / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    manifest = canonical.loads((out / "manifest.json").read_bytes())
    signer = keys.signer_for(manifest["origin"])
    for path in sorted((out / "checkpoints").iterdir()):
        size = int(path.stem)
        if size > k:
            root = root_from_leaf_hashes([leaf_hash(e) for e in lines[:size]])
            head = SignedHead(manifest["origin"], size, root)
            path.write_text(sign_checkpoint(head, signer), encoding="utf-8")
    code, summary = _verify(out, capsys)
    assert code == 1
    failure = summary["failure"]
    assert (failure["index"], failure["code"]) == (k, "replay")
    assert "seeded by the first checkpoint signed after its closing" in failure["reason"]
    assert Entry.objects.filter(organisation=fed.org, entry_type="vote.closed").count() == 1
