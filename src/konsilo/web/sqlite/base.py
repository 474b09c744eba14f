"""Django's SQLite backend, with writers in one process queued on a lock instead of polling.

SQLite lets one transaction write at a time. Django begins konsilo's transactions with
BEGIN IMMEDIATE, so a second writer waits in SQLite's busy handler, which sleeps 1, 2, 5,
10 … 100 ms between attempts: under many threads most of them sleep while the database is
idle. Here each write transaction first takes a lock shared by the process's connections to
the same file, so the next writer starts the moment the previous one commits. Writers in
other processes still meet SQLite's own lock and busy timeout. The lock wait is bounded by
the same ``timeout`` option, after which the usual "database is locked" error is raised.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock_for(name: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock: threading.Lock | None = None

    def _release_write_lock(self) -> None:
        lock, self._write_lock = self._write_lock, None
        if lock is not None:
            lock.release()

    def _start_transaction_under_autocommit(self) -> None:
        if self.transaction_mode in {"IMMEDIATE", "EXCLUSIVE"} and not self.is_in_memory_db():
            lock = _lock_for(str(self.settings_dict["NAME"]))
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            if not lock.acquire(timeout=timeout):
                raise OperationalError("database is locked")
            self._write_lock = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_write_lock()
