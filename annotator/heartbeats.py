"""A worker's heartbeat on its job's row (training runs, import jobs), and row writes that ride
out a short database outage.

A job row is claimed with a conditional UPDATE and carries a heartbeat; a periodic reaper fails
the rows whose heartbeat went stale. While the worker works, a thread writes the heartbeat. A
PostgreSQL restart or failover of some seconds must not end a job (the audit's 20 s outage failed
a training run two minutes later, as "worker stopped sending heartbeats"): a write that loses its
connection is tried again on a fresh one, with backoff, for up to ARBITER_DB_RETRY_SECONDS. Past
that the error is kept, so the worker fails the job with the real cause.
"""

import logging
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

log = logging.getLogger(__name__)

CONNECTION_ERRORS = (OperationalError, InterfaceError)  # the database is away, not the query wrong
HEARTBEAT_EVERY_S = 5.0  # well under ARBITER_HEARTBEAT_STALE_SECONDS (default 120)
FIRST_PAUSE_S, LONGEST_PAUSE_S = 0.5, 8.0


def retrying(write, *, what, seconds=None, sleep=time.sleep):
    """write()'s result; on a lost connection, tried again on a new one after 0.5, 1, 2 ... 8 s
    until `seconds` (ARBITER_DB_RETRY_SECONDS) have passed, then the last error is raised. Inside
    a transaction nothing is retried: the transaction is lost with its connection. `sleep(s)`
    returning true gives up at once (a heartbeat told to stop)."""
    deadline = time.monotonic() + (settings.ARBITER_DB_RETRY_SECONDS if seconds is None else seconds)
    pause = FIRST_PAUSE_S
    while True:
        try:
            return write()
        except CONNECTION_ERRORS as error:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            log.warning("%s not written, trying again in %.1f s: %s", what, pause, error)
            _close_broken()
            if sleep(pause):
                raise
        pause = min(pause * 2, LONGEST_PAUSE_S)


def _close_broken():
    """Drop this thread's connection, so the next query opens a new one (Django reconnects only
    at request boundaries, and a worker's task is not a request)."""
    try:
        connection.close()
    except DatabaseError:
        pass  # closing a broken connection can fail too; it is dropped either way


class Beat:
    """What the heartbeat thread tells the worker: `lost`, the connection error that outlasted
    ARBITER_DB_RETRY_SECONDS, or None."""

    def __init__(self):
        self.lost = None

    def check(self):
        """Raise the lost connection's error in the worker's thread."""
        if self.lost is not None:
            raise self.lost

    def checked(self, on_progress):
        """A progress callback that checks the heartbeat first, then calls `on_progress` if any."""

        def progress(report):
            self.check()
            if on_progress:
                on_progress(report)

        return progress


@contextmanager
def heartbeat(rows, *, what, every=None):
    """Write heartbeat_at on `rows()` (the job's row, filtered to this attempt while running) every
    `every` seconds from a thread while the block runs; yields a Beat.

    The thread says the worker process is alive: it stops when the process dies (killed for
    memory), once the row is no longer this attempt's, and when the database stayed away past
    ARBITER_DB_RETRY_SECONDS (Beat.lost). Another error (SQLite busy with the import's own
    transaction) is logged and the next beat tried.
    """
    beat, stop = Beat(), threading.Event()
    every = every or HEARTBEAT_EVERY_S

    def run():
        try:
            while not stop.wait(every):
                try:
                    mine = retrying(lambda: rows().update(heartbeat_at=timezone.now()), what=what, sleep=stop.wait)
                except CONNECTION_ERRORS as error:
                    if not stop.is_set():
                        log.error("%s: the database stayed away; giving up: %s", what, error)
                        beat.lost = error
                    return
                except DatabaseError as error:
                    log.warning("%s not written: %s", what, error)
                    continue
                if not mine:
                    return
        finally:
            _close_broken()  # this thread's own connection

    thread = threading.Thread(target=run, name=what, daemon=True)
    thread.start()
    try:
        yield beat
    finally:
        stop.set()
        thread.join()
