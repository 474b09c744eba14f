"""The public record over HTTP: static tlog-tiles, the checkpoint, the proof API, receipts."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from konsilo.record import Checkpoint as CheckpointText
from konsilo.record import (
    TileHashReader,
    decode_entry_bundle,
    entry_bundles_for_size,
    leaf_hash,
    open_checkpoint,
    root_from_leaf_hashes,
    sign_checkpoint,
    tiles_for_size,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
)
from konsilo.web.ledger import keys, selectors
from konsilo.web.ledger.actions import append
from konsilo.web.ledger.models import Checkpoint, Entry, LogState, TreeTile
from konsilo.web.ledger.sequencer import sequence
from konsilo.web.ledger.store import StoredHashReader
from tests.personas import Federation
from tests.web.ledger_helpers import append_one, bodies


@pytest.fixture
def log(fed: Federation) -> Federation:
    """The federation with 600 more entries, sequenced in batches: 627 entries, 2 full tiles."""
    sequence(fed.org, batch_size=10)
    with transaction.atomic():
        for n in range(600):
            append("test.entry", {"n": n}, organisation=fed.org)
    sequence(fed.org, batch_size=250)
    return fed


def _get(path: str) -> Any:
    return Client().get(path)


def _api(path: str) -> tuple[int, Any]:
    response = Client().get(f"/api/v1/log/fed{path}")
    return response.status_code, json.loads(response.content)


def test_the_checkpoint_is_served_as_signed_and_not_cached(log: Federation) -> None:
    response = _get("/log/fed/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    note = response.content.decode()
    assert note == selectors.latest_checkpoint(log.org).note
    vkey = _get("/log/fed/verifier.key").content.decode().strip()
    assert vkey == selectors.verifier(log.org).vkey
    from konsilo.record import Verifier

    assert open_checkpoint(note, Verifier.from_vkey(vkey)).size == 627


def test_every_tile_is_served_and_rehashes_to_the_checkpoint_root(log: Federation) -> None:
    from konsilo.record import Verifier

    checkpoint = open_checkpoint(
        _get("/log/fed/checkpoint").content,
        Verifier.from_vkey(_get("/log/fed/verifier.key").content.decode().strip()),
    )
    size = checkpoint.size
    served: dict[str, bytes] = {}
    for tile in tiles_for_size(size) + entry_bundles_for_size(size):
        response = _get(f"/log/fed/{tile.path}")
        assert response.status_code == 200, tile.path
        assert response["Content-Type"] == "application/octet-stream"
        expected = "public, max-age=31536000, immutable" if tile.is_full else "no-cache"
        assert response["Cache-Control"] == expected, tile.path
        served[tile.path] = response.content
    assert sorted(served) == sorted(
        [
            "tile/0/000", "tile/0/001", "tile/0/002.p/115", "tile/1/000.p/2",
            "tile/entries/000", "tile/entries/001", "tile/entries/002.p/115",
        ]
    )  # fmt: skip
    entries = [e for b in entry_bundles_for_size(size) for e in decode_entry_bundle(served[b.path])]
    assert [json.loads(e)["index"] for e in entries] == list(range(size))
    leaves = [leaf_hash(e) for e in entries]
    assert b"".join(leaves) == b"".join(
        served[t.path] for t in tiles_for_size(size) if t.level == 0
    )
    assert root_from_leaf_hashes(leaves) == checkpoint.root
    reader = TileHashReader(size, served.get)
    assert tree_root(size, reader) == checkpoint.root


def test_tiles_answer_head_requests(log: Federation) -> None:
    response = Client().head("/log/fed/tile/0/000")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Client().head("/log/fed/checkpoint").status_code == 200


def test_tiles_beyond_the_signed_tree_are_not_found(log: Federation) -> None:
    append_one(log.org)  # pending: never served
    for path in [
        "tile/0/003",  # beyond the tree
        "tile/0/002",  # full, but the tree holds only 115 of its hashes
        "tile/0/002.p/116",  # wider than the signed tree
        "tile/entries/002.p/116",
        "tile/1/000",
        "tile/2/000.p/1",
        "tile/0/2",  # not the canonical spelling
        "tile/0/x000/002",
        "tile/0/002.p/0",
        "tile/x/000",
    ]:
        assert _get(f"/log/fed/{path}").status_code == 404, path
    assert _get("/log/nowhere/checkpoint").status_code == 404
    assert _get("/log/nowhere/tile/0/000").status_code == 404
    # an older, narrower partial tile is a prefix of the stored one
    assert (
        _get("/log/fed/tile/0/002.p/7").content == _get("/log/fed/tile/0/002.p/115").content[:224]
    )


def test_large_tile_indices_use_the_x_path_encoding(fed: Federation) -> None:
    size = 256 * 1235 + 3
    data = bytes(range(32)) * 256
    TreeTile.objects.bulk_create([TreeTile(organisation=fed.org, level=0, index=1234, data=data)])
    LogState.objects.create(organisation=fed.org, origin="127.0.0.1/log/fed", size=size)
    note = sign_checkpoint(
        CheckpointText("127.0.0.1/log/fed", size, bytes(32)), keys.signer_for("127.0.0.1/log/fed")
    )
    Checkpoint.objects.create(
        organisation=fed.org, size=size, root=bytes(32), note=note, signed_at="2026-12-01T00:00Z"
    )
    assert _get("/log/fed/tile/0/x001/234").content == data
    assert _get("/log/fed/tile/0/1234").status_code == 404
    assert _get("/log/fed/tile/0/x001/235").status_code == 404


# -- the proof API ---------------------------------------------------------------------------


def test_inclusion_proofs_verify_with_the_pure_package(log: Federation) -> None:
    checkpoints = {c.size: c for c in Checkpoint.objects.filter(organisation=log.org)}
    for index, size in [(0, None), (5, 10), (300, 627), (626, None), (12, 277), (3, 100)]:
        status, body = _api(f"/proof/inclusion?index={index}" + (f"&size={size}" if size else ""))
        assert status == 200, body
        assert body["size"] == (size or 627)
        root = base64.b64decode(body["root"])
        if body["size"] in checkpoints:
            assert body["checkpoint"] == checkpoints[body["size"]].note
            assert root == bytes(checkpoints[body["size"]].root)
        else:
            assert body["checkpoint"] is None
        verify_inclusion(
            index=index,
            size=body["size"],
            leaf_hash=leaf_hash(body["entry"].encode()),
            proof=[base64.b64decode(h) for h in body["proof"]],
            root=root,
        )


def test_a_proof_is_made_in_the_tree_just_read_whatever_size_was_seen_before(
    log: Federation,
) -> None:
    """The proof reads its tiles with the checkpoint, for the size the log had at the last
    proof; when the log has grown since, or that size is wrong, the proof is the same."""
    from konsilo.record import MemoryHashReader, inclusion_proof

    def expected(index: int, size: int) -> list[bytes]:
        leaves = [leaf_hash(b) for b in bodies(log.org)[:size]]
        return inclusion_proof(index, size, MemoryHashReader.from_leaf_hashes(leaves))

    assert selectors.prove_inclusion(log.org, 600).proof == expected(600, 627)
    with transaction.atomic():
        for n in range(300):
            append("test.entry", {"n": n}, organisation=log.org)
    sequence(log.org, batch_size=1000)
    latest = selectors.latest_checkpoint(log.org)
    assert latest is not None
    assert latest.size == 927
    for index in (600, 626, 900, 926, 0):
        proof = selectors.prove_inclusion(log.org, index)
        assert (proof.size, proof.root, proof.checkpoint) == (927, bytes(latest.root), latest.note)
        assert proof.proof == expected(index, 927)
    for guess in (10**9, 700, 1):
        selectors._guessed_sizes[log.org.pk] = guess
        assert selectors.prove_inclusion(log.org, 650).proof == expected(650, 927)
        assert selectors.prove_inclusion(log.org, 650, 700).proof == expected(650, 700)


def test_consistency_proofs_verify_with_the_pure_package(log: Federation) -> None:
    verifier = selectors.verifier(log.org)
    signed = [open_checkpoint(c.note, verifier) for c in selectors.list_checkpoints(log.org)]
    for old in signed:
        status, body = _api(f"/proof/consistency?old={old.size}")
        assert status == 200, body
        new = open_checkpoint(body["new_checkpoint"], verifier)
        verify_consistency(
            old_size=old.size,
            new_size=new.size,
            old_root=old.root,
            new_root=new.root,
            proof=[base64.b64decode(h) for h in body["proof"]],
        )
    status, body = _api("/proof/consistency?old=0&new=10")
    assert status == 200
    assert body["proof"] == []


def test_a_receipt_verifies_offline(log: Federation) -> None:
    status, body = _api("/receipt/400")
    assert status == 200
    entry = _api("/entries/400")[1]["entry"].encode()
    checkpoint = verify_receipt(body["receipt"], entry=entry, verifier=selectors.verifier(log.org))
    assert checkpoint.size == 627
    download = _get("/log/fed/receipt/400.tlog-proof")
    assert download.content.decode() == body["receipt"]
    assert "attachment" in download["Content-Disposition"]


def test_the_log_summary_names_the_key_and_the_latest_checkpoint(log: Federation) -> None:
    status, body = _api("")
    assert status == 200
    assert body["size"] == 627
    assert body["origin"] == "127.0.0.1/log/fed"
    assert body["verifier_key"] == selectors.verifier(log.org).vkey


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/proof/inclusion?index=627", 400, "index"),
        ("/proof/inclusion?index=-1", 400, "index"),
        ("/proof/inclusion?index=10&size=10", 400, "index"),
        ("/proof/inclusion?index=1&size=628", 400, "size"),
        ("/proof/inclusion?index=abc", 422, "index"),
        ("/proof/consistency?old=628", 400, "old"),
        ("/proof/consistency?old=20&new=10", 400, "old"),
        ("/entries/627", 400, "index"),
        ("/receipt/9999", 400, "index"),
    ],
)
def test_bad_indices_and_sizes_get_the_standard_error(
    log: Federation, path: str, status: int, field: str
) -> None:
    got, body = _api(path)
    assert got == status
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["field"] == field


def test_an_unknown_log_is_not_found(log: Federation) -> None:
    response = Client().get("/api/v1/log/nowhere/proof/inclusion?index=0")
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["code"] == "not_found"


def test_pending_entries_are_never_exposed(log: Federation) -> None:
    append_one(log.org, 4242)
    assert _api("/entries/627")[0] == 400
    assert _get("/log/fed/tile/entries/002.p/116").status_code == 404
    # Its data, not just its digits: the bundle's times may hold "4242" too.
    assert b'"n":4242' not in _get("/log/fed/tile/entries/002.p/115").content
    assert _api("")[1]["size"] == 627


def test_after_a_rewrite_the_proofs_no_longer_prove_against_the_signed_checkpoint(
    log: Federation,
) -> None:
    last = selectors.latest_checkpoint(log.org)
    entry = Entry.objects.get(organisation=log.org, index=300)
    forged = bytes(entry.body).replace(b'"type":"', b'"type":"forged.')
    Entry.objects.filter(pk=entry.pk).update(body=forged)
    status, body = _api("/proof/inclusion?index=300")
    assert status == 409
    assert body["error"]["code"] == "record_inconsistent"
    assert "no longer matches its last signed checkpoint" in body["error"]["message"]
    # The proof the stored tiles give does not prove the stored entry against what was signed.
    from konsilo.record import ProofError, inclusion_proof

    proof = inclusion_proof(300, last.size, StoredHashReader(log.org.pk))
    with pytest.raises(ProofError):
        verify_inclusion(
            index=300, size=last.size, leaf_hash=leaf_hash(forged), proof=proof,
            root=bytes(last.root),
        )  # fmt: skip


def test_after_a_rewritten_hash_the_proofs_no_longer_prove(log: Federation) -> None:
    tile = TreeTile.objects.get(organisation=log.org, level=1, index=0)
    TreeTile.objects.filter(pk=tile.pk).update(data=bytes(32) + bytes(tile.data)[32:])
    assert _api("/proof/inclusion?index=300")[0] == 409
    assert _api("/proof/consistency?old=277")[0] == 409
