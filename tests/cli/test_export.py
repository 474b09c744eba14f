"""``konsilo export ORG --out DIR``: the record contract's layout, streamed, refusing bad input."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from django.db import transaction

from konsilo import canonical
from konsilo.cli.main import main
from konsilo.record import (
    Verifier,
    leaf_hash,
    open_checkpoint,
    root_from_leaf_hashes,
)
from konsilo.web.ledger import selectors
from konsilo.web.ledger.actions import append, store_text
from konsilo.web.ledger.models import Checkpoint, Entry
from konsilo.web.ledger.sequencer import sequence
from tests.cli.test_cli import _sqlite_env, konsilo
from tests.personas import Federation


def test_export_writes_the_contracts_layout(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sequence(fed.org, batch_size=10)
    text = "A long motion text. " * 500
    with transaction.atomic():
        digest = store_text(text)
        append("motion.proposed", {"text": digest}, organisation=fed.org)
    out = tmp_path / "export"
    assert main(["export", "fed", "--out", str(out)]) == 0  # sequences the pending entry first
    assert "exported 28 entries" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt",
        "checkpoints",
        "entries.jsonl",
        "manifest.json",
        "texts",
        "verifier.key",
    ]
    manifest_bytes = (out / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    assert canonical.dumps(manifest) == manifest_bytes
    assert manifest["format"] == "konsilo-export/1"
    assert manifest["organisation"] == "fed"
    assert manifest["size"] == 28
    assert manifest["origin"] == "127.0.0.1/log/fed"
    vkey = (out / "verifier.key").read_text()
    assert vkey == manifest["verifier_key"] + "\n" == selectors.verifier(fed.org).vkey + "\n"

    raw = (out / "entries.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    lines = raw[:-1].split(b"\n")
    assert lines == [
        bytes(b)
        for b in Entry.objects.filter(organisation=fed.org)
        .order_by("index")
        .values_list("body", flat=True)
    ]
    assert [json.loads(line)["index"] for line in lines] == list(range(28))

    verifier = Verifier.from_vkey(manifest["verifier_key"])
    files = sorted((out / "checkpoints").iterdir())
    assert [f.name for f in files] == [f"{s:020d}.txt" for s in (10, 20, 27, 28)]
    leaves = [leaf_hash(line) for line in lines]
    for f in files:
        note = f.read_text(encoding="utf-8")
        assert note == Checkpoint.objects.get(organisation=fed.org, size=int(f.stem)).note
        checkpoint = open_checkpoint(note, verifier)
        assert checkpoint.root == root_from_leaf_hashes(leaves[: checkpoint.size])

    assert [p.name for p in (out / "texts").iterdir()] == [digest]
    assert hashlib.sha256((out / "texts" / digest).read_bytes()).hexdigest() == digest
    assert "konsilo verify" in (out / "README.txt").read_text()


def test_konsilo_verify_accepts_the_export_and_finds_a_rewritten_entry(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sequence(fed.org, batch_size=4)
    assert main(["export", "fed", "--out", str(tmp_path / "good")]) == 0
    assert main(["verify", str(tmp_path / "good")]) == 0
    assert "verified the record of fed" in capsys.readouterr().out
    entry = Entry.objects.get(organisation=fed.org, index=9)
    forged = bytes(entry.body).replace(b'"name":"', b'"name":"Forged ', 1)
    assert forged != bytes(entry.body)
    Entry.objects.filter(pk=entry.pk).update(body=forged)
    assert main(["export", "fed", "--out", str(tmp_path / "bad")]) == 0
    assert main(["verify", str(tmp_path / "bad")]) == 1
    # the first signed checkpoint over entry 9 (batches of 4: sizes 4, 8, 12, ...)
    assert "(size 12): the entries are not what the log signed" in capsys.readouterr().out


def test_export_refuses_an_unknown_organisation(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "nowhere", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["konsilo export: no organisation 'nowhere'"]
    assert not (tmp_path / "x").exists()


def test_export_refuses_a_non_empty_directory(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "old.txt").write_text("keep me")
    assert main(["export", "fed", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "not an empty directory" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


def test_export_of_the_demo_from_the_command_line(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    assert konsilo("demo", "--no-serve", env=env).returncode == 0
    result = konsilo("export", "demo", "--out", str(tmp_path / "demo-record"), env=env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "demo-record" / "manifest.json").read_bytes())
    lines = (tmp_path / "demo-record" / "entries.jsonl").read_bytes().splitlines()
    assert len(lines) == manifest["size"] > 300
    key = tmp_path / "data" / "log.key"
    assert key.stat().st_mode & 0o777 == 0o600
    secret = key.read_text().strip()
    assert len(base64.b64decode(secret)) == 32
    assert secret not in result.stdout + result.stderr
