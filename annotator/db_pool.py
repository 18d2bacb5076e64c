"""Django's PostgreSQL connection pool (ARBITER_DB_POOL) across fork.

A pool belongs to one process: its connections' sockets and its maintenance threads do not
survive a fork as the parent's own. A Celery worker's parent queries the database (it sends the
runs waiting for a worker when it is ready) and later forks children to replace ones that died or
retired: a child that inherited the parent's open pool would take a connection whose socket the
parent also uses. So each process closes its pools before it forks; parent and child each open a
new one at their next query.
"""

import os

from django.db import connections


def close_pools_before_fork():
    for alias in connections:
        wrapper_class = type(connections[alias])
        # Only a pool already made: asking the wrapper for `.pool` would make one.
        if connections[alias].vendor == "postgresql" and alias in wrapper_class._connection_pools:
            connections[alias].close_pool()


def install():
    os.register_at_fork(before=close_pools_before_fork)
