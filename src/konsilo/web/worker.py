"""The background worker: django-tasks' database worker plus the record's sequencer.

``konsilo worker`` runs it as its own process (production); ``konsilo serve`` runs it in a
thread in development. Every ``KONSILO_WORKER_INTERVAL`` seconds it records a heartbeat (so
that the write path leaves sequencing to it), sequences every organisation's pending record
entries, and enqueues the periodic tasks named in ``KONSILO_PERIODIC_TASKS`` (dotted paths of
django-tasks ``@task`` functions) unless one of them is still waiting, or running in as many
workers as are alive. A run left RUNNING by a worker that stopped reporting is marked FAILED,
saying which worker stopped. The enqueued tasks, and any others, are run by django_tasks_db's
database worker in a thread.

Any number of ``konsilo worker`` processes may run at once, on one machine or several: each
sequences the logs no other is sequencing, and a large closing (a federation's bases at
one deadline) is shared among the workers running ``close_due_votes`` at that moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Worker as TaskWorker
from django_tasks_db.models import DBTaskResult

from konsilo.web.ledger.actions import forget_worker_state, live_heartbeats
from konsilo.web.ledger.models import WorkerHeartbeat
from konsilo.web.ledger.sequencer import sequence_all

logger = logging.getLogger("konsilo.worker")


def heartbeat(worker_id: str) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id, defaults={"seen_at": timezone.now()}
    )


def live_workers() -> set[str]:
    """The ids of the workers that reported in recently."""
    return set(live_heartbeats().values_list("worker_id", flat=True))


def enqueue_periodic_tasks() -> int:
    """Enqueue each task of ``KONSILO_PERIODIC_TASKS`` that is not already waiting, and is
    running in fewer workers than are alive.

    Several workers therefore run a periodic task at once when there is work for more
    than one (``close_due_votes`` shares a federation's closing among them, see
    ``decisions.tasks``), and never more than one run of it waits in the queue. A run left
    RUNNING by a worker that stopped reporting (killed mid-task) no longer counts, so it
    never holds the task back.
    """
    enqueued = 0
    live: set[str] | None = None
    for path in getattr(settings, "KONSILO_PERIODIC_TASKS", []):
        task = import_string(path)
        runs = list(
            DBTaskResult.objects.filter(
                task_path=task.module_path, status__in=["READY", "RUNNING"]
            ).values_list("status", "worker_ids")
        )
        if any(status == "READY" for status, _ in runs):
            continue
        if runs:
            live = live_workers() if live is None else live
            running = sum(1 for _, ids in runs if ids and ids[-1] in live)
            if running >= max(1, len(live)):
                continue
        task.enqueue()
        enqueued += 1
    return enqueued


class WorkerStopped(Exception):  # noqa: N818 (the name a failed run shows)
    """The worker running a task stopped reporting before the task ended."""


def fail_abandoned_runs() -> int:
    """Mark FAILED the runs left RUNNING by workers that stopped reporting (killed
    mid-task, their machine down), so that the task's history says what became of them.

    Only runs that started longer than ``KONSILO_WORKER_STALE_SECONDS`` ago are looked at,
    so a worker that has just claimed a run and not yet reported in keeps it; a run that
    ends meanwhile keeps its own result. Returns how many runs were marked.
    """
    stale = getattr(settings, "KONSILO_WORKER_STALE_SECONDS", 15)
    now = timezone.now()
    runs = list(
        DBTaskResult.objects.filter(
            status="RUNNING", started_at__lt=now - dt.timedelta(seconds=stale)
        ).values_list("pk", "task_path", "worker_ids")
    )
    if not runs:
        return 0
    live = live_workers()
    failed = 0
    for pk, path, ids in runs:
        if ids and ids[-1] in live:
            continue
        worker = ids[-1] if ids else "unknown"
        error = WorkerStopped(
            f"the worker {worker} running {path} stopped reporting before the task ended"
        )
        # Only while still RUNNING: never over the result of a run that ended meanwhile.
        failed += DBTaskResult.objects.filter(pk=pk, status="RUNNING").update(
            status="FAILED",
            finished_at=now,
            return_value=None,
            exception_class_path=f"{WorkerStopped.__module__}.{WorkerStopped.__qualname__}",
            traceback=f"{WorkerStopped.__qualname__}: {error}\n",
        )
        logger.warning("%s", error)
    return failed


def tick(worker_id: str) -> int:
    """One round: heartbeat, sequence every log (or audit it when quiet), mark the runs of
    stopped workers failed, enqueue the periodic tasks."""
    heartbeat(worker_id)
    signed = sequence_all(drain=False, audit_idle=True)
    fail_abandoned_runs()
    enqueue_periodic_tasks()
    return signed


class Worker:
    """Runs the task worker in a thread and the record's round in the calling thread."""

    def __init__(self, *, interval: float | None = None, worker_id: str | None = None) -> None:
        self.interval = settings.KONSILO_WORKER_INTERVAL if interval is None else interval
        self.worker_id = worker_id or f"konsilo-{get_random_string(16)}"
        self.stopped = threading.Event()
        self._tasks: Any = None

    def _run_tasks(self) -> None:
        self._tasks = TaskWorker(
            queue_names=["*"],
            interval=min(self.interval, 1.0),
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )
        try:
            self._tasks.run()
        finally:
            connection.close()

    def run(self) -> None:
        """Run until `stop` is called (or the process is interrupted)."""
        tasks = threading.Thread(target=self._run_tasks, name="konsilo-tasks", daemon=True)
        if _uses_task_database():
            tasks.start()
        try:
            while not self.stopped.is_set():
                close_old_connections()
                try:
                    tick(self.worker_id)
                except Exception:
                    logger.exception("worker round failed; trying again in %s s", self.interval)
                self.stopped.wait(self.interval)
        finally:
            if self._tasks is not None:
                self._tasks.running = False
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
            forget_worker_state()  # this process's writers sequence by themselves again
            connection.close()

    def stop(self) -> None:
        self.stopped.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="konsilo-worker", daemon=True)
        thread.start()
        return thread


def _uses_task_database() -> bool:
    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    return str(backend).startswith("django_tasks_db")
