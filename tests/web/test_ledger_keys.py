"""The record's signing key: created once outside the database (0600), or from the
environment; refused when unsafe; never logged; its verifier key published."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from django.test import Client

from konsilo.record import Verifier, open_checkpoint
from konsilo.web.checks import production_problems
from konsilo.web.ledger import keys, selectors
from konsilo.web.ledger.sequencer import sequence
from tests.personas import Federation


@pytest.fixture
def data_dir(settings: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("KONSILO_LOG_KEY", raising=False)
    monkeypatch.delenv("KONSILO_LOG_KEY_FILE", raising=False)
    settings.DATA_DIR = tmp_path  # type: ignore[attr-defined]
    keys.clear_cache()
    yield tmp_path
    keys.clear_cache()


def test_the_key_file_is_created_once_readable_by_its_owner_only(data_dir: Path) -> None:
    first = keys.signer_for("example.org/log/a")
    path = data_dir / "log.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(base64.b64decode(path.read_text())) == 32
    keys.clear_cache()
    assert keys.signer_for("example.org/log/a").vkey == first.vkey


def test_each_log_has_its_own_key(data_dir: Path) -> None:
    a, b = keys.signer_for("example.org/log/a"), keys.signer_for("example.org/log/b")
    assert a.vkey.split("+")[2] != b.vkey.split("+")[2]


def test_a_key_file_others_can_read_is_refused(data_dir: Path) -> None:
    path = data_dir / "log.key"
    path.write_text(base64.b64encode(bytes(32)).decode())
    path.chmod(0o644)
    with pytest.raises(keys.SigningKeyError, match="readable by its owner only"):
        keys.signer_for("example.org/log/a")


def test_the_key_can_come_from_the_environment(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = base64.b64encode(bytes(range(32))).decode()
    monkeypatch.setenv("KONSILO_LOG_KEY", secret)
    from_env = keys.signer_for("example.org/log/a").vkey
    monkeypatch.delenv("KONSILO_LOG_KEY")
    key_file = tmp_path / "secret" / "key"
    key_file.parent.mkdir()
    key_file.write_text(secret + "\n")
    key_file.chmod(0o600)
    monkeypatch.setenv("KONSILO_LOG_KEY_FILE", str(key_file))
    assert keys.signer_for("example.org/log/a").vkey == from_env
    assert not (data_dir / "log.key").exists()


def test_production_refuses_to_start_without_a_key(
    data_dir: Path, settings: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    problems = production_problems()
    assert any("signing key is missing" in p and "KONSILO_LOG_KEY_FILE" in p for p in problems)
    with pytest.raises(keys.SigningKeyError, match="missing"):
        keys.signer_for("example.org/log/a")
    assert not (data_dir / "log.key").exists()
    monkeypatch.setenv("KONSILO_LOG_KEY", "not base64!")
    assert any("KONSILO_LOG_KEY: expected 32 random bytes" in p for p in production_problems())
    monkeypatch.setenv("KONSILO_LOG_KEY", base64.b64encode(bytes(32)).decode())
    assert not any("KONSILO_LOG_KEY" in p for p in production_problems())


def test_the_key_never_reaches_the_logs(
    data_dir: Path, fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        sequence(fed.org)
        Client().get("/log/fed/checkpoint")
        Client().get("/api/v1/log/fed")
    secret_b64 = (data_dir / "log.key").read_text().strip()
    secret = base64.b64decode(secret_b64)
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert secret_b64 not in text
    assert secret.hex() not in text
    assert "PRIVATE+KEY" not in text


def test_the_verifier_key_is_published(data_dir: Path, fed: Federation) -> None:
    (note,) = sequence(fed.org)
    served = Client().get("/log/fed/verifier.key")
    assert served["Content-Type"] == "text/plain; charset=utf-8"
    vkey = served.content.decode().strip()
    assert vkey == selectors.verifier(fed.org).vkey
    assert vkey.startswith("127.0.0.1/log/fed+")
    assert open_checkpoint(note, Verifier.from_vkey(vkey)).size == 27


def test_the_origin_comes_from_the_setting(
    data_dir: Path, fed: Federation, settings: pytest.FixtureRequest
) -> None:
    settings.KONSILO_LOG_ORIGIN = "record.example.coop/{slug}"  # type: ignore[attr-defined]
    (note,) = sequence(fed.org)
    assert note.startswith("record.example.coop/fed\n27\n")
    settings.KONSILO_LOG_ORIGIN = "elsewhere/{slug}"  # type: ignore[attr-defined]
    assert selectors.log_origin(fed.org) == "record.example.coop/fed"  # a log keeps its origin
