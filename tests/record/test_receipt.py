"""c2sp.org/tlog-proof@v1 receipts: create, parse, and verify offline against the log key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo.record.checkpoint import Checkpoint, CheckpointError, sign_checkpoint
from konsilo.record.merkle import MemoryHashReader, inclusion_proof, leaf_hash, tree_root
from konsilo.record.note import (
    Cosigner,
    InvalidSignatureError,
    Signer,
    UnverifiedNoteError,
    open_note,
    sign_note,
)
from konsilo.record.receipt import (
    RECEIPT_HEADER,
    Receipt,
    ReceiptError,
    create_receipt,
    parse_receipt,
    verify_receipt,
)

ORIGIN = "konsilo.example/log"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
ENTRIES = [f'{{"index":{i},"type":"ballot"}}'.encode() for i in range(37)]
READER = MemoryHashReader.from_leaf_hashes([leaf_hash(e) for e in ENTRIES])
SIZE = len(ENTRIES)


def _checkpoint_note(size: int = SIZE) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, tree_root(size, READER)), LOG)


NOTE = _checkpoint_note()


def _receipt(index: int, size: int = SIZE, extra: bytes | None = None) -> str:
    return create_receipt(
        index, inclusion_proof(index, size, READER), _checkpoint_note(size), extra
    )


# c2sp.org/tlog-proof example (its signatures are elided, so only the format is checked).
SPEC_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
"""


def test_spec_example_receipt_parses_and_formats_back() -> None:
    receipt = parse_receipt(SPEC_EXAMPLE)
    assert receipt.index == 73894
    assert len(receipt.proof) == 5
    assert receipt.extra is not None
    assert receipt.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert receipt.checkpoint_note.startswith("example.com/fancylog\n109482\n")
    assert receipt.text == SPEC_EXAMPLE


@pytest.mark.parametrize("index", [0, 1, 17, 31, 32, 36])
def test_receipt_for_each_entry_verifies_offline(index: int) -> None:
    text = _receipt(index)
    assert text.startswith(RECEIPT_HEADER + "\nindex ")
    checkpoint = verify_receipt(text, entry=ENTRIES[index], verifier=LOG.verifier)
    assert (checkpoint.origin, checkpoint.size) == (ORIGIN, SIZE)


def test_receipt_from_an_older_checkpoint_still_verifies() -> None:
    checkpoint = verify_receipt(_receipt(3, size=10), entry=ENTRIES[3], verifier=LOG.verifier)
    assert checkpoint.size == 10


def test_receipt_for_another_entry_is_rejected() -> None:
    with pytest.raises(ReceiptError, match="not proven at index 4"):
        verify_receipt(_receipt(4), entry=ENTRIES[5], verifier=LOG.verifier)


def test_receipt_with_a_changed_index_is_rejected() -> None:
    text = _receipt(4).replace("index 4\n", "index 5\n")
    with pytest.raises(ReceiptError, match="not proven"):
        verify_receipt(text, entry=ENTRIES[4], verifier=LOG.verifier)


def test_receipt_with_a_changed_size_is_rejected_by_the_log_signature() -> None:
    text = _receipt(4).replace(f"\n{SIZE}\n", f"\n{SIZE + 1}\n")
    with pytest.raises(InvalidSignatureError):
        verify_receipt(text, entry=ENTRIES[4], verifier=LOG.verifier)


def test_receipt_signed_by_another_log_is_rejected() -> None:
    impostor = Signer.from_seed(ORIGIN, bytes(32))
    with pytest.raises(UnverifiedNoteError):
        verify_receipt(_receipt(4), entry=ENTRIES[4], verifier=impostor.verifier)
    other_origin = Signer.from_seed("other.example/log", bytes(range(32)))
    checkpoint = Checkpoint(ORIGIN, 1, leaf_hash(ENTRIES[0]))
    note = sign_note(checkpoint.text, [other_origin])
    with pytest.raises(CheckpointError, match="origin"):
        verify_receipt(
            create_receipt(0, [], note), entry=ENTRIES[0], verifier=other_origin.verifier
        )


def test_extra_data_round_trips_and_is_not_needed_to_verify() -> None:
    text = _receipt(2, extra=b"ballot receipt code 7F3K")
    assert parse_receipt(text).extra == b"ballot receipt code 7F3K"
    verify_receipt(text, entry=ENTRIES[2], verifier=LOG.verifier)


def test_witness_quorum_counts_only_trusted_cosignatures() -> None:
    w1 = Cosigner.from_seed("w1.example", bytes([1]) * 32, timestamp=10)
    w2 = Cosigner.from_seed("w2.example", bytes([2]) * 32, timestamp=11)
    opened = open_note(NOTE, [LOG.verifier])
    witnesses = [w1.verifier, w2.verifier]

    def receipt(cosigners: list[Cosigner]) -> str:
        note = sign_note(opened.text, cosigners, existing=opened.signatures)
        return create_receipt(6, inclusion_proof(6, SIZE, READER), note)

    verify_receipt(
        receipt([w1, w2]), entry=ENTRIES[6], verifier=LOG.verifier, witnesses=witnesses, quorum=2
    )
    with pytest.raises(ReceiptError, match="1 trusted witness cosignatures, the policy needs 2"):
        verify_receipt(
            receipt([w1]), entry=ENTRIES[6], verifier=LOG.verifier, witnesses=witnesses, quorum=2
        )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("c2sp.org/tlog-proof@v2\nindex 0\n\n" + NOTE, "line 1"),
        (RECEIPT_HEADER + "\nindex 01\n\n" + NOTE, "leading zeros"),
        (RECEIPT_HEADER + "\nindex -1\n\n" + NOTE, "decimal"),
        (RECEIPT_HEADER + "\nidx 0\n\n" + NOTE, "'index <n>'"),
        (RECEIPT_HEADER + "\nextra !!\nindex 0\n\n" + NOTE, "extra"),
        (RECEIPT_HEADER + "\nindex 0\nAAAA\n\n" + NOTE, "32 bytes"),
        (RECEIPT_HEADER + "\nindex 0\n" + NOTE, "proof hash"),
        (RECEIPT_HEADER + "\nindex 0\n", "empty line"),
    ],
)
def test_malformed_receipts_are_rejected(text: str, reason: str) -> None:
    with pytest.raises(ReceiptError, match=reason):
        parse_receipt(text)


def test_receipt_refuses_a_short_proof_hash_or_an_unsigned_checkpoint() -> None:
    with pytest.raises(ReceiptError, match=r"proof\[0\]"):
        create_receipt(0, [b"short"], NOTE)
    with pytest.raises(ReceiptError, match="checkpoint_note"):
        create_receipt(0, [], Checkpoint(ORIGIN, 0, leaf_hash(b"")).text)


@given(st.integers(0, SIZE - 1), st.binary(max_size=40) | st.none())
@settings(max_examples=50)
def test_any_receipt_round_trips_through_its_text(index: int, extra: bytes | None) -> None:
    text = _receipt(index, extra=extra)
    receipt = parse_receipt(text)
    assert receipt == Receipt(index, tuple(inclusion_proof(index, SIZE, READER)), NOTE, extra)
    assert receipt.text == text
