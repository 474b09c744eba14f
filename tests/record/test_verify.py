"""Verifying a whole record: every tamper is caught at the right index with the right reason."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.governance.replay import Replay
from konsilo.record import Checkpoint, Signer, sign_checkpoint
from konsilo.record.merkle import (
    MemoryHashReader,
    consistency_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from konsilo.record.verify import (
    LevelHashStore,
    MemorySource,
    VerificationReport,
    long_text_references,
    verify_record,
)
from tests.record.records import (
    RecordBuilder,
    add_membership,
    cast,
    close,
    closing_seed_of,
    derive,
    entry_bytes,
    federation,
    open_vote,
    record_drawn_tally,
    record_tally,
)


def _verify(
    builder: RecordBuilder, source: MemorySource | None = None, **kw: object
) -> VerificationReport:
    return verify_record(source or builder.source(), builder.verifier, replayer=Replay(), **kw)  # type: ignore[arg-type]


def _rewrite(entry: bytes, **changes: object) -> bytes:
    decoded = canonical.loads(entry)
    for key, value in changes.items():
        if key.startswith("data_"):
            decoded["data"][key[5:]] = value
        else:
            decoded[key] = value
    return canonical.dumps(decoded)


@pytest.fixture
def fed() -> RecordBuilder:
    builder = RecordBuilder()
    federation(builder)
    return builder


def test_an_untouched_record_verifies_with_a_summary(fed: RecordBuilder) -> None:
    report = _verify(fed, size=len(fed.entries))
    assert report.ok, report.failure
    assert report.summary.entries == len(fed.entries) == 12
    assert report.summary.checkpoints == 12
    assert report.summary.censuses_rederived == 1
    assert report.summary.size == 12
    assert report.summary.root == root_from_leaf_hashes([leaf_hash(e) for e in fed.entries])


def test_a_changed_entry_fails_at_its_index_as_not_what_was_signed(fed: RecordBuilder) -> None:
    source = fed.source()
    source.entries[6] = _rewrite(fed.entries[6], data_name="Mallory")  # type: ignore[index]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (6, "root_mismatch")
    assert "not what the log signed" in report.failure.reason


def test_a_deleted_entry_fails_at_its_index(fed: RecordBuilder) -> None:
    source = fed.source()
    del source.entries[4]  # type: ignore[attr-defined]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (4, "entry_index")
    assert "says index 5" in report.failure.reason


def test_two_swapped_entries_fail_at_the_first(fed: RecordBuilder) -> None:
    source = fed.source()
    e = source.entries
    e[7], e[8] = e[8], e[7]  # type: ignore[index]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (7, "entry_index")


def test_an_inserted_entry_fails_at_its_index(fed: RecordBuilder) -> None:
    source = fed.source()
    forged = entry_bytes(5, "council.renamed", {"key": "north", "name": "Forged"})
    source.entries.insert(5, forged)  # type: ignore[attr-defined]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (5, "root_mismatch")


def test_an_entry_appended_without_a_checkpoint_is_not_signed(fed: RecordBuilder) -> None:
    fed.add("council.renamed", {"key": "north", "name": "North Region"}, sign=False)
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (12, "not_signed")


def test_a_deleted_last_entry_is_missing_from_the_signed_size(fed: RecordBuilder) -> None:
    source = fed.source()
    source.entries.pop()  # type: ignore[attr-defined]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (11, "missing_entries")


def test_a_change_inside_a_batch_fails_at_the_batch_start() -> None:
    builder = RecordBuilder()
    federation(builder)
    # One checkpoint per three entries instead of one per entry.
    builder.checkpoints = []
    for size in (3, 6, 9, 12):
        builder.sign(builder.entries[:size])
    source = builder.source()
    source.entries[7] = _rewrite(builder.entries[7], data_name="Mallory")  # type: ignore[index]
    report = _verify(builder, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.checkpoint) == (6, 9)


def test_a_forged_signature_fails_where_its_checkpoint_starts(fed: RecordBuilder) -> None:
    text = Checkpoint(
        fed.signer.name, 9, root_from_leaf_hashes([leaf_hash(e) for e in fed.entries[:9]])
    )
    body, _, line = sign_checkpoint(text, fed.signer).rpartition("— ")
    name, blob = line.split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 0x01
    forged = f"{body}— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    source = fed.source()
    source.checkpoints[8] = forged  # type: ignore[index]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (8, "bad_signature")
    assert "invalid signature" in report.failure.reason


def test_a_checkpoint_signed_by_another_key_is_refused(fed: RecordBuilder) -> None:
    other = Signer(fed.signer.name, Ed25519PrivateKey.generate())
    leaves = [leaf_hash(e) for e in fed.entries[:4]]
    source = fed.source()
    source.checkpoints[3] = sign_checkpoint(  # type: ignore[index]
        Checkpoint(fed.signer.name, 4, root_from_leaf_hashes(leaves)), other
    )
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (3, "bad_signature")
    assert "no signature by a known key" in report.failure.reason


def test_a_checkpoint_inconsistent_with_its_neighbours_is_a_fork(fed: RecordBuilder) -> None:
    forked = list(fed.entries[:7])
    forked[5] = _rewrite(forked[5], data_name="Forged")
    source = fed.source()
    source.checkpoints[6] = fed.sign(forked)  # type: ignore[index]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (6, "inconsistent_checkpoint")
    assert report.failure.checkpoint == 7
    assert "two inconsistent histories" in report.failure.reason


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(fed: RecordBuilder) -> None:
    forked = list(fed.entries[:5])
    forked[4] = _rewrite(forked[4], data_name="Forged")
    source = fed.source()
    source.checkpoints.append(fed.sign(forked))  # type: ignore[attr-defined]
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (4, "inconsistent_checkpoint")


def test_a_long_text_that_does_not_hash_to_its_name_fails_at_its_entry() -> None:
    builder = RecordBuilder()
    federation(builder)
    digest = builder.text("A long statement of the North Region's aims.\n" * 50)
    builder.add("council.renamed", {"key": "north", "name": "North", "aims_sha256": digest})
    builder.texts[digest] = b"A different text"
    report = verify_record(builder.source(), builder.verifier, replayer=None)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (12, "long_text")
    assert "does not hash to its name" in report.failure.reason


def test_a_missing_long_text_fails_at_its_entry() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add("council.renamed", {"key": "north", "name": "N", "aims_sha256": "ab" * 32})
    report = verify_record(builder.source(), builder.verifier, replayer=None)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (12, "long_text")
    assert "not published" in report.failure.reason


def test_a_non_canonical_entry_fails_even_when_signed(fed: RecordBuilder) -> None:
    fed.entries[3] = fed.entries[3].replace(b'"type":', b'"type": ')
    fed.checkpoints = [fed.sign(fed.entries[:n]) for n in range(1, 13)]
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (3, "not_canonical")


def test_an_entry_of_another_organisation_fails(fed: RecordBuilder) -> None:
    fed.entries[9] = _rewrite(fed.entries[9], org="other")
    fed.checkpoints = [fed.sign(fed.entries[:n]) for n in range(1, 13)]
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (9, "organisation")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"index": 12', "malformed_entry"),
        (
            b'{"actor":"","council":"","data":{"x":1.5},"index":12,"org":"fed","time":"t",'
            b'"type":"x"}',
            "malformed_entry",
        ),
        (
            b'{"actor":"","council":"","data":[],"index":12,"org":"fed","time":"t","type":"x"}',
            "fields",
        ),
        (b'{"index":12,"org":"fed"}', "fields"),
    ],
)
def test_malformed_entries_fail_at_their_index(fed: RecordBuilder, raw: bytes, code: str) -> None:
    fed.entries.append(raw)
    fed.sign()
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (12, code)


def test_an_entry_that_cannot_replay_fails_even_when_signed(fed: RecordBuilder) -> None:
    # The whole log re-signed by whoever holds the key: only the replay can tell.
    fed.add(
        "membership.added",
        {"member": "m-ana", "council": "nowhere", "primary": False, "start": "2026-11-05"},
    )
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (12, "replay")
    assert "unknown council 'nowhere'" in report.failure.reason


def test_the_size_the_export_claims_must_be_its_size(fed: RecordBuilder) -> None:
    report = _verify(fed, size=13)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (12, "size")


def test_an_empty_record_with_no_checkpoint_verifies_nothing() -> None:
    builder = RecordBuilder()
    report = _verify(builder)
    assert report.ok
    assert report.summary.entries == 0


def test_long_text_references_are_found_at_any_depth() -> None:
    data = {"a": [{"census_sha256": "0" * 64}, {"sha256": "1" * 64}], "sha256": "short"}
    assert sorted(long_text_references(data)) == ["0" * 64, "1" * 64]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_the_level_store_gives_every_root_and_consistency_proof(
    size: int, data: st.DataObject
) -> None:
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)]
    store = LevelHashStore()
    roots = []
    for h in leaves:
        store.append(h)
        roots.append(store.root())
    assert roots == [root_from_leaf_hashes(leaves[: n + 1]) for n in range(size)]
    old = data.draw(st.integers(min_value=0, max_value=size))
    reference = MemoryHashReader.from_leaf_hashes(leaves)
    assert consistency_proof(old, size, store) == consistency_proof(old, size, reference)


# -- decisions: the tallies are recounted from the ballots in the record ---------------------

YES, NO = {"choice": "yes"}, {"choice": "no"}


def _vote(builder: RecordBuilder) -> int:
    open_vote(builder, "i-1")
    cast(builder, "i-1", "m-ana", YES)
    cast(builder, "i-1", "m-ben", NO)
    return record_tally(builder, "i-1", [(YES, "1"), (NO, "1")])


def test_a_record_with_a_vote_verifies_and_counts_the_recount(fed: RecordBuilder) -> None:
    _vote(fed)
    report = _verify(fed)
    assert report.ok, report.failure
    assert report.summary.decisions_recounted == 1


def test_a_recorded_tally_that_does_not_match_its_ballots_fails_at_the_tally() -> None:
    builder = RecordBuilder()
    federation(builder)
    open_vote(builder, "i-1")
    cast(builder, "i-1", "m-ana", YES)
    cast(builder, "i-1", "m-ben", NO)
    # The log is signed over this tally: only the recount can show it is wrong.
    index = record_tally(builder, "i-1", [(YES, "1"), (YES, "1")])
    report = _verify(builder)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "tally.recorded: the recorded result of item 'i-1' differs from the recount" in (
        report.failure.reason
    )


def test_a_ballot_added_behind_a_signed_tally_fails_where_it_was_added(fed: RecordBuilder) -> None:
    tally_index = _vote(fed)
    source = fed.source()
    entries = list(source.entries)
    extra = canonical.loads(entries[tally_index - 1])
    extra["data"]["voter"] = "m-cy"
    extra["data"]["ballot"] = YES
    entries.insert(tally_index, canonical.dumps(extra))
    for i in range(tally_index, len(entries)):
        entries[i] = _rewrite(entries[i], index=i)
    source.entries = entries
    report = _verify(fed, source)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (tally_index, "root_mismatch")


def test_a_ballot_added_behind_a_tally_by_the_key_holder_fails_the_recount() -> None:
    builder = RecordBuilder()
    federation(builder)
    add_membership(builder, "m-cy", "bakery")
    open_vote(builder, "i-1", voters={"m-ana": "1", "m-ben": "1", "m-cy": "1"})
    cast(builder, "i-1", "m-ana", YES)
    cast(builder, "i-1", "m-ben", NO)
    cast(builder, "i-1", "m-cy", NO)  # slipped in, and the log re-signed over it
    index = record_tally(builder, "i-1", [(YES, "1"), (NO, "1")])
    report = _verify(builder)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "holds 3 ballots that count on item 'i-1', the tally says 2" in report.failure.reason


def test_a_ballot_appended_after_the_tally_fails_at_the_ballot(fed: RecordBuilder) -> None:
    _vote(fed)
    index = cast(fed, "i-1", "m-cy", YES)
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "after its vote closed" in report.failure.reason


# -- batches: the sequencer shuffles them, the replay orders them by the entries' times --------


def _resign_in_batches(builder: RecordBuilder, entries: list[dict[str, object]], size: int) -> None:
    builder.entries = [canonical.dumps({**e, "index": i}) for i, e in enumerate(entries)]
    builder.checkpoints = []
    for end in [*range(size, len(entries), size), len(entries)]:
        builder.sign(builder.entries[:end])


def test_a_shuffled_batch_replays_in_the_order_of_its_entries_times() -> None:
    builder = RecordBuilder()
    federation(builder)
    entries = [canonical.loads(e) for e in builder.entries]
    shuffled = [e for start in range(0, 12, 4) for e in reversed(entries[start : start + 4])]
    assert shuffled[0]["type"] == "council.created"  # before the organisation exists
    _resign_in_batches(builder, shuffled, 4)
    report = _verify(builder)
    assert report.ok, report.failure
    assert report.summary.checkpoints == 3


def test_secret_ballots_with_the_batch_time_replay_before_the_batch_tally() -> None:
    builder = RecordBuilder()
    federation(builder)
    open_vote(builder, "i-1", secret=True)
    batch_time = "2026-12-01T11:00:00.000000Z"  # the sequencer's time, after the tally's own
    builder.add("ballot.participated", {"item": "i-1", "member": "m-ana"}, time=batch_time)
    cast(builder, "i-1", "", YES, receipt="a" * 64, time=batch_time)
    record_tally(builder, "i-1", [(YES, "1")])
    entries = [canonical.loads(e) for e in builder.entries]
    entries[-3:] = [entries[-1], entries[-2], entries[-3]]  # tally first, as a shuffle may put it
    _resign_in_batches(builder, entries, len(entries) - 3)
    report = _verify(builder)
    assert report.ok, report.failure
    assert report.summary.decisions_recounted == 1


def test_an_open_ballot_timed_after_the_vote_closed_is_refused(fed: RecordBuilder) -> None:
    open_vote(fed, "i-1")
    index = cast(fed, "i-1", "m-ana", YES, time="2026-12-09T09:00:00.000000Z")
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "after the vote closed at 2026-12-08T12:00:00Z" in report.failure.reason


def test_mandates_are_re_derived_and_counted_in_the_summary(fed: RecordBuilder) -> None:
    open_vote(fed, "i-base")
    cast(fed, "i-base", "m-ana", YES)
    cast(fed, "i-base", "m-ben", NO)
    record_tally(fed, "i-base", [(YES, "1"), (NO, "1")])
    derive(fed, item="i-top", base_item="i-base", ballots=[(YES, "1"), (NO, "1")])
    report = _verify(fed)
    assert report.ok, report.failure
    assert (report.summary.decisions_recounted, report.summary.mandates_rederived) == (1, 1)


# -- lots: the seed comes from the first checkpoint signed after the vote closed -------------

IRV = {"options": ["a", "b", "c"]}
TIED = [({"ranking": [["a"]]}, "1"), ({"ranking": [["b"]]}, "1"), ({"ranking": [["c"]]}, "1")]


def _closed_tie(builder: RecordBuilder) -> int:
    """Three voters rank a different option each: both exclusions are drawn by lot."""
    voters = {"m-ana": "1", "m-ben": "1", "m-cy": "1"}
    add_membership(builder, "m-cy", "bakery")
    open_vote(builder, "i-1", voters=voters, method="irv", rule=IRV)
    for voter, (ballot, _) in zip(voters, TIED, strict=True):
        cast(builder, "i-1", voter, ballot)
    return close(builder, "i-1")


def test_lots_drawn_from_the_checkpoint_signed_after_the_closing_verify(
    fed: RecordBuilder,
) -> None:
    closing = _closed_tie(fed)
    seed, size = closing_seed_of(fed, closing)
    assert size == closing + 1
    record_drawn_tally(fed, "i-1", TIED, rule=IRV, seed=seed, seed_checkpoint=size)
    report = _verify(fed)
    assert report.ok, report.failure
    assert report.summary.decisions_recounted == 1


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda seed, size: ("i-1/2026-12-01T10:00:00", size), id="chosen-seed"),
        pytest.param(lambda seed, size: (seed, size - 1), id="earlier-checkpoint"),
        pytest.param(lambda seed, size: (seed.replace("/", "/0", 1)[:-1], size), id="other-hash"),
    ],
)
def test_a_tally_with_a_seed_not_from_the_closing_checkpoint_fails_at_the_tally(
    fed: RecordBuilder, forged: object
) -> None:
    """What the key holder could sign: a tally counted with a seed of their choosing."""
    closing = _closed_tie(fed)
    seed, size = closing_seed_of(fed, closing)
    bad_seed, bad_size = forged(seed, size)  # type: ignore[operator]
    index = record_drawn_tally(fed, "i-1", TIED, rule=IRV, seed=bad_seed, seed_checkpoint=bad_size)
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "are seeded by the first checkpoint signed after its closing" in report.failure.reason
    assert repr(seed) in report.failure.reason


def test_a_tally_in_the_batch_of_its_closing_fails_its_seed_was_not_signed_yet(
    fed: RecordBuilder,
) -> None:
    voters = {"m-ana": "1", "m-ben": "1", "m-cy": "1"}
    add_membership(fed, "m-cy", "bakery")
    open_vote(fed, "i-1", voters=voters, method="irv", rule=IRV)
    for voter, (ballot, _) in zip(voters, TIED, strict=True):
        cast(fed, "i-1", voter, ballot)
    close(fed, "i-1", sign=False)
    # A seed made up before anything covered the closing: the tally is in the same batch.
    index = record_drawn_tally(fed, "i-1", TIED, rule=IRV, seed="i-1/guess", seed_checkpoint=0)
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "comes before any checkpoint signed over its closing" in report.failure.reason


def test_a_ballot_after_the_closing_fails_at_the_ballot(fed: RecordBuilder) -> None:
    closing = _closed_tie(fed)
    index = cast(fed, "i-1", "m-ana", {"ranking": [["b"]]}, time="2026-12-08T11:59:59.000000Z")
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert f"after its closing at entry {closing}" in report.failure.reason


def test_a_closing_before_the_deadline_fails_at_the_closing(fed: RecordBuilder) -> None:
    open_vote(fed, "i-1", method="irv", rule=IRV)
    index = close(fed, "i-1", time="2026-12-08T11:59:59.999999Z")
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "before its deadline" in report.failure.reason


def test_a_tally_without_the_seed_of_its_closing_fails_at_the_tally(fed: RecordBuilder) -> None:
    """Even a count that drew no lot carries the seed its closing fixed."""
    open_vote(fed, "i-1", method="irv", rule=IRV)
    cast(fed, "i-1", "m-ana", {"ranking": [["a"]]})
    cast(fed, "i-1", "m-ben", {"ranking": [["a"]]})
    closing = close(fed, "i-1")
    _, size = closing_seed_of(fed, closing)
    index = record_tally(fed, "i-1", [({"ranking": [["a"]]}, "1")] * 2, method="irv", rule=IRV)
    report = _verify(fed)
    assert report.failure is not None
    assert (report.failure.index, report.failure.code) == (index, "replay")
    assert "expected 'i-1/" in report.failure.reason
    assert f"(size {size})" in report.failure.reason
