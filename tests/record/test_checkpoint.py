"""C2SP checkpoints: the konsilo demo checkpoint byte for byte, parsing, the signing guard."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo.record.checkpoint import (
    Checkpoint,
    CheckpointError,
    InconsistentCheckpointError,
    check_consistent_to_sign,
    open_checkpoint,
    sign_checkpoint,
)
from konsilo.record.merkle import (
    EMPTY_ROOT,
    MemoryHashReader,
    consistency_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from konsilo.record.note import (
    Cosigner,
    InvalidSignatureError,
    Signer,
    UnverifiedNoteError,
    Verifier,
    open_note,
    sign_note,
)

ORIGIN = "konsilo.example/log"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
DEMO_ROOT = "oXN+0JmQ2ctei8VN1gDQvVT7avLM+ojUDoCqI++NbyE="
DEMO_NOTE = (
    "konsilo.example/log\n"
    "5\n"
    "oXN+0JmQ2ctei8VN1gDQvVT7avLM+ojUDoCqI++NbyE=\n"
    "\n"
    "— konsilo.example/log kBfrASmxw6wtnd5tUhkqaJ0VEs824XMcMccPItBJ/IASMEpJFKJ7QTeHZ88gJmO6vByJ6a"
    "i6RPjfrLVpZs4DwOR0AgU=\n"
)
DEMO_VKEY = "konsilo.example/log+9017eb01+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"


def test_konsilo_demo_checkpoint_is_reproduced_byte_for_byte() -> None:
    checkpoint = Checkpoint(ORIGIN, 5, base64.b64decode(DEMO_ROOT))
    assert LOG.vkey == DEMO_VKEY
    assert sign_checkpoint(checkpoint, LOG) == DEMO_NOTE
    # The signed message is the three lines with their newlines: 20 + 2 + 45 bytes.
    assert len(checkpoint.text.encode()) == 67
    blob = base64.b64decode(DEMO_NOTE.rsplit(" ", 1)[1])
    assert len(blob) == 68
    assert blob[:4] == bytes.fromhex("9017eb01")


def test_demo_checkpoint_opens_with_the_published_verifier_key() -> None:
    checkpoint = open_checkpoint(DEMO_NOTE, Verifier.from_vkey(DEMO_VKEY))
    assert checkpoint == Checkpoint(ORIGIN, 5, base64.b64decode(DEMO_ROOT))


def test_checkpoint_signed_by_another_key_is_rejected() -> None:
    other = Signer.from_seed(ORIGIN, bytes(32))
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(DEMO_NOTE, other.verifier)


def test_tampered_checkpoint_is_rejected() -> None:
    with pytest.raises(InvalidSignatureError):
        open_checkpoint(DEMO_NOTE.replace("\n5\n", "\n6\n"), LOG.verifier)


def test_checkpoint_whose_origin_is_not_the_key_name_is_rejected() -> None:
    other = Signer.from_seed("other.example/log", bytes(range(32)))
    note = sign_note(Checkpoint(ORIGIN, 0, EMPTY_ROOT).text, [other])
    with pytest.raises(CheckpointError, match=r"expected the log 'other\.example/log'"):
        open_checkpoint(note, other.verifier)
    with pytest.raises(CheckpointError, match="key name must be the origin"):
        sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), other)


def test_witness_cosignatures_do_not_stop_the_log_signature_from_verifying() -> None:
    witness = Cosigner.from_seed("witness.example", bytes(range(1, 33)), timestamp=1)
    opened = open_note(DEMO_NOTE, [LOG.verifier])
    cosigned = sign_note(opened.text, [witness], existing=opened.signatures)
    assert open_checkpoint(cosigned, LOG.verifier).size == 5


def test_extension_lines_round_trip() -> None:
    checkpoint = Checkpoint(ORIGIN, 1, leaf_hash(b"x"), ("ext one", "ext two"))
    assert checkpoint.text.endswith("ext one\next two\n")
    assert Checkpoint.parse(checkpoint.text) == checkpoint
    assert open_checkpoint(sign_checkpoint(checkpoint, LOG), LOG.verifier) == checkpoint


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("konsilo.example/log\n5\n" + DEMO_ROOT, "end in a newline"),
        ("konsilo.example/log\n5\n", "origin, size and root"),
        ("konsilo.example/log\n05\n" + DEMO_ROOT + "\n", "leading zeros"),
        ("konsilo.example/log\n+5\n" + DEMO_ROOT + "\n", "decimal"),
        ("konsilo.example/log\n٥\n" + DEMO_ROOT + "\n", "decimal"),
        ("konsilo.example/log\n1_0\n" + DEMO_ROOT + "\n", "decimal"),
        ("konsilo.example/log\n18446744073709551616\n" + DEMO_ROOT + "\n", "2\\^64"),
        ("konsilo.example/log\n5\n" + DEMO_ROOT[:-4] + "\n", "32-byte"),
        ("konsilo.example/log\n5\n" + DEMO_ROOT[:-2] + "F=\n", "32-byte"),
        ("konsilo.example/log\n5\nnot base64!\n", "base64"),
        ("konsilo example\n5\n" + DEMO_ROOT + "\n", "origin"),
        ("konsilo+example\n5\n" + DEMO_ROOT + "\n", "origin"),
        ("\n5\n" + DEMO_ROOT + "\n", "origin"),
        ("konsilo.example/log\n5\n" + DEMO_ROOT + "\n\n", "extension"),
    ],
)
def test_malformed_checkpoint_text_is_rejected(text: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.parse(text)


def test_empty_tree_checkpoint_has_size_zero() -> None:
    text = Checkpoint(ORIGIN, 0, EMPTY_ROOT).text
    assert text.split("\n")[1] == "0"
    assert Checkpoint.parse(text).size == 0


@given(st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32))
def test_any_checkpoint_round_trips(size: int, root: bytes) -> None:
    checkpoint = Checkpoint(ORIGIN, size, root)
    assert Checkpoint.parse(checkpoint.text) == checkpoint


# --- the signing guard ---------------------------------------------------------------------

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(20)]
READER = MemoryHashReader.from_leaf_hashes(LEAVES)


def _checkpoint(n: int) -> Checkpoint:
    return Checkpoint(ORIGIN, n, root_from_leaf_hashes(LEAVES[:n]))


def test_first_checkpoint_may_be_signed() -> None:
    check_consistent_to_sign(None, _checkpoint(7), [])


@pytest.mark.parametrize(("old", "new"), [(0, 5), (5, 5), (5, 13), (8, 20), (13, 20)])
def test_a_tree_that_extends_the_last_signed_one_may_be_signed(old: int, new: int) -> None:
    check_consistent_to_sign(
        _checkpoint(old), _checkpoint(new), consistency_proof(old, new, READER)
    )


def test_rewritten_history_is_refused_loudly() -> None:
    rewritten = [*LEAVES[:3], leaf_hash(b"forged"), *LEAVES[4:13]]
    forged_reader = MemoryHashReader.from_leaf_hashes(rewritten)
    new = Checkpoint(ORIGIN, 13, root_from_leaf_hashes(rewritten))
    with pytest.raises(InconsistentCheckpointError, match=r"REFUSING TO SIGN.*NOT consistent"):
        check_consistent_to_sign(_checkpoint(8), new, consistency_proof(8, 13, forged_reader))


def test_a_shrinking_tree_is_refused() -> None:
    with pytest.raises(InconsistentCheckpointError, match="never shrinks"):
        check_consistent_to_sign(_checkpoint(8), _checkpoint(5), [])


def test_same_size_with_another_root_is_refused() -> None:
    other = Checkpoint(ORIGIN, 8, leaf_hash(b"other"))
    with pytest.raises(InconsistentCheckpointError, match="different roots"):
        check_consistent_to_sign(_checkpoint(8), other, [])


def test_another_origin_is_refused() -> None:
    other = Checkpoint("other.example/log", 8, _checkpoint(8).root)
    with pytest.raises(InconsistentCheckpointError, match="origin"):
        check_consistent_to_sign(_checkpoint(8), other, [])
