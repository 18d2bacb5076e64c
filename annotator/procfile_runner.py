"""`make run`'s process manager: honcho on the Procfile, given the time a clean stop takes.

On Ctrl-C honcho sends SIGTERM to web, worker and beat, then SIGKILLs whatever still runs
honcho.manager.KILL_WAIT seconds after the first of them stopped. Its 5 s is less than a Celery
worker takes to stop warm (it finishes its broker poll, up to 2 s, re-queues an interrupted
training run, then joins its pool: 5-7 s measured on 2 cores), so the worker was killed halfway.
ARBITER_STOP_SECONDS (default 9) replaces it, which keeps the whole stop within 10 s.
"""

import os
import sys

from honcho import command, manager

DEFAULT_STOP_SECONDS = 9.0


def stop_seconds(environ=os.environ) -> float:
    raw = environ.get("ARBITER_STOP_SECONDS", "")
    try:
        seconds = float(raw) if raw else DEFAULT_STOP_SECONDS
    except ValueError:
        raise SystemExit(f"ARBITER_STOP_SECONDS must be a number of seconds, not {raw!r}") from None
    if not 0 < seconds <= 3600:
        raise SystemExit(f"ARBITER_STOP_SECONDS must be above 0 and at most 3600, not {raw!r}")
    return seconds


def main(argv=None):
    manager.KILL_WAIT = stop_seconds()
    command.main(["start", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
