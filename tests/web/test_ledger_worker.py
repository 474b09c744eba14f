"""`konsilo worker`: heartbeat, the record's sequencer, and the periodic tasks."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from konsilo.web.councils import actions
from konsilo.web.ledger import selectors
from konsilo.web.ledger.actions import append, forget_worker_state, worker_alive
from konsilo.web.ledger.models import Entry, WorkerHeartbeat
from konsilo.web.worker import Worker, enqueue_periodic_tasks, tick
from tests.cli.test_cli import _sqlite_env

PERIODIC = "tests.web.test_ledger_worker.count_a_round"
RUNS: list[int] = []


@task()
def count_a_round() -> int:
    RUNS.append(1)
    return len(RUNS)


def test_periodic_tasks_are_enqueued_once_until_they_ran(
    db: None, settings: pytest.FixtureRequest
) -> None:
    settings.KONSILO_PERIODIC_TASKS = [PERIODIC]  # type: ignore[attr-defined]
    assert enqueue_periodic_tasks() == 1
    assert enqueue_periodic_tasks() == 0  # still waiting: not piled up
    assert DBTaskResult.objects.filter(task_path=PERIODIC, status="READY").count() == 1
    DBTaskResult.objects.filter(task_path=PERIODIC).update(status="SUCCESSFUL")
    assert enqueue_periodic_tasks() == 1


def test_a_round_records_a_heartbeat_and_sequences_every_log(db: None) -> None:
    org = actions.create_organisation(actor=None, slug="solo", name="Solo", levels=["base"])
    assert Entry.objects.filter(index__isnull=True).count() == 2  # the test's transaction
    assert not worker_alive()
    assert tick("w-test") == 1
    assert worker_alive()
    assert selectors.signed_size(org) == 2
    forget_worker_state()


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_tasks_and_sequences_until_stopped(
    settings: pytest.FixtureRequest,
) -> None:
    settings.KONSILO_PERIODIC_TASKS = [PERIODIC]  # type: ignore[attr-defined]
    RUNS.clear()
    worker = Worker(interval=0.1, worker_id="w-thread")
    thread = worker.start_thread()
    try:
        deadline = time.monotonic() + 20
        while not WorkerHeartbeat.objects.filter(worker_id="w-thread").exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        org = actions.create_organisation(actor=None, slug="solo", name="Solo", levels=["base"])
        with transaction.atomic():
            append("test.entry", {"n": 1}, organisation=org)
        while (
            selectors.signed_size(org) < 3
            or not DBTaskResult.objects.filter(task_path=PERIODIC, status="SUCCESSFUL").exists()
        ):
            assert time.monotonic() < deadline, "the worker did not sequence or run the task"
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert RUNS
    assert not WorkerHeartbeat.objects.filter(worker_id="w-thread").exists()


def test_konsilo_worker_sequences_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    setup = (
        "from konsilo.cli.main import setup_django, migrate; setup_django(); migrate();"
        "from django.utils import timezone;"
        "from konsilo.web.ledger.models import WorkerHeartbeat;"
        "WorkerHeartbeat.objects.create(worker_id='other', seen_at=timezone.now());"
        "from konsilo.web.councils import actions;"
        "actions.create_organisation(actor=None, slug='solo', name='Solo', levels=['base'])"
    )
    subprocess.run([sys.executable, "-c", setup], env=env, check=True, timeout=120)
    worker = subprocess.Popen(
        [sys.executable, "-m", "konsilo.cli", "worker", "--interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    database = sqlite3.connect(tmp_path / "data" / "konsilo.sqlite3")
    try:
        deadline = time.monotonic() + 60
        while not database.execute("SELECT COUNT(*) FROM ledger_checkpoint").fetchone()[0]:
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker signed no checkpoint"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "konsilo worker" in out
    beats = database.execute("SELECT worker_id FROM ledger_workerheartbeat").fetchall()
    assert beats == [("other",)]  # its own heartbeat is gone
    pending = database.execute("SELECT COUNT(*) FROM ledger_entry WHERE `index` IS NULL")
    assert pending.fetchone()[0] == 0
