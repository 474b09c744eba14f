"""C2SP signed notes: the Go sumdb/note and C2SP known answers, key formats, cosignatures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo.record.note import (
    COSIGNATURE_V1,
    ED25519,
    Cosigner,
    InvalidKeyError,
    InvalidSignatureError,
    NoteError,
    Signature,
    Signer,
    UnverifiedNoteError,
    Verifier,
    cosignature_timestamp,
    generate_key,
    key_id,
    open_note,
    sign_note,
)

# golang.org/x/mod sumdb/note/note_test.go
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngot"
    "pRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)
PETER = Verifier.from_vkey(PETER_VKEY)
ENOCH = Verifier.from_vkey(ENOCH_VKEY)

# c2sp.org/signed-note example
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppz"
    "i2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# golang/mod gosumcheck: a real key whose base64 contains '+'
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"


def test_c2sp_example_note_verifies() -> None:
    opened = open_note(C2SP_NOTE, [Verifier.from_vkey(C2SP_VKEY)])
    assert opened.text == "This is an example message.\n"
    assert [s.name for s in opened.signatures] == ["example.com/foo"]
    assert opened.other_signatures == ()


def test_go_private_key_gives_the_published_verifier_key_and_reformats_exactly() -> None:
    signer = Signer.from_skey(PETER_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert signer.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY


def test_go_note_signature_is_reproduced_byte_for_byte() -> None:
    note = sign_note(TEXT, [Signer.from_skey(PETER_SKEY)])
    assert note == TEXT + "\n" + PETER_SIG


def test_signing_replaces_an_existing_signature_by_the_same_key() -> None:
    bad = Signature("PeterNeumann", 0xC74F20A3, b"\x00" * 64)
    note = sign_note(TEXT, [Signer.from_skey(PETER_SKEY)], existing=[bad])
    assert note == TEXT + "\n" + PETER_SIG


def test_signing_keeps_other_existing_signatures_first() -> None:
    enoch = Signature.parse(ENOCH_SIG)
    note = sign_note(TEXT, [Signer.from_skey(PETER_SKEY)], existing=[enoch])
    assert note == TEXT + "\n" + ENOCH_SIG + PETER_SIG


def test_signing_refuses_text_without_final_newline_or_with_control_characters() -> None:
    signer = Signer.from_skey(PETER_SKEY)
    with pytest.raises(NoteError, match="ending in a newline"):
        sign_note("abc", [signer])
    with pytest.raises(NoteError, match="control"):
        sign_note("a\tb\n", [signer])
    with pytest.raises(NoteError, match="at least one"):
        sign_note(TEXT, [])


def test_open_verifies_one_known_key_and_keeps_the_unknown_signature() -> None:
    opened = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [PETER])
    assert opened.text == TEXT
    assert [s.line for s in opened.signatures] == [PETER_SIG]
    assert [s.line for s in opened.other_signatures] == [ENOCH_SIG]
    assert opened.signatures[0].key_id == 0xC74F20A3
    assert opened.other_signatures[0].key_id == 0xAF0CFE78


def test_open_verifies_both_go_signatures() -> None:
    opened = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [PETER, ENOCH])
    assert [s.line for s in opened.signatures] == [PETER_SIG, ENOCH_SIG]
    assert opened.other_signatures == ()


def test_open_rejects_a_note_without_a_known_key() -> None:
    with pytest.raises(UnverifiedNoteError, match="no signature by a known key"):
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


def test_open_rejects_more_than_100_signatures() -> None:
    with pytest.raises(NoteError, match="at most 100"):
        open_note(TEXT + "\n" + PETER_SIG * 101, [PETER])
    assert len(open_note(TEXT + "\n" + PETER_SIG * 100, [PETER]).signatures) == 1


def test_open_rejects_the_note_when_a_known_key_signature_fails() -> None:
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignatureError, match="PeterNeumann\\+c74f20a3"):
        open_note(TEXT + "\n" + broken, [PETER])
    flipped = PETER_SIG.replace("kuBS9", "kuBS8")
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT + "\n" + flipped + ENOCH_SIG, [PETER, ENOCH])


def test_open_drops_repeated_signatures() -> None:
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    note = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    opened = open_note(note, [PETER])
    assert [s.line for s in opened.signatures] == [PETER_SIG]
    assert [s.line for s in opened.other_signatures] == [ENOCH_SIG, enoch_abcd]


def test_open_rejects_an_ambiguous_key_only_when_it_is_used() -> None:
    other_enoch = Verifier("EnochRoot", ED25519, PETER.public_key)
    # Two different keys with the same name and key ID (a 32-bit collision, or a bad list).
    other_enoch.key_id = ENOCH.key_id
    with pytest.raises(NoteError, match="ambiguous key EnochRoot\\+af0cfe78"):
        open_note(TEXT + "\n" + ENOCH_SIG, [ENOCH, PETER, other_enoch])
    open_note(TEXT + "\n" + PETER_SIG, [ENOCH, PETER, other_enoch])


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
        "fqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + "— PeterNeumann x08go\n",
    ],
)
def test_open_rejects_malformed_notes(note: str | bytes) -> None:
    with pytest.raises(NoteError):
        open_note(note, [PETER])


def test_text_is_split_at_the_last_blank_line() -> None:
    signer = Signer.from_seed("konsilo.example/log", bytes(range(32)))
    text = "first\n\nsecond\n\n"
    note = sign_note(text, [signer])
    assert open_note(note, [signer.verifier]).text == text


def test_verifier_key_base64_may_contain_plus() -> None:
    verifier = Verifier.from_vkey(SUMDB_VKEY)
    assert verifier.name == "sum.golang.org"
    assert verifier.key_id == 0x033DE0AE
    assert verifier.vkey == SUMDB_VKEY


@pytest.mark.parametrize(
    ("vkey", "reason"),
    [
        (
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "32 bytes",
        ),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key type"),
        ("", "expected"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ],
)
def test_mangled_verifier_keys_are_rejected(vkey: str, reason: str) -> None:
    with pytest.raises(InvalidKeyError, match=reason):
        Verifier.from_vkey(vkey)


def _manglings(key: str) -> list[str]:
    out = [key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)]
    out.remove(key)
    out += [key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))]
    return out


def test_every_substring_or_incremented_byte_of_a_verifier_key_is_rejected() -> None:
    # The same loop as Go's TestNewVerifier.
    accepted = []
    for k in _manglings(PETER_VKEY):
        try:
            Verifier.from_vkey(k)
        except InvalidKeyError:
            continue
        accepted.append(k)
    assert accepted == []


def test_every_substring_or_incremented_byte_of_a_private_key_is_rejected() -> None:
    accepted = []
    for k in _manglings(PETER_SKEY):
        try:
            Signer.from_skey(k)
        except InvalidKeyError:
            continue
        accepted.append(k)
    assert accepted == []


def test_konsilo_demo_key_from_seed_bytes_0_to_31() -> None:
    signer = Signer.from_seed("konsilo.example/log", bytes(range(32)))
    assert signer.key_id == 0x9017EB01
    assert (
        signer.vkey == "konsilo.example/log+9017eb01+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
    )


def test_key_id_is_the_sha256_prefix_of_name_newline_type_and_key() -> None:
    assert key_id(PETER.name, bytes([ED25519]) + PETER.public_key) == 0xC74F20A3


def test_generated_keys_sign_and_verify() -> None:
    skey, vkey = generate_key("EnochRoot")
    signer, verifier = Signer.from_skey(skey), Verifier.from_vkey(vkey)
    assert signer.key_id == verifier.key_id
    assert signer.name == verifier.name == "EnochRoot"
    sig = signer.sign(b"hi")
    assert verifier.verify(b"hi", sig)
    assert not verifier.verify(b"hj", sig)
    assert not verifier.verify(b"hi", bytes([sig[0] ^ 1]) + sig[1:])


def test_cosignature_lines_verify_with_the_cosigner_key_and_carry_a_timestamp() -> None:
    log = Signer.from_seed("konsilo.example/log", bytes(range(32)))
    witness = Cosigner.from_seed("witness.example", bytes(range(32, 64)), timestamp=1_700_000_000)
    assert witness.verifier.key_type == COSIGNATURE_V1
    assert witness.vkey.startswith("witness.example+")
    assert witness.key_id != Signer.from_seed("witness.example", bytes(range(32, 64))).key_id
    checkpoint = "konsilo.example/log\n5\n" + "A" * 43 + "=\n"
    note = sign_note(checkpoint, [log])
    opened = open_note(note, [log.verifier])
    cosigned = sign_note(
        opened.text, [witness], existing=[*opened.signatures, *opened.other_signatures]
    )
    # Without the witness key the cosignature is kept as an unverified line.
    plain = open_note(cosigned, [log.verifier])
    assert len(plain.other_signatures) == 1
    assert cosignature_timestamp(plain.other_signatures[0]) == 1_700_000_000
    both = open_note(cosigned, [log.verifier, Verifier.from_vkey(witness.vkey)])
    assert [s.name for s in both.signatures] == ["konsilo.example/log", "witness.example"]
    # A cosignature is bound to its timestamp.
    sig = plain.other_signatures[0]
    moved = Signature(sig.name, sig.key_id, (1).to_bytes(8, "big") + sig.signature[8:])
    forged = sign_note(opened.text, [], existing=[*opened.signatures, moved])
    with pytest.raises(InvalidSignatureError, match=r"witness\.example"):
        open_note(forged, [log.verifier, witness.verifier])


def test_cosigners_have_no_go_private_key_format() -> None:
    with pytest.raises(InvalidKeyError):
        _ = Cosigner.from_seed("w", bytes(32)).skey


@given(
    st.text(
        st.characters(blacklist_categories=["Cs"], min_codepoint=0x20) | st.just("\n"),
        max_size=200,
    )
)
def test_any_valid_text_round_trips_through_sign_and_open(body: str) -> None:
    signer = Signer.from_seed("konsilo.example/log", bytes(range(32)))
    text = body + "\n"
    assert open_note(sign_note(text, [signer]), [signer.verifier]).text == text
