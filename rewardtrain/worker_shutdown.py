"""A worker told to stop (Ctrl-C under `make run`, SIGTERM from a deploy) while it trains.

Celery's warm shutdown waits for running tasks, but a training run takes minutes to hours and
honcho kills whatever is left 5 s after its first process exited. So the run is asked to stop
instead: the signal sets a flag, the run's progress callback sees it at its next step or phase
(rewardtrain/runs.py) and the run is queued again for the next worker, not failed.

Where the signal lands: the solo pool runs the task in the worker's main process, whose warm
shutdown sends Celery's worker_shutting_down. A prefork pool child (the Procfile's worker) hears
nothing of that, but honcho signals the worker's whole process group, and Ctrl-C in a terminal
the foreground group: there billiard's SIGTERM handler would exit mid-step and SIGINT is
ignored, so while the child trains it has a handler of its own. A second SIGTERM still exits.
"""

import signal
import threading
from contextlib import contextmanager

from billiard.process import current_process

_requested = threading.Event()


def requested() -> bool:
    """Whether this process was told to stop."""
    return _requested.is_set()


def request_stop(**_signal_kwargs):
    """Ask a run in this process to stop at its next step (a receiver of worker_shutting_down)."""
    _requested.set()


@contextmanager
def stop_on_signal():
    """While the block runs in a pool child, SIGTERM and SIGINT ask the run to stop (the first
    SIGTERM; a second one gets billiard's handler, which exits)."""
    if current_process().name == "MainProcess" or threading.current_thread() is not threading.main_thread():
        yield  # the solo pool, or a test: worker_shutting_down says it
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(signum, frame):
        if signum == signal.SIGTERM and _requested.is_set() and callable(previous[signum]):
            previous[signum](signum, frame)
        _requested.set()

    for signum in previous:
        signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
